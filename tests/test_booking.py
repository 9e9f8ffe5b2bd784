"""Appointments: booking in the chat, atomic slots, cancel, reminders, persistence and edge cases."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
from zoneinfo import ZoneInfo

from bot.booking import Booking, Slots, when
from bot.core import Event, Reply
from bot.engine import Engine
from bot.redis_server import RedisServer
from bot.security import pseudonym, sign
from bot.store import connect
from tests.conftest import AVRR, avrr_env

UTC = dt.timezone.utc


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


def press_label(reply: Reply, label: str) -> str:
    return next(b.action for row in reply.buttons for b in row if b.label == label)


async def add_slot(engine: Engine, hours: float, mode: str = "phone", langs=("en", "fr")) -> str:
    slots = Slots(engine.store.redis, 7)
    return await slots.add(now() + dt.timedelta(hours=hours), 45, "Main office", mode, list(langs), "Counsellor A")


async def book_first(engine: Engine, user: str, lang: str = "en") -> list[Reply]:
    """Book through the buttons: route, mode, day, time, confirm."""
    replies = await engine.handle(Event(user=user, kind="text", text="/start", client_lang=lang, chat=f"{user}"))
    pid = pseudonym(engine.settings.secret, user)
    replies = await engine.handle(Event(user=user, kind="button", button=sign(engine.settings.secret, "t:book", pid),
                                        client_lang=lang, chat=user))
    for _ in range(4):  # mode -> day -> time -> confirm
        first = replies[-1].buttons[0][0]
        replies = await engine.handle(Event(user=user, kind="button", button=first.action, client_lang=lang, chat=user))
    return replies


async def test_a_person_books_sees_and_cancels_in_their_language(engine: Engine) -> None:
    await add_slot(engine, 48)
    replies = await book_first(engine, "tg:5001", "fr")
    fr = engine.catalogs.gettext("fr")
    assert replies[-1].lang == "fr"
    assert fr("Your appointment is booked: {when}, {mode}, {office}. Your reference is {ref}.").split("{")[0] \
        in replies[-1].text
    status = await engine.handle(Event(user="tg:5001", kind="text", text="/start", client_lang="fr"))
    status = await engine.handle(Event(user="tg:5001", kind="button", client_lang="fr", button=sign(
        engine.settings.secret, "t:appointment_status", pseudonym(engine.settings.secret, "tg:5001"))))
    assert fr("Your appointment: {when}, {mode}, {office}. Reference {ref}.").split("{")[0] in status[-1].text
    cancelled = await engine.handle(Event(user="tg:5001", kind="button", client_lang="fr",
                                          button=press_label(status[-1], fr("Cancel my appointment"))))
    assert cancelled[0].text == fr("Your appointment is cancelled.")
    slots = await Slots(engine.store.redis, 7).upcoming(now())
    assert [s.state for s in slots] == ["open"], "cancelling frees the slot at once"
    counters = await engine.store.counters()
    assert counters[dt.date.today().isoformat()].get("-|fr|-|booking") == 1, "reach counts the booking, no id"
    assert await engine.store.redis.zcard("avrr:remind") == 0, "and drops its reminders"


async def test_100_concurrent_attempts_on_one_slot_make_exactly_one_booking(engine: Engine) -> None:
    sid = await add_slot(engine, 30)
    other = await add_slot(engine, 31)
    slots = Slots(engine.store.redis, 7)
    slot = await slots.get(sid)
    results = await asyncio.gather(*(slots.book(slot, f"pid{i}", f"tg:{i}", "en", "-") for i in range(100)))
    assert sum(1 for r, _ in results if r == "ok") == 1
    assert {r for r, _ in results} == {"ok", "taken"}
    # through the engine, the losers are offered the next free time
    booking = next(c for c in engine.capabilities if isinstance(c, Booking))
    assert booking
    user = "tg:late"
    pid = pseudonym(engine.settings.secret, user)
    data = sign(engine.settings.secret, f"b:c:{sid}", pid)
    replies = await engine.handle(Event(user=user, kind="button", button=data, client_lang="en"))
    assert replies[0].text == "Sorry, this time was just taken. Here are the next free times:"
    assert any(b.action.startswith(f"b:s:{other}") for row in replies[-1].buttons for b in row)


async def test_one_appointment_per_person_and_past_or_removed_slots(engine: Engine) -> None:
    slots = Slots(engine.store.redis, 7)
    first, second = await add_slot(engine, 50), await add_slot(engine, 51)
    assert (await slots.book(await slots.get(first), "p1", "tg:1", "en", "-"))[0] == "ok"
    assert (await slots.book(await slots.get(second), "p1", "tg:1", "en", "-"))[0] == "has"
    later = await slots.get(second)
    assert (await slots.book(later, "p2", "tg:2", "en", "-", now=later.start + dt.timedelta(minutes=1)))[0] == "past"
    gone = await add_slot(engine, 52)
    assert await slots.remove(gone)
    user = "tg:chooser"
    pid = pseudonym(engine.settings.secret, user)
    data = sign(engine.settings.secret, f"b:s:{gone}", pid)
    replies = await engine.handle(Event(user=user, kind="button", button=data, client_lang="en"))
    assert replies[0].text == "Sorry, this time is no longer available."
    assert not await slots.remove(first), "a booked slot cannot be removed"


async def test_reminders_fire_once_even_with_two_workers_and_not_after_cancel(engine: Engine) -> None:
    slots = Slots(engine.store.redis, 7)
    start = now() + dt.timedelta(hours=30)
    sid = await slots.add(start, 45, "Main office", "phone", ["sw"], "Counsellor A")
    result, ref = await slots.book(await slots.get(sid), "pidR", "tg:777", "sw", "reintegration")
    assert result == "ok"
    assert await slots.claim_due(start - dt.timedelta(hours=25)) == []
    at_24h = start - dt.timedelta(hours=24) + dt.timedelta(seconds=1)
    first, second = await asyncio.gather(slots.claim_due(at_24h), slots.claim_due(at_24h))
    assert sorted(first + second) == [(ref, "24h")]
    await slots.cancel("pidR")
    assert await slots.claim_due(start) == []


async def test_outbox_sends_the_reminder_in_the_persons_language(engine: Engine, monkeypatch) -> None:
    slots = Slots(engine.store.redis, 7)
    start = now() + dt.timedelta(hours=2)
    sid = await slots.add(start, 45, "Main office", "video", ["ar"], "Counsellor B")
    result, ref = await slots.book(await slots.get(sid), "pidO", "tg:888", "ar", "-")
    assert result == "ok"
    assert await engine.outbox() == [], "nothing is due yet"
    monkeypatch.setattr(Booking, "now", staticmethod(lambda: start - dt.timedelta(minutes=59)))
    due = await engine.outbox()  # the 1-hour reminder is due
    assert [(addr, r[0].lang) for addr, r in due] == [("tg:888", "ar")]
    assert ref in due[0][1][0].text
    assert await engine.outbox() == [], "sent once"


async def test_forget_cancels_the_appointment(engine: Engine) -> None:
    await add_slot(engine, 72)
    await book_first(engine, "tg:5002")
    await engine.handle(Event(user="tg:5002", kind="command", command="forget"))
    assert [s.state for s in await Slots(engine.store.redis, 7).upcoming(now())] == ["open"]


def test_times_are_shown_in_the_office_time_zone_across_daylight_saving() -> None:
    tz = ZoneInfo("Europe/Berlin")
    before = dt.datetime(2026, 10, 20, 7, 0, tzinfo=UTC)  # 09:00 summer time
    after = dt.datetime(2026, 10, 27, 8, 0, tzinfo=UTC)  # 09:00 winter time
    assert "09:00" in when(before, 45, "fr", tz) and "09:00" in when(after, 45, "fr", tz)


def test_slots_from_the_command_line_repeat_weekly_and_skip_holidays(redis_server: RedisServer) -> None:
    env = avrr_env(redis_server.url)
    env["OFFICE_TIMEZONE"] = "Europe/Berlin"
    start = (dt.date.today() + dt.timedelta(days=1)).isoformat() + "T09:00"
    holiday = (dt.date.today() + dt.timedelta(days=8)).isoformat()
    result = subprocess.run([AVRR, "slots", "add", "--start", start, "--mode", "office", "--langs", "fa,ar",
                             "--weekly", "3", "--except", holiday],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-1500:]
    assert "2 slots added" in result.stdout
    listed = subprocess.run([AVRR, "slots", "list", "--days", "30"], capture_output=True, text=True, timeout=120,
                            env=env)
    lines = [line for line in listed.stdout.splitlines() if "fa,ar" in line]
    assert len(lines) == 2 and all("09:00" in line for line in lines)
    sid = lines[0].split()[0]
    removed = subprocess.run([AVRR, "slots", "remove", sid], capture_output=True, text=True, timeout=120, env=env)
    assert removed.returncode == 0 and f"slot {sid} removed" in removed.stdout
    bad = subprocess.run([AVRR, "slots", "add", "--start", "tomorrow", "--mode", "office", "--langs", "fa"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2 and bad.stderr.startswith("avrr: configuration error:")
    client = __import__("redis").Redis.from_url(redis_server.url)
    for key in client.scan_iter("avrr:slot*"):
        client.delete(key)
    client.close()


async def test_bookings_survive_a_redis_restart(tmp_path) -> None:
    server = RedisServer(tmp_path / "redis").start()
    try:
        redis = connect(server.url)
        slots = Slots(redis, 7)
        sid = await slots.add(now() + dt.timedelta(days=2), 45, "Main office", "phone", ["en"], "Counsellor A")
        result, ref = await slots.book(await slots.get(sid), "pidP", "tg:9", "en", "-")
        assert result == "ok"
        await redis.close()
        server.stop()
        server.start()
        redis = connect(server.url)
        assert (await Slots(redis, 7).mine("pidP"))[0] == ref
        due = (await Slots(redis, 7).get(sid)).start - dt.timedelta(hours=24) + dt.timedelta(seconds=1)
        assert await Slots(redis, 7).claim_due(due) == [(ref, "24h")], "reminders survive the restart too"
        await redis.close()
    finally:
        server.stop()


async def test_a_person_sees_times_in_the_time_zone_they_choose(engine: Engine) -> None:
    import dataclasses

    engine.content.programme = dataclasses.replace(engine.content.programme, timezones=["Asia/Kabul"])
    start = (now() + dt.timedelta(days=2)).replace(hour=6, minute=0, second=0, microsecond=0)
    await Slots(engine.store.redis, 7).add(start, 45, "Main office", "phone", ["en"], "Counsellor A")
    user = "tg:tz"
    pid = pseudonym(engine.settings.secret, user)
    days = await engine.handle(Event(user=user, kind="button", button=sign(engine.settings.secret, "b:m:phone", pid),
                                     client_lang="en"))
    zones = await engine.handle(Event(user=user, kind="button", client_lang="en",
                                      button=press_label(days[-1], "🕒 Times in my time zone")))
    days = await engine.handle(Event(user=user, kind="button", client_lang="en",
                                     button=press_label(zones[-1], "Asia/Kabul")))
    assert "Asia/Kabul" in days[-1].text
    times = await engine.handle(Event(user=user, kind="button", client_lang="en", button=days[-1].buttons[0][0].action))
    assert times[-1].buttons[0][0].label.replace("\u202f", " ") == "10:30 AM"  # 06:00 UTC is 10:30 in Kabul


async def test_tampered_booking_buttons_change_nothing(engine: Engine) -> None:
    sid = await add_slot(engine, 40)
    user = "tg:tamper"
    forged = f"b:c:{sid}|" + "0" * 10
    replies = await engine.handle(Event(user=user, kind="button", button=forged, client_lang="en"))
    assert replies[0].text == "This button has expired. Here is the menu again."
    assert (await Slots(engine.store.redis, 7).get(sid)).state == "open"


async def test_book_reschedule_and_cancel_in_every_language(engine: Engine) -> None:
    for lang in engine.languages:
        await Slots(engine.store.redis, 7).add(now() + dt.timedelta(hours=60), 45, "Main office", "video", [lang],
                                               "Counsellor A")
        await Slots(engine.store.redis, 7).add(now() + dt.timedelta(hours=61), 45, "Main office", "video", [lang],
                                               "Counsellor A")
        user = f"tg:every-{lang}"
        _ = engine.catalogs.gettext(lang)
        booked = await book_first(engine, user, lang)
        assert booked[-1].lang == lang and _("Main menu") in [b.label for row in booked[-1].buttons for b in row]
        moved = await engine.handle(Event(user=user, kind="button", client_lang=lang,
                                          button=press_label(booked[-1], _("Change the time"))))
        assert moved[0].text.startswith(_("Your appointment is cancelled. Choose a new time:"))
        cancelled = await engine.handle(Event(user=user, kind="button", client_lang=lang, button=sign(
            engine.settings.secret, "b:x", pseudonym(engine.settings.secret, user))))
        assert cancelled[0].text == _("You have no appointment booked.")
