"""Counselling appointments: slots, atomic booking, cancel, reschedule and reminders — in Redis.

A slot is `avrr:slot:<id>` (start, length, office, mode, languages, counsellor role, state); the
day index is the sorted set `avrr:slots`. Booking, cancelling and claiming reminders are Lua
scripts, so two people (or two workers) can never take the same slot or send the same reminder.
An appointment `avrr:appt:<ref>` holds only what it needs (slot, pseudonym, chat address for
reminders, language, mode, topic) and expires `APPOINTMENT_RETENTION_DAYS` after the slot.
It is "AVRR counselling", never "return": nothing here records a decision.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from redis.asyncio import Redis

from bot import flows
from bot.core import Reply
from bot.i18n import N_
from bot.store import PREFIX, Store

if TYPE_CHECKING:
    from bot.engine import Context, Engine

MODES: dict[str, str] = {
    "office": N_("In person"),
    "phone": N_("Phone"),
    "video": N_("Video"),
    "telegram": N_("Telegram call"),
}
REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: easy to read out on the phone
REMINDERS = ((24 * 3600, "24h"), (3600, "1h"))

BOOK = """
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return 'taken' end
if tonumber(redis.call('HGET', KEYS[1], 'start')) <= tonumber(ARGV[7]) then return 'past' end
if redis.call('EXISTS', KEYS[3]) == 1 then return 'has' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'again' end
redis.call('HSET', KEYS[1], 'state', 'booked', 'ref', ARGV[1])
redis.call('HSET', KEYS[2], 'slot', ARGV[8], 'pid', ARGV[2], 'chat', ARGV[3], 'lang', ARGV[4], 'mode', ARGV[5],
           'topic', ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[9])
redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[9])
for i = 10, #ARGV, 2 do
  if tonumber(ARGV[i]) > tonumber(ARGV[7]) then
    redis.call('ZADD', KEYS[4], ARGV[i], ARGV[1] .. ':' .. ARGV[i + 1])
  end
end
redis.call('EXPIRE', KEYS[4], ARGV[9], 'GT')
if redis.call('TTL', KEYS[4]) < 0 then redis.call('EXPIRE', KEYS[4], ARGV[9]) end
return 'ok'
"""
CANCEL = """
if redis.call('HGET', KEYS[1], 'pid') ~= ARGV[1] then return 'none' end
local slot = redis.call('HGET', KEYS[1], 'slot')
redis.call('HSET', KEYS[2] .. slot, 'state', 'open')
redis.call('HDEL', KEYS[2] .. slot, 'ref')
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[2] .. ':24h', ARGV[2] .. ':1h')
return 'ok'
"""
CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do redis.call('ZREM', KEYS[1], member) end
return due
"""


@dataclass(frozen=True)
class Slot:
    id: str
    start: dt.datetime  # aware, UTC
    minutes: int
    office: str
    mode: str
    langs: tuple[str, ...]
    counsellor: str
    state: str
    ref: str = ""


class Slots:
    """The Redis side of appointments, shared by the capability, the CLI and the reminder loop."""

    def __init__(self, redis: Redis, retention_days: int) -> None:
        self.redis = redis
        self.retention = retention_days * 86400
        self._book = redis.register_script(BOOK)
        self._cancel = redis.register_script(CANCEL)
        self._claim = redis.register_script(CLAIM)

    k = staticmethod(Store.key)

    def _ttl(self, start: dt.datetime, minutes: int, now: dt.datetime) -> int:
        return max(60, int((start - now).total_seconds()) + minutes * 60 + self.retention)

    async def add(self, start: dt.datetime, minutes: int, office: str, mode: str, langs: list[str],
                  counsellor: str, now: dt.datetime | None = None) -> str:
        """Create one open slot; returns its id."""
        now = now or dt.datetime.now(dt.timezone.utc)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if start <= now:
            raise ValueError("a slot must start in the future")
        sid = secrets.token_hex(4)
        ttl = self._ttl(start, minutes, now)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.k("slot", sid), mapping={"start": int(start.timestamp()), "minutes": minutes,
                                                    "office": office, "mode": mode, "langs": ",".join(langs),
                                                    "counsellor": counsellor, "state": "open"})
            pipe.expire(self.k("slot", sid), ttl)
            pipe.zadd(self.k("slots"), {sid: int(start.timestamp())})
            pipe.expire(self.k("slots"), ttl, gt=True)
            await pipe.execute()
        if await self.redis.ttl(self.k("slots")) < 0:
            await self.redis.expire(self.k("slots"), ttl)
        return sid

    async def get(self, sid: str) -> Slot | None:
        data = await self.redis.hgetall(self.k("slot", sid))
        if not data:
            return None
        return Slot(sid, dt.datetime.fromtimestamp(int(data["start"]), dt.timezone.utc), int(data["minutes"]),
                    data.get("office", ""), data.get("mode", ""), tuple(filter(None, data.get("langs", "").split(","))),
                    data.get("counsellor", ""), data.get("state", ""), data.get("ref", ""))

    async def upcoming(self, now: dt.datetime, days: int = 14) -> list[Slot]:
        """Every slot from now on for `days` days, oldest first (expired ids are dropped from the index)."""
        ids = await self.redis.zrangebyscore(self.k("slots"), int(now.timestamp()) + 1,
                                             int((now + dt.timedelta(days=days)).timestamp()))
        slots = []
        for sid in ids:
            slot = await self.get(sid)
            if slot is None:
                await self.redis.zrem(self.k("slots"), sid)
            elif slot.state != "removed":
                slots.append(slot)
        return slots

    async def remove(self, sid: str) -> bool:
        """Take a slot away (only an open one: a booked slot must be cancelled first)."""
        slot = await self.get(sid)
        if slot is None or slot.state == "booked":
            return False
        await self.redis.delete(self.k("slot", sid))
        await self.redis.zrem(self.k("slots"), sid)
        return True

    async def book(self, slot: Slot, pid: str, chat: str, lang: str, topic: str,
                   now: dt.datetime | None = None) -> tuple[str, str]:
        """('ok', ref) or (reason, '') with reason taken / past / has; atomic in Redis."""
        now = now or dt.datetime.now(dt.timezone.utc)
        ttl = self._ttl(slot.start, slot.minutes, now)
        for _ in range(5):
            ref = "".join(secrets.choice(REF_ALPHABET) for _ in range(4))
            reminders = [str(v) for before, kind in REMINDERS for v in (int(slot.start.timestamp()) - before, kind)]
            result = await self._book(
                keys=[self.k("slot", slot.id), self.k("appt", ref), self.k("mine", pid), self.k("remind")],
                args=[ref, pid, chat, lang, slot.mode, topic, int(now.timestamp()), slot.id, ttl, *reminders])
            if result != "again":
                return result, ref if result == "ok" else ""
        return "taken", ""

    async def mine(self, pid: str) -> tuple[str, dict[str, str]] | None:
        ref = await self.redis.get(self.k("mine", pid))
        if not ref:
            return None
        appt = await self.redis.hgetall(self.k("appt", ref))
        return (ref, appt) if appt else None

    async def cancel(self, pid: str) -> bool:
        found = await self.mine(pid)
        if not found:
            return False
        ref, _ = found
        result = await self._cancel(keys=[self.k("appt", ref), f"{PREFIX}:slot:", self.k("mine", pid),
                                          self.k("remind")], args=[pid, ref])
        return result == "ok"

    async def claim_due(self, now: dt.datetime, limit: int = 100) -> list[tuple[str, str]]:
        """Due reminders as (ref, kind), each handed to exactly one caller even with several workers."""
        members = await self._claim(keys=[self.k("remind")], args=[int(now.timestamp()), limit])
        return [tuple(m.rsplit(":", 1)) for m in members]  # type: ignore[misc]

    async def appointment(self, ref: str) -> dict[str, str]:
        return await self.redis.hgetall(self.k("appt", ref))


async def agenda(slots: Slots, tz: ZoneInfo, start: dt.datetime, days: int) -> list[str]:
    """One line per slot: time, mode, languages, state and, when booked, reference, language and topic.

    For counsellors (CLI and their Telegram group): never free text, never anything about a decision.
    """
    lines = []
    for slot in await slots.upcoming(start, days):
        line = (f"{slot.id}  {when(slot.start, slot.minutes, 'en_GB', tz)}  {slot.mode}  {','.join(slot.langs)}  "
                f"{slot.office} / {slot.counsellor}  {slot.state}")
        if slot.state == "booked" and slot.ref:
            appt = await slots.appointment(slot.ref)
            line += f"  #{slot.ref} {appt.get('lang', '')} {appt.get('mode', '')} {appt.get('topic', '')}"
        lines.append(line)
    return lines


async def no_show(slots: Slots, ref: str) -> bool:
    """A counsellor marks a missed appointment: its record and reminders go, the slot stays used."""
    appt = await slots.appointment(ref.lstrip("#").upper())
    if not appt:
        return False
    ref = ref.lstrip("#").upper()
    await slots.redis.delete(slots.k("appt", ref), slots.k("mine", appt.get("pid", "")))
    await slots.redis.zrem(slots.k("remind"), f"{ref}:24h", f"{ref}:1h")
    return True


def when(start: dt.datetime, minutes: int, lang: str, tz: ZoneInfo) -> str:
    """'Mon 30 Nov, 09:00 (45 min, Berlin)' in the person's language and the given time zone."""
    local = start.astimezone(tz)
    day = format_date(local.date(), format="EEE d MMM", locale=lang)
    zone = str(tz).rsplit("/", 1)[-1].replace("_", " ")
    return f"{day}, {format_time(local.time(), format='short', locale=lang)} ({minutes} min, {zone})"


class Booking:
    """The capability: the book / appointment_status / cancel routes and `b:` buttons."""

    routes = ("book", "appointment_status", "cancel")
    prefix = "b"

    def __init__(self, tz: ZoneInfo, retention_days: int, days_ahead: int = 14) -> None:
        self.tz = tz
        self.retention_days = retention_days
        self.days_ahead = days_ahead

    def slots(self, ctx: Context) -> Slots:
        return Slots(ctx.store.redis, self.retention_days)

    def zone(self, ctx: Context) -> ZoneInfo:
        """The person's chosen time zone (session), else the office's."""
        chosen = ctx.changes.get("tz") or ctx.session.get("tz")
        return ZoneInfo(chosen) if chosen in ctx.engine.content.programme.timezones else self.tz

    @staticmethod
    def now() -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    async def on_text(self, ctx: Context, text: str) -> list[Reply] | None:
        return None  # booking is driven by buttons; typed requests arrive as routes

    async def on_forget(self, ctx: Context) -> None:
        """/forget cancels the appointment (and its reminders) and frees the slot."""
        await self.slots(ctx).cancel(ctx.pid)

    async def outbox(self, engine: Engine) -> list[tuple[str, list[Reply]]]:
        """Reminders due now, each claimed once across workers; cancelled ones are gone already."""
        slots = Slots(engine.store.redis, self.retention_days)
        out = []
        for ref, kind in await slots.claim_due(self.now()):
            appt = await slots.appointment(ref)
            slot = await slots.get(appt.get("slot", "")) if appt else None
            if not appt or slot is None or not appt.get("chat"):
                continue
            ctx = engine.context_for(appt["pid"], appt.get("lang", ""))
            if kind == "24h":
                text = ctx._("Reminder: your counselling appointment is tomorrow: {when}. Reference {ref}.")
            else:
                text = ctx._("Reminder: your counselling appointment is in one hour: {when}. Reference {ref}.")
            out.append((appt["chat"], [ctx.reply(text.format(when=when(slot.start, slot.minutes, ctx.lang, self.tz),
                                                              ref=ref), buttons=self._manage(ctx))]))
        return out

    async def on_route(self, ctx: Context, route: str) -> list[Reply]:
        found = await self.slots(ctx).mine(ctx.pid)
        if found:
            return [await self._show(ctx, *found)]
        if route in ("appointment_status", "cancel"):
            return [ctx.reply(ctx._("You have no appointment booked."),
                              buttons=[[ctx.button(ctx._("Book an appointment"), "t:book")]])]
        return await self._modes(ctx)

    async def on_button(self, ctx: Context, arg: str) -> list[Reply]:
        kind, _, rest = arg.partition(":")
        slots = self.slots(ctx)
        if kind == "m":
            return await self._days(ctx, rest)
        if kind == "z":  # `z:<mode>` lists time zones, `z:<mode>:<index>` chooses one
            mode, _, index = rest.partition(":")
            zones = ctx.engine.content.programme.timezones
            if index.isdigit() and int(index) < len(zones):
                ctx.changes["tz"] = zones[int(index)]
                return await self._days(ctx, mode)
            rows = [[ctx.button(z.replace("_", " "), f"b:z:{mode}:{i}")] for i, z in enumerate(zones)]
            return [ctx.reply(ctx._("Which time zone are you in?"), buttons=rows)]
        if kind == "d":
            mode, _, day = rest.partition(":")
            return await self._times(ctx, mode, day)
        if kind in ("s", "c"):
            slot = await slots.get(rest)
            if slot is None or slot.state == "removed":
                return [ctx.reply(ctx._("Sorry, this time is no longer available.")), *await self._modes(ctx)]
            if kind == "s":
                return [self._confirm(ctx, slot)]
            return await self._book(ctx, slot)
        if kind == "x":
            ok = await slots.cancel(ctx.pid)
            text = ctx._("Your appointment is cancelled.") if ok else ctx._("You have no appointment booked.")
            return [ctx.reply(text, buttons=[[ctx.button(ctx._("Book an appointment"), "t:book")],
                                             [ctx.button(ctx._("Main menu"), "m")]])]
        if kind == "r":
            await slots.cancel(ctx.pid)
            return [ctx.reply(ctx._("Your appointment is cancelled. Choose a new time:")), *await self._modes(ctx)]
        return [ctx.reply(ctx._("This button has expired. Here is the menu again."),
                          buttons=flows.menu_buttons(ctx))]

    async def _open(self, ctx: Context) -> list[Slot]:
        """Open future slots, in the person's language when there are any in it."""
        open_slots = [s for s in await self.slots(ctx).upcoming(self.now(), self.days_ahead) if s.state == "open"]
        mine = [s for s in open_slots if ctx.lang in s.langs]
        return mine or open_slots

    async def _modes(self, ctx: Context) -> list[Reply]:
        modes = sorted({s.mode for s in await self._open(ctx)}, key=list(MODES).index)
        if not modes:
            return [ctx.reply(ctx._("There are no free appointment times in the next two weeks. "
                                    "Please contact the office or talk to a person."),
                              buttons=[[flows.route_button(ctx, "contact")], [flows.route_button(ctx, "human")]])]
        rows = [[ctx.button(ctx._(MODES[m]), f"b:m:{m}")] for m in modes]
        return [ctx.reply(ctx._("How would you like to talk to a counsellor? This is AVRR counselling: it creates "
                                "no obligation."), title=ctx._("Book an appointment"), buttons=rows)]

    async def _days(self, ctx: Context, mode: str) -> list[Reply]:
        days: dict[str, dt.date] = {}
        zone = self.zone(ctx)
        for slot in await self._open(ctx):
            if slot.mode == mode:
                local = slot.start.astimezone(zone).date()
                days.setdefault(local.strftime("%Y%m%d"), local)
        if not days:
            return [ctx.reply(ctx._("Sorry, this time is no longer available.")), *await self._modes(ctx)]
        rows = [[ctx.button(format_date(d, format="EEEE d MMMM", locale=ctx.lang), f"b:d:{mode}:{key}")]
                for key, d in list(days.items())[:7]]
        if ctx.engine.content.programme.timezones:
            rows.append([ctx.button("🕒 " + ctx._("Times in my time zone"), f"b:z:{mode}")])
        return [ctx.reply(ctx._("Which day?") + f"\n({str(zone).replace('_', ' ')})", buttons=rows)]

    async def _times(self, ctx: Context, mode: str, day: str) -> list[Reply]:
        zone = self.zone(ctx)
        choices = [s for s in await self._open(ctx)
                   if s.mode == mode and s.start.astimezone(zone).strftime("%Y%m%d") == day]
        if not choices:
            return [ctx.reply(ctx._("Sorry, this time is no longer available.")), *await self._days(ctx, mode)]
        rows = [[ctx.button(format_time(s.start.astimezone(zone).time(), format="short", locale=ctx.lang),
                            f"b:s:{s.id}")] for s in choices[:8]]
        return [ctx.reply(ctx._("Which time?"), buttons=rows)]

    def _confirm(self, ctx: Context, slot: Slot) -> Reply:
        text = ctx._("Please confirm: {when}, {mode}, {office}.").format(
            when=when(slot.start, slot.minutes, ctx.lang, self.zone(ctx)),
                mode=ctx._(MODES.get(slot.mode, slot.mode)),
            office=slot.office)
        return ctx.reply(text, buttons=[[ctx.button(ctx._("Confirm"), f"b:c:{slot.id}")],
                                        [ctx.button(ctx._("Choose another time"), f"b:m:{slot.mode}")]])

    async def _book(self, ctx: Context, slot: Slot) -> list[Reply]:
        topic = ctx.session.get("route") or "-"
        result, ref = await self.slots(ctx).book(slot, ctx.pid, ctx.address, ctx.lang, topic, self.now())
        if result == "ok":
            await ctx.engine.count(ctx, "booking")  # aggregate reach per campaign; nothing about the person
            text = ctx._("Your appointment is booked: {when}, {mode}, {office}. Your reference is {ref}.").format(
                when=when(slot.start, slot.minutes, ctx.lang, self.zone(ctx)),
                mode=ctx._(MODES.get(slot.mode, slot.mode)),
                office=slot.office, ref=ref)
            return [ctx.reply(text + "\n\n" + ctx._("I will remind you 24 hours and 1 hour before."),
                              buttons=self._manage(ctx))]
        if result == "has":
            found = await self.slots(ctx).mine(ctx.pid)
            return [await self._show(ctx, *found)] if found else await self._modes(ctx)
        return [ctx.reply(ctx._("Sorry, this time was just taken. Here are the next free times:")),
                *await self._times(ctx, slot.mode, slot.start.astimezone(self.zone(ctx)).strftime("%Y%m%d"))]

    def _manage(self, ctx: Context) -> list[list]:
        return [[ctx.button(ctx._("Change the time"), "b:r")], [ctx.button(ctx._("Cancel my appointment"), "b:x")],
                [ctx.button(ctx._("Main menu"), "m")]]

    async def _show(self, ctx: Context, ref: str, appt: dict[str, str]) -> Reply:
        slot = await self.slots(ctx).get(appt.get("slot", ""))
        if slot is None:
            return ctx.reply(ctx._("You have no appointment booked."))
        text = ctx._("Your appointment: {when}, {mode}, {office}. Reference {ref}.").format(
            when=when(slot.start, slot.minutes, ctx.lang, self.zone(ctx)),
                mode=ctx._(MODES.get(slot.mode, slot.mode)),
            office=slot.office, ref=ref)
        return ctx.reply(text, buttons=self._manage(ctx))
