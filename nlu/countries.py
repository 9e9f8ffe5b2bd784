"""Country names -> ISO 3166-1 alpha-2 codes, from Babel's CLDR names plus `countries.yml`.

Every supported language's CLDR territory names are loaded, normalised like the NLU input, and
joined with the aliases (short forms, demonyms, transliterations) in `countries.yml`. A name
that fits several countries ("Congo") returns all of them, so the caller asks instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from babel import Locale

from nlu.normalize import normalize

ALIASES_FILE = Path(__file__).with_name("countries.yml")
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"}
_ARABIC_PREFIXES = ("وال", "بال", "لل", "ال", "و", "ب", "ل", "ف")
_ETHIOPIC_PREFIXES = ("ወደ", "በ", "ለ", "ከ", "የ")


@dataclass(frozen=True)
class CountryMatch:
    """Where a country name was found and which countries it can mean."""

    text: str
    codes: frozenset[str]
    weak: bool  # also a common word ("mali" is "property" in Swahili): counts only for the coi route


class Gazetteer:
    """Finds country names in normalised text."""

    def __init__(self, languages: list[str], aliases_file: Path = ALIASES_FILE) -> None:
        names: dict[str, set[str]] = {}
        for lang in languages:
            for code, name in Locale.parse(lang).territories.items():
                if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES:
                    names.setdefault(normalize(name), set()).add(code)
        data = yaml.safe_load(aliases_file.read_text(encoding="utf-8"))
        for code, aliases in (data.get("aliases") or {}).items():
            for alias in aliases:
                names.setdefault(normalize(str(alias)), set()).add(code)
        for alias, codes in (data.get("ambiguous") or {}).items():
            names[normalize(str(alias))] = set(codes)  # replaces a single CLDR reading
        self.names = {k: frozenset(v) for k, v in names.items() if k}
        self.weak = {normalize(str(w)) for w in data.get("weak") or []}
        self.max_tokens = min(6, max(len(k.split()) for k in self.names))

    def _lookup(self, phrase: str) -> frozenset[str] | None:
        if phrase in self.names:
            return self.names[phrase]
        if " " in phrase:
            return None
        for prefix in _ARABIC_PREFIXES + _ETHIOPIC_PREFIXES:
            if phrase.startswith(prefix) and len(phrase) - len(prefix) >= 3:
                hit = self.names.get(phrase[len(prefix):])
                if hit:
                    return hit
        if len(phrase) >= 5 and "\u0400" <= phrase[0] <= "\u04ff":  # Russian case endings
            for cut in (1, 2):
                hit = self.names.get(phrase[:-cut])
                if hit:
                    return hit
        return None

    def find(self, normalized_text: str) -> list[CountryMatch]:
        """Country mentions in order of appearance, longest names first (no overlaps)."""
        tokens = normalized_text.split()
        taken = [False] * len(tokens)
        found: list[tuple[int, CountryMatch]] = []
        for size in range(min(self.max_tokens, len(tokens)), 0, -1):
            for start in range(len(tokens) - size + 1):
                if any(taken[start : start + size]):
                    continue
                phrase = " ".join(tokens[start : start + size])
                codes = self._lookup(phrase)
                if codes:
                    taken[start : start + size] = [True] * size
                    found.append((start, CountryMatch(phrase, codes, phrase in self.weak)))
        return [m for _, m in sorted(found, key=lambda x: x[0])]
