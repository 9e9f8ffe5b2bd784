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

    def found(self, normalized_text: str) -> bool:
        """True when the message contains any safety phrase, in any language."""
        tokens = normalized_text.split()
        return any(tokens[i : i + len(p)] == list(p) for p in self.phrases for i in range(len(tokens) - len(p) + 1))
