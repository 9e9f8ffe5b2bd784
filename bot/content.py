"""Curated content: YAML files in `content/`, loaded once, checked, and rendered with their source.

`content/topics/<route>.yml` answers an information route; `content/countries/<ISO>.yml`
answers `coi` for one country of origin. Each has `sources`, a `reviewed` date and a
`reviewed_by` role, and text per language (`status`, `title`, `pages`). Nothing here invents
text: if a language is missing the English text is shown with a notice; if a topic is missing
the caller says so and offers a person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.core import ROUTES, TOPIC_ROUTES

PAGE_LIMIT = 700  # characters a page may have: one phone screen
FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class Source:
    title: str
    url: str | None = None


@dataclass(frozen=True)
class Text:
    """A topic's text in one language."""

    title: str
    pages: list[str]
    status: str
    reviewed: dt.date
    reviewed_by: str


@dataclass
class Topic:
    """One content file."""

    key: str  # route name, or ISO code for a country
    path: Path
    related: list[str]
    sources: list[Source]
    texts: dict[str, Text] = field(default_factory=dict)

    def text(self, lang: str) -> tuple[Text, bool]:
        """The text in `lang`, or the English one and True when it had to fall back."""
        if lang in self.texts:
            return self.texts[lang], False
        return self.texts[FALLBACK_LANGUAGE], True


class ContentError(Exception):
    """A content file cannot be used; the message names the file and the problem."""


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ContentError(f"{where}: 'reviewed' must be a date like 2026-11-22, not {value!r}") from None


def load_topic(path: Path, key: str) -> Topic:
    """Parse one content file, raising ContentError with the file name on any schema error."""
    where = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContentError(f"{where}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ContentError(f"{where}: expected a mapping at the top")
    sources = []
    for item in data.get("sources") or []:
        if not isinstance(item, dict) or not str(item.get("title", "")).strip():
            raise ContentError(f"{where}: every source needs a title")
        sources.append(Source(str(item["title"]), item.get("url")))
    if not sources:
        raise ContentError(f"{where}: no sources: every fact needs one")
    if "reviewed" not in data or not data.get("reviewed_by"):
        raise ContentError(f"{where}: 'reviewed' (date) and 'reviewed_by' (role) are required")
    reviewed = _date(data["reviewed"], where)
    texts: dict[str, Text] = {}
    for lang, body in (data.get("text") or {}).items():
        if not isinstance(body, dict):
            raise ContentError(f"{where}: text.{lang} must be a mapping")
        pages = [str(p).strip() for p in body.get("pages") or [] if str(p).strip()]
        if not body.get("title") or not pages:
            raise ContentError(f"{where}: text.{lang} needs a title and at least one page")
        status = str(body.get("status", "draft"))
        if status not in ("draft", "reviewed"):
            raise ContentError(f"{where}: text.{lang}.status must be draft or reviewed, not {status!r}")
        texts[str(lang)] = Text(
            title=str(body["title"]).strip(),
            pages=pages,
            status=status,
            reviewed=_date(body.get("reviewed", reviewed), where),
            reviewed_by=str(body.get("reviewed_by", data["reviewed_by"])),
        )
    if FALLBACK_LANGUAGE not in texts:
        raise ContentError(f"{where}: text.{FALLBACK_LANGUAGE} is required (it is the fallback language)")
    related = [str(r) for r in data.get("related") or []]
    return Topic(key=key, path=path, related=related, sources=sources, texts=texts)


class Content:
    """All topics and country files, loaded at start."""

    def __init__(self, content_dir: Path) -> None:
        self.dir = Path(content_dir)
        self.topics: dict[str, Topic] = {}
        self.countries: dict[str, Topic] = {}
        for path in sorted((self.dir / "topics").glob("*.yml")):
            self.topics[path.stem] = load_topic(path, path.stem)
        for path in sorted((self.dir / "countries").glob("*.yml")):
            self.countries[path.stem.upper()] = load_topic(path, path.stem.upper())

    def topic(self, route: str) -> Topic | None:
        return self.topics.get(route)

    def country(self, code: str) -> Topic | None:
        return self.countries.get(code.upper())


def check(content_dir: Path, languages: list[str], today: dt.date, max_age_days: int) -> list[str]:
    """Every problem in the content, one line each (empty when all is well)."""
    problems: list[str] = []
    topics: dict[str, Topic] = {}
    files = sorted(Path(content_dir).glob("topics/*.yml")) + sorted(Path(content_dir).glob("countries/*.yml"))
    for path in files:
        try:
            topics[path.stem] = load_topic(path, path.stem)
        except ContentError as exc:
            problems.append(f"error: {exc}")
    for route in TOPIC_ROUTES:
        if route != "coi" and route not in topics:
            problems.append(f"error: topics/{route}.yml is missing (route {route!r} has no content)")
    for topic in topics.values():
        name = f"{topic.path.parent.name}/{topic.path.name}"
        if topic.path.parent.name == "topics" and topic.key not in TOPIC_ROUTES:
            problems.append(f"error: {name}: {topic.key!r} is not an information route")
        for rel in topic.related:
            if rel not in ROUTES:
                problems.append(f"error: {name}: related topic {rel!r} does not exist")
        for lang, text in topic.texts.items():
            if lang not in languages:
                problems.append(f"error: {name}: text.{lang} is not a supported language")
            for i, page in enumerate(text.pages, 1):
                if len(page) > PAGE_LIMIT:
                    problems.append(f"error: {name}: text.{lang} page {i} has {len(page)} characters "
                                    f"(limit {PAGE_LIMIT})")
            age = (today - text.reviewed).days
            if age > max_age_days:
                problems.append(f"warning: {name}: text.{lang} was reviewed {age} days ago (policy {max_age_days})")
        missing = [lang for lang in languages if lang not in topic.texts]
        if missing:
            problems.append(f"warning: {name}: no text in {', '.join(missing)} (English is shown instead)")
    return problems
