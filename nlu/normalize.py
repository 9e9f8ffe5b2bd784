"""One normalisation for training and for parsing, so the model sees text the same way twice.

It folds what people type differently for the same word: Arabic/Persian letter variants,
Arabic-Indic and Persian digits, tatweel, diacritics, zero-width characters, emoji, case,
punctuation and stretched letters ("pleaaase").
"""

from __future__ import annotations

import re
import unicodedata

_CHAR_MAP = str.maketrans(
    {
        # Arabic-Indic and Persian digits -> ASCII
        **{chr(0x0660 + i): str(i) for i in range(10)},
        **{chr(0x06F0 + i): str(i) for i in range(10)},
        # letter variants -> one form (Persian yeh and keheh serve both languages)
        "\u064a": "\u06cc",  # ي -> ی
        "\u0649": "\u06cc",  # ى -> ی
        "\u0643": "\u06a9",  # ك -> ک
        "\u0623": "\u0627",  # أ -> ا
        "\u0625": "\u0627",  # إ -> ا
        "\u0622": "\u0627",  # آ -> ا
        "\u0671": "\u0627",  # ٱ -> ا
        "\u0629": "\u0647",  # ة -> ه
        "\u0624": "\u0648",  # ؤ -> و
        "\u0626": "\u06cc",  # ئ -> ی
        "\u0640": None,  # tatweel
        "\u0451": "\u0435",  # ё -> е
    }
)
_DROP_CATEGORIES = {"Mn", "Me", "Cf", "Cc", "Co", "Cs", "So", "Sk"}  # marks, format, control, emoji
_PUNCT = re.compile(r"[^\w\s]+", re.UNICODE)
_STRETCH = re.compile(r"(\w)\1{2,}", re.UNICODE)
_SPACE = re.compile(r"\s+")


def clean(text: str) -> str:
    """Light cleaning that keeps letters as typed (for language detection)."""
    text = unicodedata.normalize("NFKC", text)
    kept = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch == "\u200c":  # Persian zero-width non-joiner: a word-internal break
            continue
        if cat in ("Cf", "Cc", "Co", "Cs", "So", "Sk"):
            kept.append(" " if cat in ("Cc", "So") else "")
            continue
        kept.append(ch)
    return _SPACE.sub(" ", "".join(kept)).strip()


def normalize(text: str) -> str:
    """The canonical form used by the NLU model and the country gazetteer."""
    text = clean(text).casefold().translate(_CHAR_MAP)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _DROP_CATEGORIES)
    text = _PUNCT.sub(" ", text.replace("_", " "))
    text = _STRETCH.sub(r"\1\1", text)
    return _SPACE.sub(" ", text).strip()
