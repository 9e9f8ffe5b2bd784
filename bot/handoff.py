"""Human handoff: a counsellor takes over the chat, and the bot steps aside.

The person's side is an ordinary capability: "talk to a person", danger, or a tap on a button
opens a request; while it is open every message the person sends goes to the counsellors, not
to the NLU, until they or a counsellor end it. The counsellors' side is a `Desk` that a channel
provides (Telegram: a supergroup with one forum topic per request, or reply threads).

State lives in Redis with a TTL (which chat ↔ which thread, who claimed it, since when), so it
survives a restart and serves several workers. No message text is stored: the channel copies
each message from one chat to the other. Nothing here records why a person asked, only the
route that led here and whether it is urgent.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from babel.dates import get_day_names

from bot import flows
from bot.config import Settings
from bot.core import Button, Event, Reply
from bot.engine import Context, Engine
from bot.i18n import N_
from bot.security import sign, verify
from bot.store import Store

log = logging.getLogger("avrr.handoff")

PREFIX = "h"
DESK = "desk"  # the identity desk buttons are signed for: any counsellor in the group may press them
RECENT = 3  # how many of the person's last messages they may choose to share
REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
URGENT_FIRST = 10**10  # subtracted from an urgent request's queue score, so it sorts before the others

CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, ''} end
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner then return {owner == ARGV[1] and 3 or 2, redis.call('HGET', KEYS[1], 'oname')} end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'oname', ARGV[2], 'claimed', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[4])
redis.call('ZREM', KEYS[3], 'r:' .. ARGV[4], 't:' .. ARGV[4])
return {1, ARGV[2]}
"""


class Desk(Protocol):
    """The counsellors' side, provided by a channel. Threads and message keys are opaque strings."""

    async def open(self, title: str, text: str, buttons: list[list[Button]]) -> tuple[str, list[str]]:
        """Start a thread for a new request: (thread, keys a counsellor's reply can arrive with)."""
        ...

    async def post(self, thread: str, text: str, buttons: list[list[Button]] | None = None) -> list[str]:
        """A note from the bot in the thread; returns new keys that lead to the thread."""
        ...

    async def copy_in(self, thread: str, origin: str) -> list[str]:
        """Copy one of the person's messages into the thread (no forward header)."""
        ...

    async def copy_out(self, address: str, origin: str, signature: str, text: str | None,
                       caption: str | None) -> None:
        """Copy a counsellor's message to the person, signed with a role name, never a Telegram name."""
        ...

    async def send(self, address: str, replies: list[Reply]) -> None:
        """Send the bot's own replies to the person."""
        ...

    async def close(self, thread: str, title: str) -> None:
        """Mark the thread as closed."""
        ...


@dataclass(frozen=True)
class Counsellor:
    """Someone in the counsellors' group: `key` identifies them, `name` is shown to colleagues only."""

    key: str
    name: str


# Person-facing labels and texts (translated in locales/).
END = N_("End the chat with the counsellor")
SHARE = N_("Share my last messages with the counsellor")
BOOK = N_("Book an appointment instead")
WAIT = N_("Keep waiting")
ASK_ANYWAY = N_("Leave a request for the counsellors")
SIGNATURE = N_("Counsellor")


class Handoff:
    """The handoff capability: requests, queue, claims, relays and closing, all in Redis."""

    routes = ("human", "emergency")
    prefix = PREFIX

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.tz = ZoneInfo(settings.office_timezone)
        self.ttl = settings.handoff_ttl_hours * 3600
        self.clock = clock

    # -- keys (the store's scheme, avrr:<kind>:<id>; `/forget` finds avrr:hop:<pseudonym>) ------

    @staticmethod
    def _rec(ref: str) -> str:
        return Store.key("ho", ref)

    @staticmethod
    def _by_person(pid: str) -> str:
        return Store.key("hop", pid)

    @staticmethod
    def _by_key(key: str) -> str:
        return Store.key("hok", key)  # a thread or message key ("t:700", "m:1024") -> ref

    @staticmethod
    def _keys_of(ref: str) -> str:
        return Store.key("hoks", ref)  # every thread key of a ref, deleted on close

    QUEUE = "avrr:hoq"  # waiting requests, urgent first, then oldest
    DUE = "avrr:hod"  # "r:<ref>" reminders to the group and "t:<ref>" timeouts, by due time

    # -- the person's side ---------------------------------------------------------------

    async def on_route(self, ctx: Context, route: str) -> list[Reply]:
        desk = ctx.engine.desk
        programme = ctx.engine.content.programme
        if route == "emergency":
            replies = flows.emergency(ctx, programme)
            return replies + (await self._request(ctx, urgent=True, came_from="emergency") if desk else [])
        if desk is None:
            return flows.human(ctx, ctx.engine.content.topic("contact"), programme)
        return await self._request(ctx, urgent=False)

    async def on_button(self, ctx: Context, arg: str) -> list[Reply]:
        if ctx.engine.desk is None:
            return flows.human(ctx, ctx.engine.content.topic("contact"), ctx.engine.content.programme)
        if arg == "u":  # URGENT_HANDOFF: a person asked for help at a moment of danger
            return await self._request(ctx, urgent=True)
        if arg == "o":
            return await self._request(ctx, urgent=False, after_hours_ok=True)
        record = await self._mine(ctx)
        if record is None:
            return [ctx.reply(ctx._("This chat with a counsellor has already ended."),
                              buttons=flows.menu_buttons(ctx))]
        if arg == "x":
            return await self._end_by_person(ctx, record)
        if arg == "b":
            await self._end_by_person(ctx, record, note="The person chose to book an appointment instead.")
            return await ctx.engine.run_route(ctx, "book")
        if arg == "w":
            await self._schedule(ctx.engine, record["ref"], "t", self.settings.handoff_timeout_minutes)
            return [ctx.reply(ctx._("Thank you for waiting. A counsellor will answer here as soon as possible."),
                              buttons=self._person_buttons(ctx, record))]
        if arg == "s":
            return await self._share(ctx, record)
        return flows.expired(ctx)

    async def on_text(self, ctx: Context, text: str) -> list[Reply] | None:
        return None  # typed text during a handoff is taken earlier, in `before`

    async def before(self, ctx: Context, event: Event) -> list[Reply] | None:
        """During a handoff: relay the person's messages and honour /stop; otherwise remember message ids."""
        if event.kind not in ("text", "other", "command"):
            return None
        stop = event.kind == "command" and (event.command or "").lower() == "stop"
        record = await self._mine(ctx) if ctx.engine.desk else None
        if record is None:
            if stop:
                return [ctx.reply(ctx._("You are not talking to a counsellor now."), buttons=flows.menu_buttons(ctx))]
            if ctx.engine.desk and event.kind == "text" and event.origin:  # message numbers only, never text
                recent = [*ctx.session.get("recent", "").split(), event.origin.rsplit(":", 1)[-1]][-RECENT:]
                ctx.changes["recent"] = " ".join(recent)
            return None
        if stop:
            return await self._end_by_person(ctx, record)
        if event.kind == "command" or not event.origin:
            return None  # /start, /menu, /forget… keep working during a handoff
        return await self._relay_in(ctx, record, event)

    async def on_forget(self, ctx: Context) -> None:
        """/forget ends an open handoff first (the group is told the person left)."""
        record = await self._mine(ctx)
        if record:
            await self._close(ctx.engine, record, "The person deleted their data and left the chat.")

    def is_open(self, now: dt.datetime) -> bool:
        """Inside office hours (OFFICE_HOURS, in the office's time zone)?"""
        local = now.astimezone(self.tz)
        minute = local.hour * 60 + local.minute
        return any(day == local.weekday() and start <= minute < end for day, start, end in self.settings.office_hours)

    def hours_text(self, lang: str) -> str:
        """The office hours in the person's language: "Mon–Fri 09:00–17:00 (Europe/Berlin)"."""
        names = get_day_names("abbreviated", locale=lang)
        spans: dict[tuple[int, int], list[int]] = {}
        for day, start, end in self.settings.office_hours:
            spans.setdefault((start, end), []).append(day)
        parts = []
        for (start, end), days in spans.items():
            label = names[days[0]] if len(days) == 1 else f"{names[days[0]]}–{names[days[-1]]}"
            if days != list(range(days[0], days[-1] + 1)):
                label = ", ".join(names[d] for d in days)
            parts.append(f"{label} {start // 60:02d}:{start % 60:02d}–{end // 60:02d}:{end % 60:02d}")
        return "; ".join(parts) + f" ({self.settings.office_timezone})"

    # -- state -------------------------------------------------------------------------

    async def _mine(self, ctx: Context) -> dict[str, str] | None:
        ref = await ctx.store.redis.get(self._by_person(ctx.pid))
        return await self._record(ctx.engine, ref) if ref else None

    async def _record(self, engine: Engine, ref: str) -> dict[str, str] | None:
        record = await engine.store.redis.hgetall(self._rec(ref))
        return {**record, "ref": ref} if record else None

    async def _link(self, engine: Engine, ref: str, keys: list[str]) -> None:
        """Remember which thread keys lead to this request (listed, so closing deletes them all)."""
        if keys:
            async with engine.store.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.set(self._by_key(key), ref, ex=self.ttl)
                pipe.sadd(self._keys_of(ref), *keys)
                pipe.expire(self._keys_of(ref), self.ttl)
                await pipe.execute()

    async def _touch(self, engine: Engine, record: dict[str, str]) -> None:
        """Activity keeps an open request alive for another HANDOFF_TTL_HOURS."""
        async with engine.store.redis.pipeline(transaction=False) as pipe:
            pipe.expire(self._rec(record["ref"]), self.ttl)
            pipe.expire(self._by_person(record["pid"]), self.ttl)
            await pipe.execute()

    async def _schedule(self, engine: Engine, ref: str, kind: str, minutes: int) -> None:
        async with engine.store.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self.DUE, {f"{kind}:{ref}": self.clock() + minutes * 60})
            pipe.expire(self.DUE, self.ttl)
            await pipe.execute()

    async def place(self, engine: Engine, ref: str) -> int:
        """1 for the first waiting request (urgent ones first), 0 when no longer waiting."""
        rank = await engine.store.redis.zrank(self.QUEUE, ref)
        return 0 if rank is None else rank + 1

    # -- opening a request ---------------------------------------------------------------

    async def _request(self, ctx: Context, urgent: bool, after_hours_ok: bool = False,
                       came_from: str = "") -> list[Reply]:
        """Open a request (or report on the open one); outside office hours offer a booking first."""
        engine, redis = ctx.engine, ctx.store.redis
        record = await self._mine(ctx)
        if record:
            if urgent and record.get("urgent") != "1":
                await self._make_urgent(engine, record)
            return [self._status(ctx, record, await self.place(engine, record["ref"]))]
        now = dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc)
        if not urgent and not after_hours_ok and not self.is_open(now):
            text = "\n\n".join([ctx._("The counsellors are not in the office now. Office hours: {hours}.")
                                .format(hours=self.hours_text(ctx.lang)),
                                ctx._("You can book an appointment, or leave a request: a counsellor will "
                                      "answer here when the office opens.")])
            rows = [[flows.route_button(ctx, "book")], [ctx.button(ctx._(ASK_ANYWAY), f"{PREFIX}:o")],
                    [flows.route_button(ctx, "contact")]]
            return [ctx.reply(text, buttons=rows)]
        ref = await self._new_ref(engine)
        if not await redis.set(self._by_person(ctx.pid), ref, ex=self.ttl, nx=True):
            return []  # a second tap at the same moment: the first one opens the request
        came_from = came_from or ctx.session.get("route") or "-"
        since = self.clock()
        record = {"pid": ctx.pid, "addr": ctx.address, "lang": ctx.lang, "urgent": "1" if urgent else "0",
                  "from": came_from or "-", "since": str(int(since))}
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._rec(ref), mapping=record)
            pipe.expire(self._rec(ref), self.ttl)
            pipe.zadd(self.QUEUE, {ref: since - (URGENT_FIRST if urgent else 0)})
            pipe.expire(self.QUEUE, self.ttl)
            await pipe.execute()
        record["ref"] = ref
        place = await self.place(engine, ref)
        try:
            thread, keys = await engine.desk.open(self.title(record), self.summary(record, place),  # type: ignore[union-attr]
                                                  self._desk_buttons(engine, ref))
        except Exception as exc:  # the group is unreachable: undo, and show the office's contacts instead
            log.error("handoff desk unreachable", extra={"error": type(exc).__name__})
            await self._forget_record(engine, record)
            return flows.human(ctx, engine.content.topic("contact"), engine.content.programme)
        await redis.hset(self._rec(ref), "thread", thread)
        await self._link(engine, ref, keys)
        await self._schedule(engine, ref, "r", self.settings.handoff_remind_minutes)
        await self._schedule(engine, ref, "t", self.settings.handoff_timeout_minutes)
        log.info("handoff opened", extra={"ref": ref, "urgent": urgent, "lang": ctx.lang})
        record["thread"] = thread
        return [self._status(ctx, record, place, new=True)]

    async def _new_ref(self, engine: Engine) -> str:
        while True:
            ref = "".join(secrets.choice(REF_ALPHABET) for _ in range(4))
            if not await engine.store.redis.exists(self._rec(ref)):
                return ref

    def _status(self, ctx: Context, record: dict[str, str], place: int, new: bool = False) -> Reply:
        """What the person sees while a request is open: who has it, their place, what else they can do."""
        _ = ctx._
        if record.get("owner"):
            parts = [_("A counsellor is with you in this chat. Write your messages here.")]
        else:
            parts = [_("A counsellor has been asked to join this chat.") if new
                     else _("Your request for a counsellor is still open.")]
            if place:
                parts.append(_("You are number {place} in the queue.").format(place=place))
            parts.append(_("Office hours: {hours}.").format(hours=self.hours_text(ctx.lang)))
            parts.append(_("If nobody can answer soon, you can book an appointment instead."))
        parts.append(_("While this chat is open, I pass everything you write to the counsellor. "
                       "Send /stop to end it."))
        return ctx.reply("\n\n".join(parts), buttons=self._person_buttons(ctx, record))

    def _person_buttons(self, ctx: Context, record: dict[str, str]) -> list[list[Button]]:
        rows = []
        if ctx.session.get("recent") and record.get("shared") != "1":
            rows.append([ctx.button(ctx._(SHARE), f"{PREFIX}:s")])
        if not record.get("owner"):
            rows.append([ctx.button(ctx._(BOOK), f"{PREFIX}:b")])
        rows.append([ctx.button(ctx._(END), f"{PREFIX}:x")])
        return rows

    async def _make_urgent(self, engine: Engine, record: dict[str, str]) -> None:
        """Danger during a waiting request moves it to the front and tells the group."""
        ref = record["ref"]
        async with engine.store.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._rec(ref), "urgent", "1")
            if not record.get("owner"):
                pipe.zadd(self.QUEUE, {ref: float(record.get("since", 0)) - URGENT_FIRST}, xx=True)
            await pipe.execute()
        record["urgent"] = "1"
        await self._post(engine, record, f"🔴 #{ref} is now URGENT: a danger signal.")

    # -- relaying ------------------------------------------------------------------------

    async def _relay_in(self, ctx: Context, record: dict[str, str], event: Event) -> list[Reply]:
        """Copy the person's message into the thread; the bot stays silent unless nobody has claimed it."""
        engine = ctx.engine
        if not record.get("thread"):  # the thread is still being opened by another worker
            return [self._status(ctx, record, await self.place(engine, record["ref"]))]
        keys = await engine.desk.copy_in(record["thread"], event.origin)  # type: ignore[union-attr]
        await self._link(engine, record["ref"], keys)
        await self._touch(engine, record)
        replies: list[Reply] = []
        if event.kind == "text" and record.get("urgent") != "1" and engine.interpreter.danger(event.text):
            await self._make_urgent(engine, record)
            replies += flows.offices(ctx, engine.content.programme, emergency=True)
        if not record.get("owner") and record.get("told") != "1":
            await engine.store.redis.hset(self._rec(record["ref"]), "told", "1")
            replies.append(ctx.reply(ctx._("Your message was passed on. A counsellor will answer here.")))
        return replies

    async def _share(self, ctx: Context, record: dict[str, str]) -> list[Reply]:
        """The person agreed: copy their last few messages (kept as message ids only) into the thread."""
        keys: list[str] = []
        for number in ctx.session.get("recent", "").split():
            keys += await ctx.engine.desk.copy_in(record["thread"], f"{ctx.address}:{number}")  # type: ignore[union-attr]
        await self._link(ctx.engine, record["ref"], keys)
        await ctx.store.redis.hset(self._rec(record["ref"]), "shared", "1")
        ctx.changes["recent"] = ""
        ctx.session["recent"] = ""
        record["shared"] = "1"
        return [ctx.reply(ctx._("Thank you. The counsellor can now read your last messages."),
                          buttons=self._person_buttons(ctx, record))]

    # -- ending --------------------------------------------------------------------------

    async def _end_by_person(self, ctx: Context, record: dict[str, str],
                             note: str = "The person ended the chat.") -> list[Reply]:
        await self._close(ctx.engine, record, note)
        return [ctx.reply(ctx._("The chat with the counsellor has ended. You can ask me again at any time."),
                          buttons=flows.menu_buttons(ctx))]

    async def _close(self, engine: Engine, record: dict[str, str], note: str) -> bool:
        """End a request once, whoever ends it (MULTI makes the second closer see nothing)."""
        ref = record["ref"]
        async with engine.store.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._rec(ref))
            pipe.delete(self._by_person(record["pid"]))
            pipe.zrem(self.QUEUE, ref)
            pipe.zrem(self.DUE, f"r:{ref}", f"t:{ref}")
            deleted, *_ = await pipe.execute()
        if not deleted:
            return False
        thread, desk = record.get("thread", ""), engine.desk
        try:
            if thread and desk:
                await desk.post(thread, f"{note} #{ref} is closed; nothing more is relayed.")  # type: ignore[attr-defined]
                await desk.close(thread, "✓ " + self.title(record))  # type: ignore[attr-defined]
        except Exception as exc:  # the person's side is closed whatever the group's state
            log.error("handoff close not shown in group", extra={"error": type(exc).__name__})
        keys = await engine.store.redis.smembers(self._keys_of(ref))  # later messages in the thread go nowhere
        await engine.store.redis.delete(self._keys_of(ref), *(self._by_key(k) for k in keys))
        log.info("handoff closed", extra={"ref": ref})
        return True

    async def _forget_record(self, engine: Engine, record: dict[str, str]) -> None:
        await engine.store.redis.delete(self._rec(record["ref"]), self._by_person(record["pid"]))
        await engine.store.redis.zrem(self.QUEUE, record["ref"])

    # -- the counsellors' side (called by the channel for the counsellors' group) -------------------

    def _desk_buttons(self, engine: Engine, ref: str) -> list[list[Button]]:
        secret = engine.settings.secret
        return [[Button("✋ Claim", sign(secret, f"{PREFIX}:c:{ref}", DESK)),
                 Button("✖ Close", sign(secret, f"{PREFIX}:z:{ref}", DESK))]]

    def title(self, record: dict[str, str]) -> str:
        """The thread's title: a short pseudonymous reference, the language and the route that led here."""
        mark = "🔴 " if record.get("urgent") == "1" else ""
        return f"{mark}#{record['ref']} · {record.get('lang', '?')} · {record.get('from', '-')}"

    def summary(self, record: dict[str, str], place: int) -> str:
        """The first message in the thread (for counsellors; never a decision or an intention)."""
        lines = [f"New request #{record['ref']}" + (" — URGENT (danger signal or protection need)"
                                                    if record.get("urgent") == "1" else ""),
                 f"Language: {record.get('lang')}",
                 f"Came from: {record.get('from', '-')}",
                 f"Place in queue: {place}",
                 "The person's messages appear here as they write. They have not shared earlier messages "
                 "(they can choose to).",
                 "Claim it to answer: only the claiming counsellor's messages in this thread go to the person, "
                 "signed 'Counsellor'. Start a message with // to keep it internal. Close ends the chat."]
        return "\n".join(lines)

    async def _post(self, engine: Engine, record: dict[str, str], text: str,
                    buttons: list[list[Button]] | None = None) -> None:
        if record.get("thread") and engine.desk:
            await self._link(engine, record["ref"], await engine.desk.post(record["thread"], text, buttons))  # type: ignore[attr-defined]

    async def find(self, engine: Engine, keys: list[str]) -> str | None:
        """The request a counsellor's message belongs to (by topic or by the message it replies to)."""
        for key in keys:
            ref = await engine.store.redis.get(self._by_key(key))
            if ref:
                return ref
        return None

    async def desk_button(self, engine: Engine, data: str, who: Counsellor) -> str:
        """A counsellor pressed Claim or Close; returns a short answer for them."""
        action = verify(engine.settings.secret, data, DESK)
        if action is None:
            return "This button is not valid."
        _, kind, ref = [*action.split(":"), "", ""][:3]
        record = await self._record(engine, ref)
        if record is None:
            return f"#{ref} is already closed."
        if kind == "z":
            await self.close_from_desk(engine, ref, who)
            return f"#{ref} closed."
        if kind == "c":
            return await self.claim(engine, record, who)
        return "This button is not valid."

    async def claim(self, engine: Engine, record: dict[str, str], who: Counsellor) -> str:
        """The first counsellor to claim owns the request; others are told who has it."""
        ref = record["ref"]
        result, name = await engine.store.redis.eval(CLAIM, 3, self._rec(ref), self.QUEUE, self.DUE,
                                                     who.key, who.name, str(int(self.clock())), ref)
        if int(result) == 0:
            return f"#{ref} is already closed."
        if int(result) == 2:
            return f"#{ref} is already claimed by {name}."
        if int(result) == 3:
            return f"#{ref} is already yours."
        record.update(owner=who.key, oname=who.name)
        await self._post(engine, record, f"✋ {who.name} claimed #{ref}. Only their messages here go to the person.")
        ctx = engine.context_for(record["pid"], record.get("lang", ""))
        await engine.desk.send(record["addr"], [ctx.reply(  # type: ignore[union-attr]
            ctx._("A counsellor is with you now. Write your messages here."),
            buttons=[[ctx.button(ctx._(END), f"{PREFIX}:x")]])])
        log.info("handoff claimed", extra={"ref": ref})
        return f"You claimed #{ref}."

    async def from_desk(self, engine: Engine, ref: str, who: Counsellor, origin: str, text: str | None,
                        caption: str | None) -> str | None:
        """A counsellor wrote in a request's thread: relay it to the person when it is theirs to answer.

        Returns a note for the group, or None when nothing needs saying.
        """
        if text is not None and text.lstrip().startswith("//"):
            return None  # an internal note between counsellors
        record = await self._record(engine, ref)
        if record is None:
            return f"#{ref} is closed: this message was not sent to anyone."
        if not record.get("owner"):  # writing in an unclaimed thread claims it
            answer = await self.claim(engine, record, who)
            record = await self._record(engine, ref)
            if record is None or record.get("owner") != who.key:
                return answer
        if record.get("owner") != who.key:
            return f"Not sent: #{ref} is claimed by {record.get('oname')}. Start with // for internal notes."
        ctx = engine.context_for(record["pid"], record.get("lang", ""))
        await engine.desk.copy_out(record["addr"], origin, ctx._(SIGNATURE), text, caption)  # type: ignore[union-attr]
        await self._touch(engine, record)
        return None

    async def close_from_desk(self, engine: Engine, ref: str, who: Counsellor) -> bool:
        """A counsellor closed the request: the person gets a short closing message and the main menu."""
        record = await self._record(engine, ref)
        if record is None or not await self._close(engine, record, f"Closed by {who.name}."):
            return False
        ctx = engine.context_for(record["pid"], record.get("lang", ""))
        try:
            await engine.desk.send(record["addr"], [ctx.reply(  # type: ignore[union-attr]
                ctx._("The counsellor has closed this chat. Thank you for writing. You can ask me anything "
                      "again, or ask for a person at any time."), buttons=flows.menu_buttons(ctx))])
        except Exception as exc:  # e.g. the person blocked the bot: the request is closed all the same
            log.info("closing message not delivered", extra={"error": type(exc).__name__})
        return True

    # -- the queue's clock ----------------------------------------------------------------

    async def outbox(self, engine: Engine) -> list[tuple[str, list[Reply]]]:
        """Remind the group of unclaimed requests; after the timeout offer the person a booking.

        Each due item is claimed with ZREM, so with several workers only one sends it.
        """
        if engine.desk is None:
            return []
        redis, now, out = engine.store.redis, self.clock(), []
        for item in await redis.zrangebyscore(self.DUE, "-inf", now, start=0, num=100):
            if not await redis.zrem(self.DUE, item):
                continue  # another worker took it
            kind, _, ref = item.partition(":")
            record = await self._record(engine, ref)
            if record is None or record.get("owner"):
                continue
            minutes = int((now - float(record.get("since", now))) // 60)
            if kind == "r":
                place = await self.place(engine, ref)
                await self._post(engine, record, f"⏰ #{ref} has waited {minutes} min (place {place}) and is "
                                 "not claimed yet.", self._desk_buttons(engine, ref)[:1])
                await self._schedule(engine, ref, "r", self.settings.handoff_remind_minutes)
            else:
                ctx = engine.context_for(record["pid"], record.get("lang", ""))
                text = ctx._("No counsellor is free right now. You can book an appointment, or keep waiting.")
                rows = [[ctx.button(ctx._(BOOK), f"{PREFIX}:b")], [ctx.button(ctx._(WAIT), f"{PREFIX}:w")],
                        [ctx.button(ctx._(END), f"{PREFIX}:x")]]
                out.append((record["addr"], [ctx.reply(text, buttons=rows)]))
                await self._post(engine, record, f"#{ref}: nobody claimed it in {minutes} min; the person was "
                                 "offered a booking.")
        return out
