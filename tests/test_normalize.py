"""One normalisation for training and parsing."""

from __future__ import annotations

import pytest

from nlu.normalize import normalize


@pytest.mark.parametrize(("raw", "expected"), [
    ("Pleaaaase HELP!!", "pleaase help"),
    ("مـــرحبا", "مرحبا"),  # tatweel
    ("قَالَ", "قال"),  # diacritics
    ("أريد إلى آخر", "ارید الی اخر"),  # alef variants, Arabic yeh -> Persian yeh
    ("كيف", "کیف"),  # Arabic kaf -> keheh
    ("مدرسة", "مدرسه"),  # teh marbuta
    ("١٢٣ ۴۵۶", "123 456"),  # Arabic-Indic and Persian digits
    ("می‌خواهم", "میخواهم"),  # zero-width non-joiner
    ("hello\u200bworld\u200e", "helloworld"),  # zero-width space and marks
    ("Ёлка", "елка"),
    ("I want 👍🏽 to go home 🏠", "i want to go home"),
    ("l'aide, s'il vous plaît?", "l aide s il vous plaît"),
    ("ወደ ኢትዮጵያ።", "ወደ ኢትዮጵያ"),
    ("", ""),
])
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_training_and_parsing_share_the_normaliser() -> None:
    from nlu import interpreter, train

    assert train.normalize is interpreter.normalize
