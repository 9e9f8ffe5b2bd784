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
