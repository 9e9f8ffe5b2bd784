"""The conversation engine: one event in, a list of replies out, state in Redis.

The path of a message: normalise → reply language (language.py) → NLU (nlu/interpreter.py;
commands never go there) → route (below) → flow or content (flows.py, content.py) → replies in
the person's language. Nothing is kept in process memory that a second worker would need.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from bot import flows, links
from bot import language as langmod
from bot.config import Settings
from bot.content import Content
from bot.core import ROUTES, TOPIC_ROUTES, Button, Event, Reply
from bot.i18n import Catalogs, is_rtl
from bot.logs import where
from bot.security import pseudonym, sign, verify
from bot.store import Store
from nlu.interpreter import Interpreter, Parse

log = logging.getLogger("avrr.engine")

MAX_TEXT = 1000  # characters: longer messages get a polite "please ask in a few words"
HIGH_CONFIDENCE = 0.8  # above this the NLU outweighs a language guess we cannot answer in
SMALL_TALK = ("greet", "thanks", "goodbye")


@dataclass
class Decision:
    """What the engine would do with one message (also printed by `avrr route`)."""

    lang: str
    lang_source: str
    route: str
    intent: str
    confidence: float
    country: str | None = None
    candidates: list[str] = field(default_factory=list)
    unsupported_language: bool = False
    named_language: str | None = None  # for set_language: the language the message asks for
    parse: Parse | None = None


@dataclass
class Context:
    """Everything a flow needs for one event: who (pseudonym), which language, what to save."""

    engine: Engine
    pid: str
    lang: str
    session: dict[str, str]
    changes: dict[str, str] = field(default_factory=dict)
    address: str = ""  # the channel address for later messages (reminders); stored only with an appointment

    @property
    def _(self) -> Callable[[str], str]:
        return self.engine.catalogs.gettext(self.lang)

    @property
    def store(self) -> Store:
        return self.engine.store

    @property
    def ngettext(self) -> Callable[[str, str, int], str]:
        return self.engine.catalogs.ngettext(self.lang)

    @property
    def languages(self) -> list[str]:
        return self.engine.languages

    @property
    def today(self) -> dt.date:
        return dt.date.today()

    @property
    def review_max_age_days(self) -> int:
        return self.engine.settings.review_max_age_days

    @property
    def session_days(self) -> int:
        return self.engine.settings.session_ttl_days

    def button(self, label: str, action: str) -> Button:
        """A button whose data is signed, so forged presses are refused."""
        return Button(label=label, action=sign(self.engine.settings.secret, action, self.pid))

    def reply(self, text: str, title: str | None = None, buttons: list[list[Button]] | None = None,
              keep_order: bool = False) -> Reply:
        """A reply in the context's language; rows are mirrored for right-to-left readers."""
        rtl = is_rtl(self.lang)
        rows = buttons or []
        if rtl and not keep_order:
            rows = [list(reversed(row)) for row in rows]
        return Reply(text=text, lang=self.lang, title=title, buttons=rows, rtl=rtl)


class Capability(Protocol):
    """A feature module (eligibility, booking, …): it imports the core, never another capability.

    `routes` it answers, the button-action `prefix` it owns, and a chance to take typed text
    before the NLU result is used (e.g. "oui" as an answer to its current question).
    """

    routes: tuple[str, ...]
    prefix: str

    async def on_route(self, ctx: Context, route: str) -> list[Reply]: ...

    async def on_button(self, ctx: Context, arg: str) -> list[Reply]: ...

    async def on_text(self, ctx: Context, text: str) -> list[Reply] | None: ...


class Understanding:
    """Language, route and country for one message: the engine's reading of text, with no state.

    `avrr route` uses it alone; the engine uses it for every typed message.
    """

    def __init__(self, settings: Settings, interpreter: Interpreter, languages: list[str]) -> None:
        self.settings = settings
        self.interpreter = interpreter
        self.languages = languages

    async def decide(self, text: str, session: dict[str, str] | None = None,
                     client_lang: str | None = None) -> Decision:
        """Language, route and country for one message, without changing anything."""
        session = session or {}
        guess = langmod.detect(text, self.languages)
        lang, source = langmod.choose(session.get("lang"), session.get("lsrc"), guess, client_lang,
                                      self.languages, self.settings.default_language)
        parse = await self.interpreter.parse(text)
        countries = [m for m in parse.countries if not m.weak or parse.intent == "coi"]
        confident = parse.confidence >= self.settings.nlu_threshold
        route = parse.intent if confident and parse.intent in ROUTES else "out_of_scope"
        if countries and route in ("out_of_scope", "greet", "help", "about"):
            route = "coi"
        if parse.danger:
            route = "emergency"
        country, candidates = None, []
        if route == "coi" and countries:
            codes = sorted(countries[0].codes)
            if len(codes) == 1:
                country = codes[0]
            else:
                candidates = codes
        unsupported = (guess.clear and not guess.supported and guess.lang is not None
                       and parse.confidence < HIGH_CONFIDENCE and not parse.danger)
        named = langmod.named_language(text, self.languages) if route == "set_language" else None
        return Decision(lang, source, route, parse.intent, parse.confidence, country, candidates,
                        unsupported, named, parse)


class Engine:
    """Channel-agnostic: channels build `Event`s and render `Reply`s."""

    def __init__(self, settings: Settings, store: Store, interpreter: Interpreter, content: Content,
                 catalogs: Catalogs, capabilities: Sequence[Capability] = ()) -> None:
        self.settings = settings
        self.capabilities = list(capabilities)
        self.store = store
        self.interpreter = interpreter
        self.content = content
        self.catalogs = catalogs
        self.languages = catalogs.languages
        self.understanding = Understanding(settings, interpreter, self.languages)
        self.bot_username = settings.bot_username  # the Telegram channel fills it in from getMe
        self.desk: object | None = None  # the counsellors' side of a handoff, if the channel has one

    # -- the event loop ------------------------------------------------------------------

    async def handle(self, event: Event) -> list[Reply]:
        """Process one event; never raises (a person sees a polite error instead)."""
        started = time.perf_counter()
        pid = pseudonym(self.settings.secret, event.user)
        client = (event.client_lang or "").split("-")[0].lower()
        ctx = Context(self, pid, client if client in self.languages else self.settings.default_language, {},
                      address=event.chat or "")
        route = "error"
        try:
            ctx.session = await self.store.load_session(pid)
            ctx.lang = self._session_language(ctx, event)
            hits = await self.store.count_hit(pid, window=60)
            limit = self.settings.rate_limit_per_minute
            if hits > limit:  # one polite word when the limit is passed, then silence for the minute
                route, replies = "flood", flows.slow_down(ctx) if hits == limit + 1 else []
            else:
                route, replies = await self._dispatch(ctx, event)
                await self._count_outcome(ctx, route)
            await self.store.save_session(pid, ctx.changes)
        except Exception as exc:  # the person must never see a traceback
            log.error("event failed", extra={"pid": pid[:8], "error": type(exc).__name__, "where": where(exc)})
            replies = flows.error(ctx)
        log.info("event", extra={"pid": pid[:8], "kind": event.kind, "route": route, "lang": ctx.lang,
                                 "ms": round((time.perf_counter() - started) * 1000, 1)})
        return replies

    def _session_language(self, ctx: Context, event: Event) -> str:
        """The language before looking at this message's text (commands, buttons, other)."""
        lang, source = langmod.choose(ctx.session.get("lang"), ctx.session.get("lsrc"), langmod.Guess(),
                                      event.client_lang, self.languages, self.settings.default_language)
        self._set_language(ctx, lang, source)
        return lang

    def _set_language(self, ctx: Context, lang: str, source: str) -> None:
        ctx.lang = lang
        if ctx.session.get("lang") != lang or ctx.session.get("lsrc") != source:
            ctx.changes.update(lang=lang, lsrc=source)
            ctx.session.update(lang=lang, lsrc=source)

    async def _dispatch(self, ctx: Context, event: Event) -> tuple[str, list[Reply]]:
        if event.kind == "error":
            return "error", flows.error(ctx)
        if event.kind == "button":
            return await self._button(ctx, event.button or "")
        if event.kind == "text" and event.text.lstrip().startswith("/"):  # a command typed as text (console)
            name, _, payload = event.text.strip()[1:].partition(" ")
            event = replace(event, kind="command", command=name, payload=payload.strip(), text="")
        for capability in self.capabilities:  # e.g. a handoff in progress: messages go to a counsellor
            before = getattr(capability, "before", None)
            replies = await before(ctx, event) if before else None
            if replies is not None:
                return capability.routes[0], replies
        if event.kind == "command":
            return await self._command(ctx, (event.command or "").lower(), event.payload)
        if event.kind != "text" or not event.text.strip():
            return "other", flows.not_text(ctx)
        if len(event.text) > MAX_TEXT:
            return "too_long", flows.too_long(ctx)
        decision = await self.understanding.decide(event.text, ctx.session, event.client_lang)
        self._set_language(ctx, decision.lang, decision.lang_source)
        for capability in self.capabilities if decision.route != "emergency" else ():  # danger comes first
            replies = await capability.on_text(ctx, event.text)  # e.g. a typed answer to its question
            if replies is not None:
                return capability.routes[0], replies
        if decision.unsupported_language:
            return "language_picker", flows.language_picker(ctx)
        return decision.route, await self._route(ctx, decision)

    async def _route(self, ctx: Context, d: Decision) -> list[Reply]:
        """Run the flow for a route, counting consecutive misunderstandings."""
        fails = int(ctx.session.get("fails", "0") or 0)
        ctx.changes["fails"] = str(fails + 1 if d.route == "out_of_scope" else 0)
        ctx.changes["route"] = d.route
        if d.route == "out_of_scope":  # the second miss in a row offers a person first
            ranking = d.parse.ranking if d.parse else []
            return flows.fallback(ctx, ranking, out_of_scope=d.intent == "out_of_scope"
                                  and d.confidence >= self.settings.nlu_threshold, offer_person=fails >= 1)
        if d.route == "coi":
            if d.country:
                return self.country_answer(ctx, d.country)
            return flows.choose_country(ctx, d.candidates) if d.candidates else flows.ask_country(ctx)
        if d.route == "set_language":
            if d.named_language:
                self._set_language(ctx, d.named_language, langmod.EXPLICIT)
                return flows.language_set(ctx)
            return flows.language_picker(ctx)
        return await self.run_route(ctx, d.route)

    async def run_route(self, ctx: Context, route: str) -> list[Reply]:
        """The flow for a route reached by text, a button or a command."""
        for capability in self.capabilities:
            if route in capability.routes:
                return await capability.on_route(ctx, route)
        programme = self.content.programme
        if route == "contact":
            return flows.contact(ctx, self.content.topic("contact"), programme)
        if route in TOPIC_ROUTES and route != "coi":
            topic = self.content.topic(route)
            return flows.content_answer(ctx, topic, 0, route) if topic else flows.no_content(ctx)
        if route == "coi":
            return flows.ask_country(ctx)
        if route in SMALL_TALK:
            return flows.small_talk(ctx, route)
        if route == "help":
            return flows.help_text(ctx)
        if route == "set_language":
            return flows.language_picker(ctx)
        if route == "human":
            return flows.human(ctx, self.content.topic("contact"), programme)
        if route == "emergency":
            return flows.emergency(ctx, programme)
        if route == "privacy":
            return flows.privacy(ctx)
        if route == "forget":
            for capability in self.capabilities:  # e.g. cancel an appointment, freeing its slot
                forget = getattr(capability, "on_forget", None)
                if forget:
                    await forget(ctx)
            await self.store.forget(ctx.pid)
            ctx.changes.clear()
            return flows.forgotten(ctx)
        return flows.main_menu(ctx)

    async def outbox(self) -> list[tuple[str, list[Reply]]]:
        """Messages due now that nobody asked for (reminders), as (channel address, replies)."""
        due: list[tuple[str, list[Reply]]] = []
        for capability in self.capabilities:
            collect = getattr(capability, "outbox", None)
            if collect:
                due += await collect(self)
        return due

    def context_for(self, pid: str, lang: str) -> Context:
        """A context for a message the engine sends on its own (e.g. a reminder)."""
        return Context(self, pid, lang if lang in self.languages else self.settings.default_language, {})

    def country_answer(self, ctx: Context, code: str) -> list[Reply]:
        country = self.content.country(code)
        if country is None:
            return flows.no_country_content(ctx, code)
        return flows.country_overview(ctx, country)

    # -- buttons and commands ------------------------------------------------------------

    async def _button(self, ctx: Context, data: str) -> tuple[str, list[Reply]]:
        action = verify(self.settings.secret, data, ctx.pid)
        if action is None:
            return "expired", flows.expired(ctx)
        kind, _, arg = action.partition(":")
        for capability in self.capabilities:
            if kind == capability.prefix:
                return capability.routes[0], await capability.on_button(ctx, arg)
        if kind == "m":
            return "menu", flows.main_menu(ctx)
        if kind == "L":
            return "set_language", flows.language_picker(ctx)
        if kind == "l" and arg in self.languages:
            self._set_language(ctx, arg, langmod.EXPLICIT)
            return "set_language", flows.language_set(ctx)
        if kind == "t" and arg in ROUTES:
            ctx.changes["route"] = arg
            return arg, await self.run_route(ctx, arg)
        if kind == "c" and len(arg) == 2 and arg.isalpha():
            return "coi", self.country_answer(ctx, arg.upper())
        if kind in ("s", "p"):  # a country section, or page N of a topic or section
            key, _, num = arg.rpartition(":") if kind == "p" else (arg, "", "0")
            topic = self.content.section(key) if "." in key else self.content.topic(key)
            if topic and num.isdigit():
                return ("coi" if "." in key else key), flows.content_answer(ctx, topic, int(num), key)
        return "expired", flows.expired(ctx)

    async def _command(self, ctx: Context, name: str, payload: str) -> tuple[str, list[Reply]]:
        if name == "start":
            return "start", await self._start(ctx, payload)
        if name == "counsellors-only":
            return "refused", [ctx.reply(ctx._("Sorry, this command is only for the office's counsellors."))]
        routes = {"help": "help", "menu": "menu", "language": "set_language", "privacy": "privacy",
                  "forget": "forget"}
        if name in routes:
            route = routes[name]
            return route, (flows.main_menu(ctx) if route == "menu" else await self.run_route(ctx, route))
        return "unknown_command", flows.unknown_command(ctx)

    async def _start(self, ctx: Context, payload: str) -> list[Reply]:
        """Welcome, honouring a deep link's language, topic, country and campaign (bot/links.py)."""
        link = links.decode(payload, self.languages)
        if link.lang and langmod.stronger(langmod.LINK, ctx.session.get("lsrc")):
            self._set_language(ctx, link.lang, langmod.LINK)
        unsure = ctx.session.get("lsrc", langmod.DEFAULT) == langmod.DEFAULT
        entry = link.topic or ("coi" if link.country else "")
        ctx.changes.update(camp=link.campaign or "-", entry=entry or "-", ans="", per="")
        await self.count(ctx, "start")
        replies = flows.welcome(ctx, unsure)
        if link.country and entry == "coi":
            replies = replies[:1] + self.country_answer(ctx, link.country)
        elif entry and entry != "coi":
            replies = replies[:1] + await self.run_route(ctx, entry)
        elif entry == "coi":
            replies = replies[:1] + flows.ask_country(ctx)
        if entry and (entry != "coi" or link.country):
            await self._count_outcome(ctx, entry)  # the link opened an answer straight away
        return replies

    # -- reach without tracking ------------------------------------------------------------

    async def count(self, ctx: Context, metric: str) -> None:
        """One more for today's counter of this campaign, language and entry topic; never per person."""
        fields = {**ctx.session, **ctx.changes}
        await self.store.count(dt.date.today().isoformat(), fields.get("camp") or "-", ctx.lang,
                               fields.get("entry") or "-", metric, self.settings.stats_ttl_days * 86400)

    async def _count_outcome(self, ctx: Context, route: str) -> None:
        """Count the first answer and the first request for a person in this conversation."""
        fields = {**ctx.session, **ctx.changes}
        if route in TOPIC_ROUTES and route != "eligibility" and not fields.get("ans"):  # eligibility: nothing counted
            ctx.changes["ans"] = "1"
            await self.count(ctx, "answer")
        if route == "human" and not fields.get("per"):
            ctx.changes["per"] = "1"
            await self.count(ctx, "person")
