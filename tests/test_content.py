"""Content is data: the shipped files pass the check, and each kind of defect is caught."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bot.config import ROOT
from bot.content import Content, check
from bot.core import TOPIC_ROUTES

LANGS = ["am", "ar", "en", "es", "fa", "fr", "ru", "sw"]
TODAY = dt.date(2026, 11, 22)


def test_shipped_content_has_no_errors() -> None:
    problems = check(ROOT / "content", LANGS, TODAY, 180)
    assert [p for p in problems if p.startswith("error")] == []


def test_every_information_route_has_a_topic() -> None:
    content = Content(ROOT / "content")
    assert {r for r in TOPIC_ROUTES if r != "coi"} <= set(content.topics)


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "content", tmp_path / "content")
    return tmp_path / "content"


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(("edit", "needle"), [
    (lambda d: (d / "topics/cost.yml").unlink(), "topics/cost.yml is missing"),
    (lambda d: replace(d / "topics/about.yml", "sources:", "sourcez:"), "no sources"),
    (lambda d: replace(d / "topics/about.yml", "reviewed: 2026-11-22", "reviewed: yesterday"), "must be a date"),
    (lambda d: replace(d / "topics/about.yml", "related: [", "related: [nowhere, "), "'nowhere' does not exist"),
    (lambda d: replace(d / "topics/about.yml", "status: draft", "status: final"), "draft or reviewed"),
    (lambda d: replace(d / "topics/about.yml", "      - |\n", "      - |\n" + "        x" * 100 + "\n"), "limit 700"),
    (lambda d: replace(d / "topics/about.yml", "  en:", "  de:"), "text.en is required"),
    (lambda d: (d / "topics/about.yml").write_text("route: [unclosed", encoding="utf-8"), "not valid YAML"),
])
def test_each_defect_is_reported(content_dir: Path, edit, needle: str) -> None:
    edit(content_dir)
    problems = check(content_dir, LANGS, TODAY, 180)
    assert any(needle in p and p.startswith("error") for p in problems), problems


def test_stale_content_is_a_warning(content_dir: Path) -> None:
    problems = check(content_dir, LANGS, TODAY + dt.timedelta(days=400), 180)
    assert any("reviewed 400 days ago" in p and p.startswith("warning") for p in problems)


COUNTRY = """\
country: XK
reviewed: 2026-11-22
reviewed_by: AVRR content team
returns:
  status: limited
  regions: [North]
  as_of: 2025-01-01
  sources: [a]
  text:
    en: "Returns to the north are limited."
sources:
  a: {title: "Source A", url: "https://example.org/a", date: "undated"}
sections:
  arrival:
    sources: [a]
    text:
      en: {status: draft, title: "Arrival", pages: ["Someone meets you."]}
"""


@pytest.mark.parametrize(("old", "new", "needle"), [
    ("country: XK", "country: XX", "must be 'XK'"),
    ("status: limited", "status: maybe", "returns.status must be one of"),
    ("  sources: [a]\n  text:", "  sources: [b]\n  text:", "unknown source 'b'"),
    ("  arrival:", "  weather:", "unknown section 'weather'"),
    ("as_of: 2025-01-01", "as_of: soon", "must be a date"),
    ('    en: "Returns to the north are limited."', '    fr: "Limité."', "returns.text.en is required"),
    ("sources:\n  a:", "sourcez:\n  a:", "no sources"),
])
def test_each_country_defect_is_reported(content_dir: Path, old: str, new: str, needle: str) -> None:
    (content_dir / "countries").mkdir(exist_ok=True)
    (content_dir / "countries" / "XK.yml").write_text(COUNTRY.replace(old, new, 1), encoding="utf-8")
    problems = check(content_dir, LANGS, TODAY, 180)
    assert any(needle in p and p.startswith("error") and "XK.yml" in p for p in problems), problems


def test_a_country_missing_languages_is_an_error(content_dir: Path) -> None:
    (content_dir / "countries").mkdir(exist_ok=True)
    (content_dir / "countries" / "XK.yml").write_text(COUNTRY, encoding="utf-8")
    problems = check(content_dir, LANGS, TODAY, 180)
    assert "error: countries/XK.yml: returns.text is missing languages am, ar, es, fa, fr, ru, sw" in problems
    assert any("XK.yml section arrival: missing languages" in p for p in problems)


def test_status_lists_drafts(content_dir: Path) -> None:
    from bot.content import status

    rows = status(content_dir, LANGS)
    assert ("topics/about.yml", "text") == rows[0][:2] and "en" in rows[0][2].split()
