"""Eligibility questions: every rule path from the YAML, typed answers, skip, restart, expiry, storage."""

from __future__ import annotations

import itertools

import pytest

from bot.config import ROOT
from bot.core import Event, Reply
from bot.eligibility import KIND, load_rules
from bot.engine import Engine
from bot.security import pseudonym, sign
from tests.conftest import dump_redis

RULES = load_rules(ROOT / "content" / "eligibility.yml")
USER = "tg:7007"


def start(engine: Engine, user: str = USER, lang: str = "en"):
    return engine.handle(Event(user=user, kind="button", button=sign(engine.settings.secret, "t:eligibility",
                                                                   pseudonym(engine.settings.secret, user)),
                               client_lang=lang))


def answer_button(reply: Reply, answer: str) -> str:
    qid = next(b.action for row in reply.buttons for b in row if ":a:" in b.action).split(":")[2]
    return sign_for(reply, f"e:a:{qid}:{answer}")


def sign_for(reply: Reply, action: str) -> str:
    for row in reply.buttons:
        for b in row:
            if b.action.rpartition("|")[0] == action:
                return b.action
    raise AssertionError(f"no button {action} in {[b.label for row in reply.buttons for b in row]}")


async def walk(engine: Engine, answers: list[str], user: str = USER, lang: str = "en") -> list[Reply]:
    """Start the questions and tap the given answers; return the last replies."""
    replies = await start(engine, user, lang)
    for answer in answers:
        replies = await engine.handle(Event(user=user, kind="button", button=answer_button(replies[-1], answer),
                                            client_lang=lang))
    return replies


def path_to(outcome_rule) -> list[str] | None:
    """The shortest answers that end in this rule's outcome with this rule deciding (from the YAML)."""
    ids = [answers for _, answers in RULES.questions]
    for length in range(1, len(ids) + 1):
        for combo in itertools.product(*ids[:length]):
            answers = {q: a for (q, _), a in zip(RULES.questions, combo, strict=False)}
            finished = length == len(ids)
            early = [r for r in RULES.early if r.matches(answers)]
            prefix_done = any(RULES.outcome(dict(list(answers.items())[:k]), False)
                              for k in range(1, length))
            if prefix_done:
                continue
            if outcome_rule in RULES.early and early[:1] == [outcome_rule]:
                return list(combo)
            if finished and not early and outcome_rule in RULES.final:
                final = [r for r in RULES.final if r.matches(answers)]
                if final[:1] == [outcome_rule]:
                    return list(combo)
            if finished and not early and outcome_rule == "default":
                if not any(r.matches(answers) for r in RULES.final):
                    return list(combo)
    return None


@pytest.mark.parametrize("rule", [*RULES.early, *RULES.final, "default"], ids=lambda r: str(getattr(r, "when", r)))
async def test_every_rule_path_reaches_its_outcome(engine: Engine, rule) -> None:
    path = path_to(rule)
    assert path is not None, f"no answers reach {rule}"
    replies = await walk(engine, path)
    outcome = RULES.default if rule == "default" else rule.then
    assert any(r.text.startswith(RULES.text("en", f"o.{outcome}")) for r in replies)
    shown = "\n".join(r.text for r in replies)
    assert "Source: " in shown and "Checked on " in shown


@pytest.mark.parametrize(("answers", "outcome", "notes"), [
    (["yes", "no", "asylum", "no", "no", "yes"], "may_be_eligible", []),
    (["no"], "not_covered", []),
    (["yes", "yes"], "not_covered", []),
    (["yes", "no", "trafficking"], "protection", []),
    (["yes", "no", "stranded", "yes"], "protection", []),
    (["yes", "unsure", "irregular", "no", "no", "no"], "counsellor", ["no_document"]),
    (["yes", "no", "other", "no", "no", "yes"], "counsellor", []),
    (["yes", "no", "regular", "no", "yes", "unsure"], "counsellor", ["no_document", "health"]),
])
async def test_outcomes_in_a_counsellors_words(engine: Engine, answers, outcome, notes) -> None:
    replies = await walk(engine, answers)
    final = replies[-1]
    assert final.text.startswith(RULES.text("en", f"o.{outcome}"))
    for note in notes:
        assert RULES.text("en", f"note.{note}") in final.text
    labels = [b.label for row in final.buttons for b in row]
    assert "Talk to a person" in labels
    assert "not eligible" not in final.text.lower()


async def test_protection_outcome_puts_a_person_first(engine: Engine) -> None:
    final = (await walk(engine, ["yes", "no", "trafficking"]))[-1]
    labels = [b.label for row in final.buttons for b in row]
    assert labels[:2] == ["Talk to a person", "I am in danger"]


@pytest.mark.parametrize(("lang", "typed"), [
    ("fr", ["oui", "non", "2", "non", "non", "oui"]),
    ("ar", ["نعم", "لا", "2", "لا", "لا", "نعم"]),
    ("sw", ["ndiyo", "hapana", "2", "hapana", "hapana", "ndiyo"]),
    ("ru", ["да", "нет", "2", "нет", "нет", "да"]),
    ("es", ["si", "no", "2", "no", "no", "si"]),
])
async def test_typed_answers_in_several_languages(engine: Engine, lang: str, typed: list[str]) -> None:
    user = f"tg:typed-{lang}"
    replies = await start(engine, user, lang)
    for text in typed:
        replies = await engine.handle(Event(user=user, kind="text", text=text, client_lang=lang))
    assert replies[-1].lang == lang
    assert replies[-1].text.startswith(RULES.text(lang, "o.may_be_eligible"))


async def test_every_language_reaches_an_outcome_in_at_most_six_taps(engine: Engine) -> None:
    for lang in engine.languages:
        replies = await walk(engine, ["yes", "no", "asylum", "no", "no", "yes"], user=f"tg:six-{lang}", lang=lang)
        assert replies[-1].lang == lang
        assert replies[-1].text.startswith(RULES.text(lang, "o.may_be_eligible"))
        assert RULES.text(lang, "o.may_be_eligible") != RULES.text("en", "o.may_be_eligible") or lang == "en"


async def test_why_skip_and_restart(engine: Engine) -> None:
    replies = await start(engine)
    assert replies[0].text.startswith(RULES.text("en", "intro"))
    info = await engine.handle(Event(user=USER, kind="button", button=sign_for(replies[0], "p:eligibility:0")))
    assert info[-1].title == engine.content.topic("eligibility").texts["en"].title  # the information page
    why = await engine.handle(Event(user=USER, kind="button", button=sign_for(replies[-1], "e:w:in_host")))
    assert why[0].text == RULES.text("en", "why.in_host")
    assert why[-1].text.startswith(RULES.text("en", "q.in_host"))
    skip = await engine.handle(Event(user=USER, kind="button", button=sign_for(replies[-1], "t:human")))
    assert skip[0].text.startswith("Live chat with a counsellor")
    await walk(engine, ["yes", "no"])  # two answers in, then start again from the menu
    again = await start(engine)
    assert again[-1].text.startswith(RULES.text("en", "q.in_host"))


async def test_expired_answers_start_over_politely(engine: Engine) -> None:
    replies = await walk(engine, ["yes"])
    await engine.store.drop_flow(KIND, pseudonym(engine.settings.secret, USER))  # what the TTL does
    replies = await engine.handle(Event(user=USER, kind="button", button=answer_button(replies[-1], "no")))
    assert replies[0].text.startswith("Your answers have expired")
    assert replies[-1].text.startswith(RULES.text("en", "q.in_host"))


async def test_old_buttons_ask_the_current_question_again(engine: Engine) -> None:
    first = (await start(engine))[-1]
    await engine.handle(Event(user=USER, kind="button", button=answer_button(first, "yes")))
    again = await engine.handle(Event(user=USER, kind="button", button=answer_button(first, "no")))
    assert again[-1].text.startswith(RULES.text("en", "q.national"))


async def test_nothing_about_eligibility_is_left_in_redis(engine: Engine) -> None:
    redis = engine.store.redis
    await walk(engine, ["yes", "no", "trafficking"])
    mid = await walk(engine, ["yes", "no"], user="tg:mid")
    assert mid and 0 < await redis.ttl(f"avrr:{KIND}:{pseudonym(engine.settings.secret, 'tg:mid')}") <= 30 * 60
    await walk(engine, ["yes", "no", "stranded", "no", "no", "yes"], user="tg:mid")
    values = []
    for key, _ttl, contents in await dump_redis(redis):
        assert not key.startswith(f"avrr:{KIND}:"), key
        values += [key, *contents]
    blob = " ".join(values)
    for word in ["trafficking", "stranded", "protection", "may_be_eligible", "not_covered", "counsellor", "a.in_host"]:
        assert word not in blob, word


async def test_eligibility_leaves_nothing_in_the_counters(engine: Engine) -> None:
    await walk(engine, ["yes", "no", "asylum", "no", "no", "yes"], user="tg:count")
    counters = await engine.store.counters()
    assert all("|answer" not in field for fields in counters.values() for field in fields)


async def test_danger_in_the_middle_of_the_questions_goes_to_a_person(engine: Engine) -> None:
    await walk(engine, ["yes"], user="tg:mid-danger")
    replies = await engine.handle(Event(user="tg:mid-danger", kind="text", text="no they are beating me help me now",
                                        client_lang="en"))
    assert replies[0].text.startswith("If you are in danger right now")
