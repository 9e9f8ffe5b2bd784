"""Deep-link payloads: what a poster's link or QR code tells the assistant at `/start`.

Telegram allows 64 characters of `A-Za-z0-9_-` after `?start=`. Version 1 is five fields joined
by `_`:  `1_<lang>_<topic>_<country>_<campaign>`, any of them empty, for example
`1_fa_RI_AF_kigoma-2026-11` (Farsi, reintegration, Afghanistan, campaign "kigoma-2026-11").
Topics are two-letter codes (below) so that routes with underscores fit; a campaign is 1–40
characters of `a-z0-9-`. The older forms `<lang>` and `<lang>_<route>` still work. Anything else
is ignored: the person gets the normal welcome, never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Version 1 topic codes. Never change a code: printed posters carry them for years.
TOPIC_CODES: dict[str, str] = {
    "AB": "about", "EL": "eligibility", "PR": "process", "CO": "cost", "DO": "documents", "TR": "travel",
    "AR": "arrival", "RI": "reintegration", "VU": "vulnerable", "VO": "voluntariness", "CF": "confidentiality",
    "AS": "asylum", "AL": "alternatives", "CI": "coi", "CT": "contact", "LO": "languages_offered",
    "BK": "book", "HU": "human", "PV": "privacy", "HE": "help",
}  # fmt: skip
CODE_OF = {route: code for code, route in TOPIC_CODES.items()}
CAMPAIGN = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
MAX_PAYLOAD = 64


@dataclass(frozen=True)
class Link:
    """What a deep link asks for; every field optional."""

    lang: str | None = None
    topic: str | None = None
    country: str | None = None
    campaign: str | None = None


def encode(link: Link) -> str:
    """The version-1 payload for a link (raises ValueError for what cannot be encoded)."""
    if link.topic and link.topic not in CODE_OF:
        raise ValueError(f"topic {link.topic!r} cannot be linked; use one of {', '.join(sorted(CODE_OF))}")
    if link.campaign and not CAMPAIGN.fullmatch(link.campaign):
        raise ValueError("a campaign is 1–40 characters of a-z, 0-9 and '-', starting with a letter or digit")
    if link.country and not (len(link.country) == 2 and link.country.isalpha()):
        raise ValueError("a country is a two-letter ISO code, e.g. AF")
    if link.lang and not (2 <= len(link.lang) <= 3 and link.lang.isalpha()):
        raise ValueError("a language is a two- or three-letter code, e.g. fa")
    fields = ["1", (link.lang or "").lower(), CODE_OF.get(link.topic or "", ""), (link.country or "").upper(),
              link.campaign or ""]
    return "_".join(fields).rstrip("_")


def decode(payload: str, languages: list[str]) -> Link:
    """The link inside a payload; unknown or damaged parts are dropped, never an error."""
    payload = payload.strip()
    if not payload or len(payload) > MAX_PAYLOAD or not re.fullmatch(r"[A-Za-z0-9_-]+", payload):
        return Link()
    parts = payload.split("_")
    if parts[0] == "1":
        lang, topic, country, campaign = [*parts[1:], "", "", "", ""][:4]
        if len(parts) > 5:
            return Link()
        return Link(
            lang=lang if lang in languages else None,
            topic=TOPIC_CODES.get(topic),
            country=country.upper() if len(country) == 2 and country.isalpha() else None,
            campaign=campaign if CAMPAIGN.fullmatch(campaign) else None,
        )
    lang, _, route = payload.partition("_")  # version 0: "<lang>" or "<lang>_<route>"
    return Link(lang=lang.lower() if lang.lower() in languages else None,
                topic=route if route in CODE_OF else None)


def url(bot_username: str, payload: str) -> str:
    """The t.me link that opens the bot with this payload."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={payload}" if payload else f"https://t.me/{bot_username}"
