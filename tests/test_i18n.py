"""Catalogs: complete, not fuzzy, placeholders intact, and the template up to date with the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.config import ROOT
from bot.i18n import available_languages

LOCALES = ROOT / "locales"
PLACEHOLDER = re.compile(r"{\w+}")


def catalog(lang: str):
    with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def test_the_eight_languages_are_there() -> None:
    assert available_languages(LOCALES) == ["am", "ar", "en", "es", "fa", "fr", "ru", "sw"]


@pytest.mark.parametrize("lang", available_languages(LOCALES))
def test_catalog_is_complete(lang: str) -> None:
    cat = catalog(lang)
    problems = []
    for message in cat:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {ids[0]!r}")
        if isinstance(message.id, tuple) and len(strings) != cat.num_plurals:
            problems.append(f"plural forms: {ids[0]!r}")
        for s in strings:
            if not s:
                problems.append(f"missing: {ids[0]!r}")
            elif set(PLACEHOLDER.findall(s)) != set(PLACEHOLDER.findall(ids[0])):
                problems.append(f"placeholders: {ids[0]!r}")
    assert problems == []


def test_template_is_up_to_date_with_the_code(tmp_path: Path) -> None:
    out = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).with_name("pybabel")), "-q", "extract",
                    "-F", str(ROOT / "babel.cfg"), "-k", "N_", "--no-location", "-o", str(out), str(ROOT / "bot")],
                   check=True, cwd=ROOT)
    with out.open("rb") as fh:
        fresh = {m.id for m in read_po(fh) if m.id}
    with (LOCALES / "messages.pot").open("rb") as fh:
        committed = {m.id for m in read_po(fh) if m.id}
    assert fresh == committed, "run `make catalogs` and translate the new strings"
    for lang in available_languages(LOCALES):
        assert {m.id for m in catalog(lang) if m.id} == committed, lang
