"""Language-identification benchmark on labelled messages (`nlu/test/lang/<lang>.tsv`).

Reports, by message length, how often the detected language is right, and how often the reply
language is right for a first message with no other signal (no choice, link or app language).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from bot import language as L

BUCKETS = (("1-2 words", 1, 2), ("3-5 words", 3, 5), ("6+ words", 6, 10_000))
_WORD = re.compile(r"\w+", re.UNICODE)


def load(root: Path) -> list[tuple[str, str]]:
    """(expected language, message) pairs."""
    rows = []
    for path in sorted((root / "nlu" / "test" / "lang").glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            code, sep, text = line.partition("\t")
            if sep and text.strip():
                rows.append((code.strip(), text.strip()))
    return rows


def bucket(text: str) -> str:
    words = len(_WORD.findall(text))
    return next(name for name, low, high in BUCKETS if low <= words <= high)


def run(rows: list[tuple[str, str]], languages: list[str], default: str) -> dict[str, dict[str, float]]:
    """Per bucket: number of messages, detection accuracy and first-reply language accuracy."""
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for expected, text in rows:
        guess = L.detect(text, languages)
        reply, _ = L.choose(None, None, guess, None, languages, default)
        for key in (bucket(text), "3+ words" if bucket(text) != "1-2 words" else None, "all"):
            if key:
                stats[key][0] += 1
                stats[key][1] += guess.lang == expected
                stats[key][2] += reply == expected
    return {k: {"n": n, "detected": round(d / n, 4), "reply": round(r / n, 4)} for k, (n, d, r) in stats.items()}


def to_markdown(result: dict[str, dict[str, float]]) -> str:
    lines = ["| messages | n | detected language right | first reply in the right language |", "|---|---|---|---|"]
    for key in ("1-2 words", "3-5 words", "6+ words", "3+ words", "all"):
        if key in result:
            r = result[key]
            lines.append(f"| {key} | {int(r['n'])} | {r['detected']:.1%} | {r['reply']:.1%} |")
    return "\n".join(lines) + "\n"
