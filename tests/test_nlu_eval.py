"""Evaluation metrics and the independence of the test and dev sets from training."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize("which", ["test", "dev"])
def test_held_out_sets_are_never_trained_on(which: str) -> None:
    trained = {normalize(e) for path in training_files(ROOT) for exs in read_examples(path).values() for e in exs}
    examples = held_out_examples(ROOT, which)
    assert sorted(examples) == ["am", "ar", "en", "es", "fa", "fr", "ru", "sw"], which
    held_out = [text for items in examples.values() for text, _ in items]
    assert len(held_out) > 2000
    leaked = [t for t in held_out if normalize(t) in trained]
    assert not leaked, leaked[:10]


def test_unknown_set_is_refused() -> None:
    with pytest.raises(ValueError):
        held_out_examples(ROOT, "train")


def test_every_language_has_every_route_in_training_and_test() -> None:
    from bot.core import ROUTES

    for path in training_files(ROOT):
        assert set(read_examples(path)) == set(ROUTES), path.name
    for which in ("test", "dev"):
        for lang, items in held_out_examples(ROOT, which).items():
            assert {intent for _, intent in items} == set(ROUTES), (which, lang)
