"""End to end through the real python-telegram-bot, over real HTTP, against a fake Bot API."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import re
from collections.abc import AsyncIterator

import pytest

from bot.channels.telegram import run_polling, split_message, to_html
from bot.core import Event, Reply
from bot.engine import Engine
from tests.fake_telegram import FakeBotAPI, buttons

TOKEN = "123456:TEST-token"
USER = 4242


@pytest.fixture
async def telegram(engine: Engine) -> AsyncIterator[FakeBotAPI]:
    """The bot polling a fake Bot API server; stopped cleanly after the test."""
    api = FakeBotAPI(TOKEN)
    await api.start()
    stop = asyncio.Event()
    task = asyncio.create_task(run_polling(engine, TOKEN, api.url, stop, poll_timeout=1))
    try:
        yield api
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await api.stop()


async def test_start_with_payload_question_and_button(telegram: FakeBotAPI, engine: Engine) -> None:
    api = telegram
    fa = engine.catalogs.gettext("fa")
    # /start with a deep-link payload: Farsi, topic reintegration.
    await api.send_text(USER, "/start fa_reintegration", language_code="en")
    sent = await api.wait_sent(USER, 2)
    assert fa("Privacy") != "Privacy"  # the catalog is really translated
    assert sent[0]["text"].lstrip("\u200f").startswith(fa("Hello! I answer questions about voluntary return and "
                                                        "reintegration: going back to your country with help, "
                                                        "if you choose to.")[:20])
    answer = sent[1]
    assert answer["text"].startswith("\u200f<b>")  # RTL mark, bold title
    assert fa("Source: {sources}").split("{")[0].strip() in answer["text"]
    assert all(p.get("parse_mode") == "HTML" for p in api.params_of("sendMessage"))

    # A typed question (English words, but Farsi was chosen by the link: the link wins).
    await api.send_text(USER, "how does the return process work step by step", language_code="en")
    sent = await api.wait_sent(USER, 3)
    process, _ = engine.content.topic("process").text("fa")
    assert html.escape(process.title, quote=False) in sent[2]["text"]
    assert api.params_of("sendChatAction"), "the person sees 'typing…' while the bot thinks"

    # A button press: "More" on the answer shows page 2.
    more = [data for label, data in buttons(sent[2]) if label.endswith("▸")]
    assert more, "a long answer offers a 'more' button"
    await api.press(USER, sent[2], more[0])
    sent = await api.wait_sent(USER, 4)
    assert api.params_of("answerCallbackQuery"), "the button spinner is stopped"
    assert html.escape(process.pages[1][:40], quote=False) in sent[3]["text"]
    assert not api.unknown, f"bot called methods the fake server does not know: {api.unknown}"


async def test_commands_menu_sticker_and_forged_button(telegram: FakeBotAPI, engine: Engine) -> None:
    api = telegram
    user = USER + 1
    await api.send_text(user, "/start", language_code="fr")
    sent = await api.wait_sent(user, 1)
    fr = engine.catalogs.gettext("fr")
    assert fr("Who can apply?") in [label for label, _ in buttons(sent[0])]
    commands = api.params_of("setMyCommands")
    assert {c.get("language_code") for c in commands} >= {"fr", "ar", "am"}

    await api.send_sticker(user)
    sent = await api.wait_sent(user, 2)
    assert fr("I can only read text messages. Please type your question or tap a button.") in sent[1]["text"]

    await api.press(user, sent[0], "t:about|0000000000")  # forged signature
    sent = await api.wait_sent(user, 3)
    assert fr("This button has expired. Here is the menu again.") in sent[2]["text"]

    await api.edit_text(user, "who can apply")  # edited messages are ignored
    await api.send_text(user, "/help", language_code="fr")
    sent = await api.wait_sent(user, 4)
    assert len(sent) == 4 and "/forget" in sent[3]["text"]


def test_html_is_escaped_and_long_messages_split() -> None:
    reply = Reply(text="a < b & c > d\n" + ("word " * 2000), lang="en", title="Fish & chips")
    parts = split_message(to_html(reply))
    assert parts[0].startswith("<b>Fish &amp; chips</b>")
    assert "a &lt; b &amp; c &gt; d" in parts[0]
    assert len(parts) >= 3 and all(len(p) <= 4096 for p in parts)
    assert "".join(parts).replace(" ", "").count("word") == 2000


def test_rtl_replies_get_a_right_to_left_mark_per_line() -> None:
    html = to_html(Reply(text="IOM 2026\nsecond", lang="ar", rtl=True))
    assert all(line.startswith("\u200f") for line in html.split("\n"))


async def test_personal_messages_over_telegram_leave_no_trace(telegram: FakeBotAPI, engine: Engine, caplog) -> None:
    import logging

    from bot.logs import JsonFormatter
    from tests.conftest import dump_redis
    from tests.test_privacy import IDENTIFIERS, PERSONAL, SECRETS

    caplog.set_level(logging.DEBUG)
    user, sent = USER + 7, 0
    for lang in ("fa", "sw", "ru"):
        for text in [*PERSONAL[lang], *IDENTIFIERS]:
            await telegram.send_text(user, text, language_code=lang)
            sent += 1
            await telegram.wait_sent(user, sent)
            sent = len(telegram.sent(user))
    stored = " ".join(k + " " + " ".join(v) for k, _, v in await dump_redis(engine.store.redis)).lower()
    logs = "\n".join(JsonFormatter().format(r) for r in caplog.records).lower()
    assert '"route"' in logs and str(user) not in logs and str(user) not in stored
    for text in [*PERSONAL["fa"], *PERSONAL["sw"], *PERSONAL["ru"], *IDENTIFIERS, *SECRETS]:
        assert text.lower() not in stored and text.lower() not in logs, text


async def test_stats_only_in_the_counsellors_group(engine: Engine) -> None:
    import dataclasses

    group = {"id": -100777, "type": "supergroup", "title": "Counsellors"}
    engine.settings = dataclasses.replace(engine.settings, counsellor_chat_id=-100777)
    for i in range(6):
        await engine.handle(Event(user=f"tg:s{i}", kind="command", command="start",
                                  payload="1_fa_RI__kigoma-2026-11"))
    api = FakeBotAPI(TOKEN)
    await api.start()
    stop = asyncio.Event()
    task = asyncio.create_task(run_polling(engine, TOKEN, api.url, stop, poll_timeout=1))
    try:
        await api.send_text(555, "/stats", chat={"id": -100999, "type": "supergroup", "title": "Strangers"})
        await api.send_text(555, "/stats", chat=group)
        sent = await api.wait_sent(-100777, 1)
        assert sent[0]["text"].startswith("<pre>") and "kigoma-2026-11" in sent[0]["text"]
        assert re.search(r"kigoma-2026-11\s+fa\s+reintegration\s+6\s+6\s+0\s+0", sent[0]["text"])
        await asyncio.sleep(0.5)
        assert api.sent(-100999) == [], "other groups get nothing"
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await api.stop()


async def test_counsellors_manage_slots_and_see_their_agenda_in_their_group(engine: Engine) -> None:
    import dataclasses

    from bot.booking import Slots

    group = {"id": -100778, "type": "supergroup", "title": "Counsellors"}
    engine.settings = dataclasses.replace(engine.settings, counsellor_chat_id=-100778, office_timezone="UTC")
    api = FakeBotAPI(TOKEN)
    await api.start()
    stop = asyncio.Event()
    task = asyncio.create_task(run_polling(engine, TOKEN, api.url, stop, poll_timeout=1))
    try:
        tomorrow = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).strftime("%Y-%m-%dT10:30")
        await api.send_text(601, f"/slots add {tomorrow} 45 phone fa,ar", chat=group)
        sent = await api.wait_sent(-100778, 1)
        assert "added" in sent[0]["text"]
        sid = sent[0]["text"].split("slot ", 1)[1].split(" ", 1)[0]
        slots = Slots(engine.store.redis, 7)
        result, ref = await slots.book(await slots.get(sid), "pidA", "tg:4242", "fa", "reintegration")
        assert result == "ok"
        await api.send_text(601, "/agenda", chat=group)
        sent = await api.wait_sent(-100778, 2)
        assert f"#{ref} fa phone reintegration" in sent[1]["text"] and "10:30" in sent[1]["text"]
        await api.send_text(601, f"/noshow {ref}", chat=group)
        sent = await api.wait_sent(-100778, 3)
        assert f"#{ref} marked as no-show" in sent[2]["text"]
        await api.send_text(4243, "/agenda", language_code="fr")  # a person in a private chat
        refused = await api.wait_sent(4243, 1)
        assert engine.catalogs.gettext("fr")("Sorry, this command is only for the office's counsellors.") \
            in refused[0]["text"]
        assert f"#{ref}" not in refused[0]["text"]
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await api.stop()
