"""Held-out evaluation: per-language and per-intent precision, recall and F1, and what is confused.

Two labelled sets, neither ever used for training (`nlu.train` reads only `nlu/data/`):
`nlu/test/<lang>.yml` is the held-out test set (report it, never tune on its errors) and
`nlu/dev/<lang>.yml` is the development set (error analysis, threshold and classifier tuning).
The evaluation scores the *route* the assistant would take, so the confidence threshold and the
country rules count, exactly as a person would experience them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from nlu.train import read_examples


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Report:
    """Everything `avrr nlu eval` prints and writes."""

    by_language: dict[str, dict[str, float]] = field(default_factory=dict)
    by_intent: dict[str, Score] = field(default_factory=dict)
    confusions: list[tuple[str, str, str, int]] = field(default_factory=list)  # lang, expected, got, count

    def to_json(self) -> str:
        return json.dumps({
            "by_language": self.by_language,
            "by_intent": {k: vars(v) for k, v in self.by_intent.items()},
            "confusions": [{"lang": lang, "expected": e, "got": g, "count": c} for lang, e, g, c in self.confusions],
        }, ensure_ascii=False, indent=1)

    def to_markdown(self, target: float) -> str:
        lines = ["| language | examples | accuracy | macro-F1 | target met |", "|---|---|---|---|---|"]
        for lang, row in sorted(self.by_language.items()):
            met = "yes" if row["macro_f1"] >= target else "**no**"
            lines.append(f"| {lang} | {int(row['n'])} | {row['accuracy']:.3f} | {row['macro_f1']:.3f} | {met} |")
        lines += ["", "| intent | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for intent, s in sorted(self.by_intent.items()):
            lines.append(f"| {intent} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | {s.support} |")
        lines += ["", "Most frequent confusions (language: expected -> got, count):", ""]
        lines += [f"- {lang}: {e} -> {g}: {c}" for lang, e, g, c in self.confusions[:30]]
        return "\n".join(lines) + "\n"


def scores(pairs: Iterable[tuple[str, str]]) -> dict[str, Score]:
    """Per-label scores from (expected, predicted) pairs; labels are those expected."""
    pairs = list(pairs)
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for expected, got in pairs:
        if expected == got:
            tp[expected] += 1
        else:
            fp[got] += 1
            fn[expected] += 1
    out = {}
    for label in sorted({e for e, _ in pairs}):
        p = tp[label] / (tp[label] + fp[label]) if tp[label] + fp[label] else 0.0
        r = tp[label] / (tp[label] + fn[label]) if tp[label] + fn[label] else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        out[label] = Score(round(p, 4), round(r, 4), round(f1, 4), tp[label] + fn[label])
    return out


def macro_f1(pairs: Iterable[tuple[str, str]]) -> float:
    s = scores(pairs)
    return round(sum(v.f1 for v in s.values()) / len(s), 4) if s else 0.0


EVAL_SETS = ("test", "dev")


def held_out_examples(root: Path, which: str = "test") -> dict[str, list[tuple[str, str]]]:
    """Language -> [(text, expected route)] from `nlu/<which>/<lang>.yml` (`test` or `dev`)."""
    if which not in EVAL_SETS:
        raise ValueError(f"unknown evaluation set {which!r}: one of {', '.join(EVAL_SETS)}")
    out: dict[str, list[tuple[str, str]]] = {}
    for path in sorted((root / "nlu" / which).glob("*.yml")):
        out[path.stem] = [(text, intent) for intent, texts in read_examples(path).items() for text in texts]
    return out


async def evaluate(examples: dict[str, list[tuple[str, str]]],
                   route_of: Callable[[str], Awaitable[str]]) -> Report:
    """Score `route_of` on every held-out example."""
    report = Report()
    everything: list[tuple[str, str]] = []
    confusions: Counter[tuple[str, str, str]] = Counter()
    for lang, items in examples.items():
        pairs = [(expected, await route_of(text)) for text, expected in items]
        everything.extend(pairs)
        correct = sum(1 for e, g in pairs if e == g)
        report.by_language[lang] = {"n": len(pairs), "accuracy": round(correct / len(pairs), 4) if pairs else 0.0,
                                    "macro_f1": macro_f1(pairs)}
        confusions.update((lang, e, g) for e, g in pairs if e != g)
    report.by_intent = scores(everything)
    report.confusions = [(lang, e, g, c) for (lang, e, g), c in confusions.most_common()]
    return report
