"""Privacy, safety and bad input: nothing harmful is kept, danger goes to a person, nothing crashes."""

from __future__ import annotations

import asyncio
import logging

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from bot.app import capabilities
from bot.config import Settings
from bot.content import Content
from bot.core import Event
from bot.engine import Engine
from bot.i18n import Catalogs
from bot.logs import JsonFormatter
from bot.redis_server import RedisServer
from bot.security import pseudonym, sign
from bot.store import Store, connect
from nlu.interpreter import Interpreter
from tests.conftest import dump_redis

# What people might type that must never be kept: decisions, a name, a phone and a passport number.
PERSONAL = {
    "en": ["I have decided to go back home", "I want to return next month"],
    "fr": ["j'ai décidé de rentrer chez moi", "je veux retourner le mois prochain"],
    "es": ["he decidido volver a casa", "quiero regresar el próximo mes"],
    "ru": ["я решил вернуться домой", "хочу вернуться в следующем месяце"],
    "ar": ["قررت العودة إلى بلدي", "أريد العودة الشهر القادم"],
    "fa": ["تصمیم گرفتم به خانه برگردم", "می‌خواهم ماه آینده برگردم"],
    "sw": ["nimeamua kurudi nyumbani", "nataka kurudi mwezi ujao"],
    "am": ["ወደ ሀገሬ ለመመለስ ወስኛለሁ", "በሚቀጥለው ወር መመለስ እፈልጋለሁ"],
}
IDENTIFIERS = ["my name is Amina Yusuf", "call me on +255 712 345 678", "passport number P4829173"]
SECRETS = ["Amina", "Yusuf", "712 345", "345 678", "P4829173", "4829173"]
DECISION_WORDS = ["decid", "decision", "intent", "wants_to_return", "return_date", "plan"]


async def test_scan_nothing_personal_or_decision_like_is_kept(engine: Engine, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    typed: list[str] = []
    for lang, sentences in PERSONAL.items():
        user = f"tg:990{len(typed)}"
        await engine.handle(Event(user=user, kind="command", command="start", payload=f"{lang}_eligibility"))
        for text in [*sentences, *IDENTIFIERS, "what help is there after return", "Iraq"]:
            typed.append(text)
            await engine.handle(Event(user=user, kind="text", text=text, client_lang=lang))
        for text in ("1", "2", "1"):  # typed answers to the eligibility questions
            await engine.handle(Event(user=user, kind="text", text=text, client_lang=lang))
        await engine.handle(Event(user=user, kind="text", text="they took my passport and locked me in",
                                  client_lang=lang))
    stored = await dump_redis(engine.store.redis)
    blob = " ".join(k + " " + " ".join(v) for k, _, v in stored).lower()
    logs = "\n".join(JsonFormatter().format(r) for r in caplog.records).lower()
    assert stored, "the conversations did store their sessions"
    for text in typed:
        assert text.lower() not in blob and text.lower() not in logs, text
    for secret in SECRETS:
        assert secret.lower() not in blob and secret.lower() not in logs, secret
    for word in DECISION_WORDS:
        assert word not in blob and word not in logs, word
    for key, ttl, _ in stored:
        assert ttl > 0, key
        assert "990" not in key, "raw ids never reach Redis"


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "please help me now they are beating me"),
    ("en", "i want to kill myself"),
    ("fr", "au secours il me frappe"),
    ("ar", "ساعدوني انا في خطر"),
    ("fa", "کمک کنید من در خطر هستم"),
    ("ru", "помогите меня бьют"),
    ("sw", "nisaidieni ninapigwa"),
    ("es", "ayuda me están pegando"),
    ("am", "እርዱኝ አደጋ ላይ ነኝ"),
    ("en", "sometimes i think i will hurt myself"),
    ("es", "a veces quiero hacerme daño"),
    ("ru", "иногда хочу причинить себе вред"),
    ("sw", "nafikiria kujidhuru"),
    ("fa", "گاهی میخوام به خودم آسیب بزنم"),
])
async def test_danger_goes_to_a_person_even_when_the_model_is_unsure(engine: Engine, lang: str, text: str) -> None:
    decision = await engine.understanding.decide(text, client_lang=lang)
    assert decision.route == "emergency", (decision.intent, decision.confidence)
    replies = await engine.handle(Event(user=f"tg:danger-{lang}", kind="text", text=text, client_lang=lang))
    labels = [b.label for r in replies for row in r.buttons for b in row]
    assert engine.catalogs.gettext(lang)("Talk to a person") in labels


async def test_flood_control_answers_once_then_waits(engine: Engine) -> None:
    limit = engine.settings.rate_limit_per_minute
    user = "tg:flood"
    for _ in range(limit):
        assert await engine.handle(Event(user=user, kind="text", text="hello", client_lang="en"))
    slow = await engine.handle(Event(user=user, kind="text", text="hello", client_lang="en"))
    assert slow[0].text == "You are sending many messages. Please wait a minute, then try again."
    assert await engine.handle(Event(user=user, kind="text", text="hello", client_lang="en")) == []
    assert 0 < await engine.store.redis.ttl(f"avrr:rate:{pseudonym(engine.settings.secret, user)}") <= 60


async def test_buttons_of_one_person_do_not_work_for_another(engine: Engine) -> None:
    theirs = sign(engine.settings.secret, "l:ar", pseudonym(engine.settings.secret, "tg:alice"))
    replies = await engine.handle(Event(user="tg:mallory", kind="button", button=theirs, client_lang="en"))
    assert replies[0].text == "This button has expired. Here is the menu again."


TEXTS = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
    st.sampled_from(["/start", "/start fa_coi", "/forget", "/language", "1", "99", "👍", "12:30", "\u200f\u202e",
                     "congo", "oui", "نعم", "\x00\x01", "a" * 2000, "/" * 10]),
)
EVENTS = st.one_of(
    st.builds(lambda t: Event(user="tg:fuzz", kind="text", text=t), TEXTS),
    st.builds(lambda t: Event(user="tg:fuzz", kind="command", command=t.split(" ")[0], payload=t), TEXTS),
    st.builds(lambda t: Event(user="tg:fuzz", kind="button", button=t), TEXTS),
    st.builds(lambda a: Event(user="tg:fuzz", kind="button", button=a),
              st.sampled_from(["t:about", "t:eligibility", "e:a:in_host:yes", "e:w:in_host", "e:r", "p:about:9",
                               "p:IQ.arrival:0", "s:XX.health", "c:ZZ", "l:de", "m", "L", "p:..:-1"]).map(
                  lambda a: sign(FUZZ_SECRET, a, pseudonym(FUZZ_SECRET, "tg:fuzz")))),
    st.builds(lambda lang: Event(user="tg:fuzz", kind="other", client_lang=lang),
              st.sampled_from([None, "", "xx", "fa-IR", "am"])),
)
FUZZ_SECRET = "fuzz-secret-" + "1" * 40


def test_random_events_never_crash_and_always_answer_in_a_supported_language(
        settings: Settings, interpreter: Interpreter, catalogs: Catalogs, redis_server: RedisServer) -> None:
    import dataclasses

    loop = asyncio.new_event_loop()
    fuzz_settings = dataclasses.replace(settings, secret=FUZZ_SECRET, rate_limit_per_minute=1000)
    redis = connect(redis_server.url)
    engine = Engine(fuzz_settings, Store(redis, settings.session_ttl), interpreter, Content(settings.content_dir),
                    catalogs, capabilities(settings))
    logging.getLogger("avrr.engine").setLevel(logging.CRITICAL)  # errors are asserted below, not printed

    @hsettings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(EVENTS, min_size=1, max_size=4))
    def run(events: list[Event]) -> None:
        for event in events:
            replies = loop.run_until_complete(engine.handle(event))
            for reply in replies:
                assert reply.lang in catalogs.languages
                assert reply.text.strip()
                assert not reply.text.startswith("Sorry, something went wrong"), event

    try:
        run()
    finally:
        logging.getLogger("avrr.engine").setLevel(logging.NOTSET)
        loop.run_until_complete(redis.flushdb())
        loop.run_until_complete(redis.close())
        loop.close()
