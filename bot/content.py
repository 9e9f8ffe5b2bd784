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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.core import ROUTES, TOPIC_ROUTES

PAGE_LIMIT = 700  # characters a page may have: one phone screen
FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class Source:
    title: str
    url: str | None = None
    date: str | None = None  # the date the source itself gives, as written ("2025-09-14"), if any


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


SECTIONS = ("presence", "reintegration", "arrival", "documents", "health", "safety", "languages")
RETURNS = ("open", "limited", "suspended")


@dataclass
class Returns:
    """Whether returns to a country are possible, as the sources say; stated first when not open."""

    status: str
    regions: list[str]
    as_of: dt.date | None
    sources: list[Source]
    text: dict[str, str]


@dataclass
class Country:
    """A country-of-origin file: returns status plus sections, each a small topic of its own."""

    code: str
    path: Path
    returns: Returns
    sections: dict[str, Topic]


@dataclass
class Office:
    """One counselling office of this deployment (content/office.yml)."""

    name: str
    address: str = ""
    hours: str = ""
    phone: str = ""
    email: str = ""
    languages: list[str] = field(default_factory=list)


@dataclass
class Programme:
    """Host-country settings: offices and emergency contacts, so a deployment changes data, not code."""

    offices: list[Office] = field(default_factory=list)
    emergency: list[Office] = field(default_factory=list)
    timezones: list[str] = field(default_factory=list)  # offered to people who are not in the office's zone


class ContentError(Exception):
    """A content file cannot be used; the message names the file and the problem."""


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ContentError(f"{where}: 'reviewed' must be a date like 2026-11-22, not {value!r}") from None


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContentError(f"{path.name}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ContentError(f"{path.name}: expected a mapping at the top")
    return data


def _source(item: Any, where: str) -> Source:
    if not isinstance(item, dict) or not str(item.get("title", "")).strip():
        raise ContentError(f"{where}: every source needs a title")
    date = str(item.get("date") or "").strip()
    return Source(str(item["title"]), item.get("url"), None if date in ("", "undated") else date)


def _texts(raw: Any, where: str, reviewed: dt.date, reviewed_by: str) -> dict[str, Text]:
    texts: dict[str, Text] = {}
    for lang, body in (raw or {}).items():
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
            reviewed_by=str(body.get("reviewed_by", reviewed_by)),
        )
    if FALLBACK_LANGUAGE not in texts:
        raise ContentError(f"{where}: text.{FALLBACK_LANGUAGE} is required (it is the fallback language)")
    return texts


def _review(data: dict[str, Any], where: str) -> tuple[dt.date, str]:
    if "reviewed" not in data or not data.get("reviewed_by"):
        raise ContentError(f"{where}: 'reviewed' (date) and 'reviewed_by' (role) are required")
    return _date(data["reviewed"], where), str(data["reviewed_by"])


def load_topic(path: Path, key: str) -> Topic:
    """Parse one topic file, raising ContentError with the file name on any schema error."""
    where = path.name
    data = _read(path)
    sources = [_source(item, where) for item in data.get("sources") or []]
    if not sources:
        raise ContentError(f"{where}: no sources: every fact needs one")
    reviewed, reviewed_by = _review(data, where)
    texts = _texts(data.get("text"), where, reviewed, reviewed_by)
    related = [str(r) for r in data.get("related") or []]
    return Topic(key=key, path=path, related=related, sources=sources, texts=texts)


def load_country(path: Path) -> Country:
    """Parse one country file (schema: content/README.md)."""
    where = f"countries/{path.name}"
    data = _read(path)
    code = str(data.get("country", "")).upper()
    if code != path.stem.upper():
        raise ContentError(f"{where}: 'country' must be {path.stem.upper()!r}, the file's name")
    reviewed, reviewed_by = _review(data, where)
    raw_sources = data.get("sources") or {}
    if not isinstance(raw_sources, dict) or not raw_sources:
        raise ContentError(f"{where}: no sources: every fact needs one")
    sources = {str(k): _source(v, f"{where}: source {k}") for k, v in raw_sources.items()}

    def pick(ids: Any, what: str) -> list[Source]:
        ids = [str(i) for i in ids or []]
        unknown = [i for i in ids if i not in sources]
        if unknown:
            raise ContentError(f"{where}: {what} cites unknown source {unknown[0]!r}")
        if not ids:
            raise ContentError(f"{where}: {what} has no sources")
        return [sources[i] for i in ids]

    ret = data.get("returns") or {}
    status = str(ret.get("status", ""))
    if status not in RETURNS:
        raise ContentError(f"{where}: returns.status must be one of {', '.join(RETURNS)}, not {status!r}")
    returns = Returns(status, [str(r) for r in ret.get("regions") or []], None, [], {})
    if status != "open":
        returns.as_of = _date(ret.get("as_of"), f"{where}: returns.as_of")
        returns.sources = pick(ret.get("sources"), "returns")
        returns.text = {str(k): str(v).strip() for k, v in (ret.get("text") or {}).items()}
        if FALLBACK_LANGUAGE not in returns.text:
            raise ContentError(f"{where}: returns.text.{FALLBACK_LANGUAGE} is required when returns are not open")
    sections: dict[str, Topic] = {}
    for key, body in (data.get("sections") or {}).items():
        if key not in SECTIONS:
            raise ContentError(f"{where}: unknown section {key!r} (use {', '.join(SECTIONS)})")
        body = body or {}
        sec_reviewed = _date(body.get("reviewed", reviewed), where)
        sections[key] = Topic(key=f"{code}.{key}", path=path, related=[],
                              sources=pick(body.get("sources"), f"section {key}"),
                              texts=_texts(body.get("text"), f"{where}: section {key}", sec_reviewed, reviewed_by))
    return Country(code=code, path=path, returns=returns, sections=sections)


def load_programme(path: Path) -> Programme:
    """Offices and emergency contacts of this deployment; an absent file means none configured."""
    if not path.exists():
        return Programme()
    data = _read(path)

    def offices(items: Any, what: str) -> list[Office]:
        out = []
        for item in items or []:
            if not isinstance(item, dict) or not str(item.get("name", "")).strip():
                raise ContentError(f"{path.name}: every entry of {what} needs a name")
            out.append(Office(name=str(item["name"]), address=str(item.get("address", "")),
                              hours=str(item.get("hours", "")), phone=str(item.get("phone", "")),
                              email=str(item.get("email", "")),
                              languages=[str(x) for x in item.get("languages") or []]))
        return out

    zones = [str(z) for z in data.get("person_timezones") or []]
    for zone in zones:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ContentError(f"{path.name}: {zone!r} is not a time zone such as Europe/Berlin") from None
    return Programme(offices=offices(data.get("offices"), "offices"),
                     emergency=offices(data.get("emergency_contacts"), "emergency_contacts"), timezones=zones)


class Content:
    """All topics and country files, loaded at start."""

    def __init__(self, content_dir: Path) -> None:
        self.dir = Path(content_dir)
        self.topics: dict[str, Topic] = {}
        self.countries: dict[str, Country] = {}
        for path in sorted((self.dir / "topics").glob("*.yml")):
            self.topics[path.stem] = load_topic(path, path.stem)
        for path in sorted((self.dir / "countries").glob("*.yml")):
            self.countries[path.stem.upper()] = load_country(path)
        self.programme = load_programme(self.dir / "office.yml")

    def topic(self, route: str) -> Topic | None:
        return self.topics.get(route)

    def country(self, code: str) -> Country | None:
        return self.countries.get(code.upper())

    def section(self, key: str) -> Topic | None:
        """A country section by its key, e.g. 'IQ.arrival'."""
        code, _, name = key.partition(".")
        country = self.country(code)
        return country.sections.get(name) if country else None


def _check_topic(topic: Topic, name: str, languages: list[str], today: dt.date, max_age_days: int) -> list[str]:
    problems = []
    for rel in topic.related:
        if rel not in ROUTES:
            problems.append(f"error: {name}: related topic {rel!r} does not exist")
    for lang, text in topic.texts.items():
        if lang not in languages:
            problems.append(f"error: {name}: text.{lang} is not a supported language")
        for i, page in enumerate(text.pages, 1):
            if len(page) > PAGE_LIMIT:
                problems.append(f"error: {name}: text.{lang} page {i} has {len(page)} characters (limit {PAGE_LIMIT})")
        age = (today - text.reviewed).days
        if age > max_age_days:
            problems.append(f"warning: {name}: text.{lang} was reviewed {age} days ago (policy {max_age_days} days)")
    missing = [lang for lang in languages if lang not in topic.texts]
    if missing:
        problems.append(f"error: {name}: missing languages {', '.join(missing)} (English would be shown)")
    return problems


def check(content_dir: Path, languages: list[str], today: dt.date, max_age_days: int) -> list[str]:
    """Every problem in the content, one line each, "error: …" or "warning: …" (empty when all is well)."""
    content_dir = Path(content_dir)
    problems: list[str] = []
    for route in TOPIC_ROUTES:
        if route != "coi" and not (content_dir / "topics" / f"{route}.yml").exists():
            problems.append(f"error: topics/{route}.yml is missing (route {route!r} has no content)")
    for path in sorted(content_dir.glob("topics/*.yml")):
        name = f"topics/{path.name}"
        if path.stem not in TOPIC_ROUTES or path.stem == "coi":
            problems.append(f"error: {name}: {path.stem!r} is not an information route")
            continue
        try:
            topic = load_topic(path, path.stem)
        except ContentError as exc:
            problems.append(f"error: {exc}")
            continue
        problems += _check_topic(topic, name, languages, today, max_age_days)
    for path in sorted(content_dir.glob("countries/*.yml")):
        name = f"countries/{path.name}"
        try:
            country = load_country(path)
        except ContentError as exc:
            problems.append(f"error: {exc}")
            continue
        if not country.sections:
            problems.append(f"error: {name}: no sections")
        for key, section in country.sections.items():
            problems += _check_topic(section, f"{name} section {key}", languages, today, max_age_days)
        missing = [lang for lang in languages if country.returns.status != "open" and lang not in country.returns.text]
        if missing:
            problems.append(f"error: {name}: returns.text is missing languages {', '.join(missing)}")
    try:
        programme = load_programme(content_dir / "office.yml")
        if not programme.offices:
            problems.append("warning: office.yml lists no offices: contact answers show only the general contact")
    except ContentError as exc:
        problems.append(f"error: {exc}")
    return problems


def status(content_dir: Path, languages: list[str]) -> list[tuple[str, str, str]]:
    """(file, part, languages) for every text still in draft: what awaits a reviewer."""
    content_dir = Path(content_dir)
    rows = []
    for path in sorted(content_dir.glob("topics/*.yml")):
        try:
            topic = load_topic(path, path.stem)
        except ContentError as exc:
            rows.append((f"topics/{path.name}", "error", str(exc)))
            continue
        drafts = [lang for lang in languages if lang in topic.texts and topic.texts[lang].status == "draft"]
        if drafts:
            rows.append((f"topics/{path.name}", "text", " ".join(drafts)))
    for path in sorted(content_dir.glob("countries/*.yml")):
        try:
            country = load_country(path)
        except ContentError as exc:
            rows.append((f"countries/{path.name}", "error", str(exc)))
            continue
        for key, section in country.sections.items():
            drafts = [lang for lang in languages if lang in section.texts and section.texts[lang].status == "draft"]
            if drafts:
                rows.append((f"countries/{path.name}", key, " ".join(drafts)))
    return rows
