"""Evaluation metrics and the held-out set's independence from training."""

from __future__ import annotations

from bot.config import ROOT
from nlu.evaluate import held_out_examples, macro_f1, scores
from nlu.normalize import normalize
from nlu.train import read_examples, training_files


def test_scores_and_macro_f1() -> None:
    pairs = [("a", "a"), ("a", "b"), ("b", "b"), ("c", "b")]
    s = scores(pairs)
    assert (s["a"].precision, s["a"].recall) == (1.0, 0.5)
    assert (s["b"].precision, s["b"].recall) == (0.3333, 1.0)
    assert s["c"].f1 == 0.0
    assert macro_f1(pairs) == round((s["a"].f1 + s["b"].f1 + 0.0) / 3, 4)


def test_held_out_set_is_never_trained_on() -> None:
    trained = {normalize(e) for path in training_files(ROOT) for exs in read_examples(path).values() for e in exs}
    held_out = [text for items in held_out_examples(ROOT).values() for text, _ in items]
    assert len(held_out) > 2000
    leaked = [t for t in held_out if normalize(t) in trained]
    assert len(leaked) / len(held_out) < 0.01, leaked[:10]


def test_every_language_has_every_route_in_training_and_test() -> None:
    from bot.core import ROUTES

    for path in training_files(ROOT):
        assert set(read_examples(path)) == set(ROUTES), path.name
    for lang, items in held_out_examples(ROOT).items():
        assert {intent for _, intent in items} == set(ROUTES), lang
