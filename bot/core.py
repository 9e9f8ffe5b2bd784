"""The engine's vocabulary: events in, replies out, and the route catalogue.

Nothing here knows about Telegram: a channel turns its updates into `Event`s and renders
`Reply`s. Capabilities (eligibility, booking, handoff, …) import this module and the engine's
`Context`, never each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The route catalogue (product spec, "Routes"): the contract between NLU, content and dialogue.
TOPIC_ROUTES: tuple[str, ...] = (
    "about", "eligibility", "process", "cost", "documents", "travel", "arrival", "reintegration",
    "vulnerable", "voluntariness", "confidentiality", "asylum", "alternatives", "coi", "contact",
    "languages_offered",
)  # fmt: skip
ACTION_ROUTES: tuple[str, ...] = (
    "book", "appointment_status", "cancel", "human", "set_language", "privacy", "forget", "emergency",
    "greet", "thanks", "goodbye", "help", "out_of_scope",
)  # fmt: skip
ROUTES: tuple[str, ...] = TOPIC_ROUTES + ACTION_ROUTES

# A button action any capability may offer: "talk to a person now, this is urgent" (owned by handoff).
URGENT_HANDOFF = "h:u"


@dataclass(frozen=True)
class Event:
    """One thing a person did: typed text, pressed a button, or sent a command.

    `user` is the channel's own id ("tg:12345"); the engine turns it into a pseudonym at once.
    `button` is signed button data as the channel received it. `client_lang` is what the
    person's app says its language is (Telegram's `language_code`), if anything.
    """

    user: str
    text: str = ""
    button: str | None = None
    command: str | None = None
    payload: str = ""
    client_lang: str | None = None
    kind: str = "text"  # text | button | command | other (sticker, photo, location, …)
    chat: str | None = None  # where a later message (a reminder) can reach them, e.g. "tg:12345"
    origin: str = ""  # the channel's reference to this very message ("tg:<chat>:<message id>"), for relaying


@dataclass(frozen=True)
class Button:
    """A button: `action` is engine-internal (signed by the engine), `url` opens a link instead."""

    label: str
    action: str = ""
    url: str | None = None


@dataclass
class Reply:
    """One message to show. `text` is plain text; channels escape and format it."""

    text: str
    lang: str
    title: str | None = None
    buttons: list[list[Button]] = field(default_factory=list)
    rtl: bool = False
