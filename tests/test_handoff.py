"""Human handoff end to end: real python-telegram-bot, a fake Bot API server, real Redis and model.

The person (a private chat) and the counsellors (a supergroup with forum topics, or without)
both talk to the bot over HTTP; the test reads what the bot sent where.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import yaml

from bot.app import capabilities
from bot.channels.telegram import run_polling
from bot.config import ROOT, Settings
from bot.content import Content
from bot.engine import Engine
from bot.flows import LABELS
from bot.handoff import BOOK, END, SHARE, SIGNATURE, WAIT, Handoff
from bot.i18n import Catalogs
from bot.store import Store
from nlu.interpreter import Interpreter
from tests.conftest import dump_redis
from tests.fake_telegram import FakeBotAPI, buttons

TOKEN = "123456:TEST-token"
GROUP = -1001234567890
AMINA, BORIS, STRANGER = 501, 502, 503  # two counsellors, and someone who left the group
ALWAYS = tuple((day, 0, 24 * 60) for day in range(7))
CLOSED = ("The counsellor has closed this chat. Thank you for writing. You can ask me anything again, "
          "or ask for a person at any time.")
LANGS = ["en", "fr", "es", "ar", "fa", "ru", "sw", "am"]


def make_engine(settings: Settings, redis: Any, interpreter: Interpreter, catalogs: Catalogs, **changes: Any) -> Engine:
    """An engine whose deployment has a counsellors' group (and open office hours unless changed)."""
    settings = dataclasses.replace(settings, **{"counsellor_chat_id": GROUP, "office_hours": ALWAYS, **changes})
    return Engine(settings, Store(redis, settings.session_ttl), interpreter, Content(settings.content_dir), catalogs,
                  capabilities(settings))


class Bot:
    """One running bot process (polling the fake server) that a test can stop and start again."""

    def __init__(self, api: FakeBotAPI, engine: Engine) -> None:
        self.api, self.engine = api, engine
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(run_polling(engine, TOKEN, api.url, self.stop, poll_timeout=1,
                                                    outbox_every=0.2))

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 30)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    server = FakeBotAPI(TOKEN)
    await server.start()
    server.members[STRANGER] = "left"
    server.names.update({AMINA: "Amina", BORIS: "Boris", STRANGER: "Xavier"})
    yield server
    await server.stop()


@pytest.fixture
async def start_bot(api: FakeBotAPI, settings: Settings, redis: Any, interpreter: Interpreter,
                    catalogs: Catalogs) -> AsyncIterator[Callable[..., Bot]]:
    """Start a bot with a counsellors' group (settings can be changed per call); all stopped at the end."""
    running: list[Bot] = []

    def start(**changes: Any) -> Bot:
        bot = Bot(api, make_engine(settings, redis, interpreter, catalogs, **changes))
        running.append(bot)
        return bot

    yield start
    for bot in running:
        if not bot.task.done():
            await bot.close()


def handoff_of(engine: Engine) -> Handoff:
    return next(c for c in engine.capabilities if isinstance(c, Handoff))


def press_label(message: dict[str, Any], label: str) -> str:
    found = [data for text, data in buttons(message) if text == label]
    assert found, f"no button {label!r} in {buttons(message)}"
    return found[0]


async def ask_for_person(api: FakeBotAPI, engine: Engine, user: int, lang: str) -> tuple[dict[str, Any], int]:
    """/start in a language, one typed message, then "Talk to a person" from the menu."""
    _ = engine.catalogs.gettext(lang)
    before = len(api.sent(user))
    await api.send_text(user, f"/start {lang}")
    welcome = (await api.wait_sent(user, before + 1))[-1]
    await api.send_text(user, first_example(lang, "about"))
    await api.wait_sent(user, before + 2)
    count = len(api.sent(user))
    await api.press(user, welcome, press_label(welcome, _(LABELS["human"])))
    status = (await api.wait_sent(user, count + 1))[-1]
    return status, len(api.sent(user))


def first_example(lang: str, intent: str) -> str:
    """A training example of an intent in a language (the model knows these well)."""
    data = yaml.safe_load((ROOT / "nlu" / "data" / f"{lang}.yml").read_text(encoding="utf-8"))
    block = next(b for b in data["nlu"] if b.get("intent") == intent)
    return block["examples"].strip().splitlines()[0].lstrip("- ").strip()


def plain(text: str) -> str:
    """Message text without HTML escapes and the bidi marks added for right-to-left readers."""
    return html.unescape(text).translate({ord(c): None for c in "\u200f\u2066\u2067\u2068\u2069"})


def summary_message(api: FakeBotAPI) -> dict[str, Any]:
    return next(m for m in reversed(api.sent(GROUP)) if m["text"].startswith("New request #"))


def topic_id(api: FakeBotAPI) -> int:
    return int(summary_message(api)["message_thread_id"])


def answers(api: FakeBotAPI) -> list[tuple[str, bool]]:
    return [(p.get("text", ""), bool(p.get("show_alert"))) for p in api.params_of("answerCallbackQuery")]


@pytest.mark.parametrize("lang", LANGS)
async def test_full_handoff_in_every_language(lang: str, api: FakeBotAPI, start_bot: Callable[..., Bot]) -> None:
    bot = start_bot()
    engine, person = bot.engine, 6000 + LANGS.index(lang)
    _ = engine.catalogs.gettext(lang)
    assert lang == "en" or _("A counsellor has been asked to join this chat.") != \
        "A counsellor has been asked to join this chat.", "the person's side is translated"

    # The person asks for a person: a topic is opened with a summary and Claim/Close buttons.
    status, count = await ask_for_person(api, engine, person, lang)
    assert _("A counsellor has been asked to join this chat.") in plain(status["text"])
    assert _("You are number {place} in the queue.").format(place=1) in plain(status["text"])
    topic = api.params_of("createForumTopic")[-1]
    assert topic["chat_id"] == GROUP and topic["name"].startswith("#") and f" · {lang} · " in topic["name"]
    summary = summary_message(api)
    assert summary["message_thread_id"] and f"Language: {lang}" in summary["text"]
    assert "URGENT" not in summary["text"]
    claim, close = (data for _label, data in buttons(summary))

    # The person agrees to share their last messages: the typed message is copied into the topic.
    await api.press(person, status, press_label(status, _(SHARE)))
    copies = await api.wait_for(lambda: api.copies(GROUP))
    assert copies[0]["from_chat_id"] == person and copies[0]["message_thread_id"] == topic_id(api)

    # Amina claims; Boris's claim is refused and tells him who has it.
    await api.press(AMINA, summary, claim)
    await api.wait_for(lambda: any(t.startswith("You claimed") for t, _a in answers(api)))
    await api.wait_sent(person, count + 2)  # "thank you, shared", then "a counsellor is with you"
    assert _("A counsellor is with you now. Write your messages here.") in plain(api.sent(person)[-1]["text"])
    await api.press(BORIS, summary, claim)
    refusal = await api.wait_for(lambda: [a for a in answers(api) if "already claimed by Amina" in a[0]])
    assert refusal[0][1], "the refusal pops up for Boris"

    # The person writes and sends a photo: both are copied into the topic; the bot says nothing.
    sent_before = len(api.sent(person))
    await api.send_text(person, "please can you help me with my papers")
    await api.send_media(person, "photo", caption="my letter")
    await api.send_media(person, "voice")
    copies = await api.wait_for(lambda: api.copies(GROUP)[2:] if len(api.copies(GROUP)) >= 4 else None)
    assert all(c["from_chat_id"] == person and c["message_thread_id"] == topic_id(api) for c in copies)

    # Amina answers in the topic, with text and a photo: both reach the person signed "Counsellor".
    await api.group_text(AMINA, GROUP, "Hello, I am here to help you.", thread=topic_id(api))
    reply = (await api.wait_sent(person, sent_before + 1))[-1]
    assert reply["text"].startswith(f"<b>{_(SIGNATURE)}:</b>") and "I am here to help you" in reply["text"]
    assert "Amina" not in reply["text"]
    await api.send_media(AMINA, "photo", caption="the form", chat=api._chat(GROUP), thread=topic_id(api))
    out = await api.wait_for(lambda: api.copies(person))
    assert out[0]["from_chat_id"] == GROUP and _(SIGNATURE) in out[0]["caption"] and "the form" in out[0]["caption"]
    assert "Amina" not in out[0]["caption"]
    await api.send_media(AMINA, "document", chat=api._chat(GROUP), thread=topic_id(api))
    out = await api.wait_for(lambda: api.copies(person)[1:])
    assert out[0]["caption"].startswith(f"<b>{_(SIGNATURE)}:</b>"), "a file without caption is signed too"

    # Boris's message and an internal note are not relayed.
    await api.group_text(BORIS, GROUP, "I can take the next one", thread=topic_id(api))
    await api.wait_for(lambda: any("Not sent" in m["text"] for m in api.sent(GROUP)))
    await api.group_text(AMINA, GROUP, "// she may need a lawyer", thread=topic_id(api))

    # Amina closes: the person gets a closing message and the main menu; the topic is closed.
    count = len(api.sent(person))
    await api.press(AMINA, summary, close)
    closing = (await api.wait_sent(person, count + 1))[-1]
    assert _(CLOSED) in plain(closing["text"])
    assert _(LABELS["human"]) in [label for label, _d in buttons(closing)]
    await api.wait_for(lambda: api.params_of("closeForumTopic"))
    assert not any("lawyer" in m.get("text", "") for m in api.sent(person))

    # The bot answers normally again.
    await api.send_text(person, first_example(lang, "about"))
    answer = (await api.wait_sent(person, count + 2))[-1]
    assert _("Source: {sources}").split("{")[0].strip() in plain(answer["text"])
    assert len(api.copies(GROUP)) == 4, "nothing more is copied to the counsellors"
    assert not api.unknown, api.unknown


async def test_timeout_offers_a_booking_and_reminds_the_group(api: FakeBotAPI, start_bot: Callable[..., Bot]) -> None:
    bot = start_bot(handoff_remind_minutes=1, handoff_timeout_minutes=2)
    engine, person = bot.engine, 7001
    _ = engine.catalogs.gettext("en")
    _status, count = await ask_for_person(api, engine, person, "en")
    handoff_of(engine).clock = lambda: time.time() + 3 * 60  # three minutes later, nobody has claimed it
    offer = (await api.wait_sent(person, count + 1))[-1]
    assert _("No counsellor is free right now.") in offer["text"]
    assert [label for label, _d in buttons(offer)] == [_(BOOK), _(WAIT), _(END)]
    await api.wait_for(lambda: any(m["text"].startswith("⏰") for m in api.sent(GROUP)))
    await asyncio.sleep(0.5)
    assert len(api.sent(person)) == count + 1, "the offer is made once"

    await api.press(person, offer, press_label(offer, _(BOOK)))
    booking = (await api.wait_sent(person, count + 2))[-1]
    assert "booking" in " ".join(m["text"] for m in api.sent(GROUP)[-3:])
    assert booking["text"] != offer["text"]
    assert not await engine.store.redis.keys("avrr:hop:*"), "the request is closed"


async def test_restart_mid_handoff_keeps_relaying(api: FakeBotAPI, start_bot: Callable[..., Bot]) -> None:
    first = start_bot()
    person = 7002
    _status, count = await ask_for_person(api, first.engine, person, "fr")
    summary = summary_message(api)
    await api.press(AMINA, summary, buttons(summary)[0][1])
    await api.wait_sent(person, count + 1)
    await first.close()

    second = start_bot()  # a new process: nothing in memory, everything in Redis
    await api.group_text(AMINA, GROUP, "Bonjour, je suis là.", thread=topic_id(api))
    relayed = (await api.wait_sent(person, count + 2))[-1]
    fr = second.engine.catalogs.gettext("fr")
    assert relayed["text"].startswith(f"<b>{fr(SIGNATURE)}:</b>") and "je suis là" in relayed["text"]
    await api.send_text(person, "merci, j'ai une question")
    await api.wait_for(lambda: api.copies(GROUP))


async def test_a_stranger_cannot_claim_answer_or_close(api: FakeBotAPI, start_bot: Callable[..., Bot]) -> None:
    bot = start_bot()
    person = 7003
    status, count = await ask_for_person(api, bot.engine, person, "en")
    summary = summary_message(api)
    claim, close = (data for _label, data in buttons(summary))
    await api.press(STRANGER, summary, claim)
    await api.press(STRANGER, summary, close)
    await api.wait_for(lambda: len([a for a in answers(api) if "Only the office's counsellors" in a[0]]) == 2)
    await api.group_text(STRANGER, GROUP, "hi, I am from the embassy", thread=topic_id(api))
    await api.wait_for(lambda: any("Only the office's counsellors" in m["text"] for m in api.sent(GROUP)))
    assert len(api.sent(person)) == count and not api.copies(person), "nothing reached the person"
    record = await bot.engine.store.redis.hgetall(f"avrr:ho:{summary['text'].split('#')[1].split()[0]}")
    assert record and "owner" not in record

    # A forged desk button (signed for someone else) is refused too.
    await api.press(AMINA, summary, status["reply_markup"]["inline_keyboard"][-1][0]["callback_data"])
    await api.wait_for(lambda: any("not valid" in a[0] for a in answers(api)))


async def test_reply_threads_when_the_group_has_no_topics(api: FakeBotAPI, start_bot: Callable[..., Bot]) -> None:
    api.forum = False
    bot = start_bot()
    person = 7004
    _status, count = await ask_for_person(api, bot.engine, person, "ru")
    summary = summary_message(api)
    assert "message_thread_id" not in summary
    await api.send_text(person, "здравствуйте мне нужна помощь")
    copy = (await api.wait_for(lambda: api.copies(GROUP)))[0]
    assert copy["reply_parameters"]["message_id"] == summary["message_id"]

    await api.group_text(AMINA, GROUP, "Здравствуйте!", reply_to=summary)  # replying claims and relays
    relayed = (await api.wait_sent(person, count + 3))[-1]  # "passed on", "a counsellor is with you", the answer
    assert "Здравствуйте!" in plain(relayed["text"])
    await api.group_text(AMINA, GROUP, "/close", reply_to=summary)
    ru = bot.engine.catalogs.gettext("ru")
    closing = (await api.wait_sent(person, count + 4))[-1]
    assert ru(CLOSED) in plain(closing["text"])


async def test_ordinary_group_talk_is_ignored(api: FakeBotAPI, start_bot: Callable[..., Bot]) -> None:
    start_bot()
    await api.group_text(AMINA, GROUP, "coffee anyone?")
    await api.group_text(AMINA, GROUP, "in some other topic", thread=12345)
    await api.send_text(9999, "/start en")  # something to wait for, after the group messages
    await api.wait_sent(9999, 1)
    assert api.sent(GROUP) == [] and not api.copies(9999)


async def test_danger_is_urgent_and_goes_first(api: FakeBotAPI, start_bot: Callable[..., Bot]) -> None:
    bot = start_bot()
    engine = bot.engine
    _waiting, _n = await ask_for_person(api, engine, 7005, "en")
    await api.send_text(7006, "/start fa")
    await api.wait_sent(7006, 1)
    await api.send_text(7006, "کمک کنید پاسپورتم را گرفتند و مرا حبس کرده‌اند")  # "help, they took my passport…"
    await api.wait_for(lambda: len(api.params_of("createForumTopic")) == 2)
    title = api.params_of("createForumTopic")[-1]["name"]
    assert title.startswith("🔴 #") and " · fa · emergency" in title
    await api.wait_for(lambda: "URGENT" in summary_message(api)["text"])
    fa = engine.catalogs.gettext("fa")
    first = fa("You are number {place} in the queue.").format(place=1)
    await api.wait_for(lambda: any(first in plain(m["text"]) for m in api.sent(7006)))

    # The person who asked first is now second.
    _ = engine.catalogs.gettext("en")
    count = len(api.sent(7005))
    await api.send_text(7005, "/start en")
    await api.wait_sent(7005, count + 1)
    handoff = handoff_of(engine)
    ref = await engine.store.redis.get(next(iter(await engine.store.redis.keys("avrr:hop:*"))))
    places = sorted([await handoff.place(engine, r) for r in await engine.store.redis.zrange(handoff.QUEUE, 0, -1)])
    assert places == [1, 2] and ref


async def test_stop_and_forget_end_the_handoff(api: FakeBotAPI, start_bot: Callable[..., Bot]) -> None:
    bot = start_bot()
    engine = bot.engine
    _ = engine.catalogs.gettext("sw")
    _status, count = await ask_for_person(api, engine, 7007, "sw")
    await api.send_text(7007, "/stop")
    ended = (await api.wait_sent(7007, count + 1))[-1]
    assert _("The chat with the counsellor has ended. You can ask me again at any time.") in plain(ended["text"])
    await api.wait_for(lambda: any("The person ended the chat" in m["text"] for m in api.sent(GROUP)))

    _status, count = await ask_for_person(api, engine, 7007, "sw")
    await api.send_text(7007, "/forget")
    await api.wait_sent(7007, count + 1)
    await api.wait_for(lambda: any("deleted their data" in m["text"] for m in api.sent(GROUP)))
    assert not [k for k, _t, _v in await dump_redis(engine.store.redis) if k.startswith("avrr:ho")], \
        "nothing of the handoff is left"


async def test_outside_office_hours_a_booking_is_offered_first(api: FakeBotAPI, start_bot: Callable[..., Bot]) -> None:
    bot = start_bot(office_hours=())  # never open
    engine = bot.engine
    _ = engine.catalogs.gettext("es")
    status, _count = await ask_for_person(api, engine, 7008, "es")
    assert _("The counsellors are not in the office now. Office hours: {hours}.").split(".")[0] in plain(status["text"])
    assert not api.params_of("createForumTopic")
    await api.press(7008, status, press_label(status, _("Leave a request for the counsellors")))
    await api.wait_for(lambda: api.params_of("createForumTopic"))


async def test_nothing_typed_is_kept_and_a_429_loses_nothing(api: FakeBotAPI, start_bot: Callable[..., Bot]) -> None:
    bot = start_bot()
    _status, _count = await ask_for_person(api, bot.engine, 7009, "en")
    summary = summary_message(api)
    await api.press(AMINA, summary, buttons(summary)[0][1])
    refused = api.fail_next("copyMessage", 1, retry_after=1)  # the group hit Telegram's limit once
    await api.send_text(7009, "my secret address is 12 Zebra Street")
    await api.group_text(AMINA, GROUP, "your secret appointment code is ZEBRA", thread=topic_id(api))
    await api.wait_for(lambda: len(api.copies(GROUP)) >= 1 and "ZEBRA" in api.sent(7009)[-1]["text"])
    assert len(refused) == 1 and len(api.copies(GROUP)) == 1, "after a 429 the relay is retried, and arrives once"
    for key, ttl, values in await dump_redis(bot.engine.store.redis):
        assert ttl > 0, key
        assert not any("zebra" in v.lower() for v in values), (key, values)
        # The chat id is kept only where the relay needs it: the open request's address.
        assert not any("7009" in v for v in values if not v.startswith("addr=")), (key, values)



async def test_a_person_who_blocked_the_bot_is_reported_to_the_counsellor(
        api: FakeBotAPI, start_bot: Callable[..., Bot]) -> None:
    bot = start_bot()
    person = 7010
    await ask_for_person(api, bot.engine, person, "en")
    summary = summary_message(api)
    await api.press(AMINA, summary, buttons(summary)[0][1])
    await api.wait_for(lambda: any("claimed" in m["text"] for m in api.sent(GROUP)))
    api.blocked.add(person)
    await api.group_text(AMINA, GROUP, "Are you still there?", thread=topic_id(api))
    await api.wait_for(lambda: any("blocked the bot" in m["text"] for m in api.sent(GROUP)))
    await api.group_text(AMINA, GROUP, "/close", thread=topic_id(api))
    await api.wait_for(lambda: api.params_of("closeForumTopic"))
    assert not await bot.engine.store.redis.keys("avrr:hop:*"), "the request is closed all the same"
