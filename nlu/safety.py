"""High-precision danger phrases, checked before the NLU so an unsure model never delays help."""

from __future__ import annotations

from pathlib import Path

import yaml

from nlu.normalize import normalize

SAFETY_FILE = Path(__file__).with_name("safety.yml")


class SafetyPhrases:
    """Phrases per language (`nlu/safety.yml`), matched as whole words on normalised text."""

    def __init__(self, path: Path = SAFETY_FILE) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        self.phrases = {tuple(normalize(str(p)).split()) for phrases in data.values() for p in phrases or []}
        self.phrases.discard(())
        self._by_first: dict[str, list[tuple[str, ...]]] = {}  # first word -> phrases: one lookup per word
        for phrase in self.phrases:
            self._by_first.setdefault(phrase[0], []).append(phrase)

    def found(self, normalized_text: str) -> bool:
        """True when the message contains any safety phrase, in any language."""
        tokens = tuple(normalized_text.split())
        return any(tokens[i : i + len(p)] == p for i, t in enumerate(tokens) for p in self._by_first.get(t, ()))
