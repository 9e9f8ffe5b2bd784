"""The engine and its first flows, on the real model and a real Redis."""

from __future__ import annotations

from bot.core import Event, Reply
from bot.engine import Engine
from bot.security import pseudonym, sign
from tests.conftest import dump_redis

USER = "tg:1001"


def labels(reply: Reply) -> list[str]:
    return [b.label for row in reply.buttons for b in row]


def action_of(engine: Engine, reply: Reply, label: str) -> str:
    """The signed data of the button with this label."""
    return next(b.action for row in reply.buttons for b in row if b.label == label)


async def say(engine: Engine, text: str, user: str = USER, client_lang: str | None = None) -> list[Reply]:
    return await engine.handle(Event(user=user, kind="text", text=text, client_lang=client_lang))


async def press(engine: Engine, data: str, user: str = USER) -> list[Reply]:
    return await engine.handle(Event(user=user, kind="button", button=data))


async def command(engine: Engine, name: str, payload: str = "", user: str = USER,
                  client_lang: str | None = None) -> list[Reply]:
    return await engine.handle(Event(user=user, kind="command", command=name, payload=payload,
                                     client_lang=client_lang))


async def test_start_without_a_known_language_offers_the_picker(engine: Engine) -> None:
    replies = await command(engine, "start")
    assert replies[0].lang == "en"
    picker = replies[-1]
    assert {"Français", "العربية", "فارسی", "አማርኛ", "Kiswahili", "Русский", "Español", "English"} <= set(labels(picker))


async def test_start_in_the_client_language_shows_the_menu_without_picker(engine: Engine) -> None:
    replies = await command(engine, "start", client_lang="fr")
    fr = engine.catalogs.gettext("fr")
    assert len(replies) == 1 and replies[0].lang == "fr"
    assert fr("Who can apply?") in labels(replies[0])
    assert fr("Who can apply?") != "Who can apply?"


async def test_deep_link_sets_language_and_opens_the_topic(engine: Engine) -> None:
    replies = await command(engine, "start", "fa_reintegration", client_lang="en")
    assert all(r.lang == "fa" and r.rtl for r in replies)
    text, _ = engine.content.topic("reintegration").text("fa")
    assert replies[-1].title == text.title


async def test_a_question_is_answered_from_content_with_source_and_date(engine: Engine) -> None:
    replies = await say(engine, "how does voluntary return work, what are the steps", client_lang="en")
    answer = replies[-1]
    topic = engine.content.topic("process")
    assert answer.title == topic.texts["en"].title
    assert answer.text.startswith(topic.texts["en"].pages[0][:40])
    assert "Source: " in answer.text and "Checked on " in answer.text


async def test_more_button_pages_through_a_long_answer(engine: Engine) -> None:
    answer = (await say(engine, "how does voluntary return work, what are the steps", client_lang="en"))[-1]
    page2 = (await press(engine, action_of(engine, answer, "More ▸")))[-1]
    assert engine.content.topic("process").texts["en"].pages[1][:40] in page2.text


async def test_forged_or_damaged_buttons_expire_and_change_nothing(engine: Engine) -> None:
    await command(engine, "start", client_lang="en")
    before = await engine.store.load_session(engine_pid(engine))
    for data in ("l:fr|0123456789", "l:fr", "", "x" * 64, sign("wrong-secret" * 4, "l:fr", engine_pid(engine)),
                 sign(engine.settings.secret, "l:fr", engine_pid(engine, "tg:someone-else"))):
        replies = await press(engine, data)
        assert replies[0].text == "This button has expired. Here is the menu again."
    after = await engine.store.load_session(engine_pid(engine))
    assert after.get("lang") == before.get("lang") == "en"


def engine_pid(engine: Engine, user: str = USER) -> str:

    return pseudonym(engine.settings.secret, user)


async def test_chosen_language_is_sticky(engine: Engine) -> None:
    await command(engine, "start")
    picker = (await command(engine, "language"))[-1]
    replies = await press(engine, action_of(engine, picker, "Kiswahili"))
    assert replies[0].lang == "sw"
    # A long English message does not override an explicit choice.
    replies = await say(engine, "what documents do I need to bring to the appointment", client_lang="en")
    assert replies[-1].lang == "sw"


async def test_short_messages_never_flip_the_language(engine: Engine) -> None:
    replies = await say(engine, "je veux rentrer chez moi au pays", client_lang="en")
    assert replies[-1].lang == "fr"
    for short in ("ok", "1", "salam", "👍", "12:30"):
        replies = await say(engine, short, client_lang="en")
        assert replies[-1].lang == "fr", short


async def test_typed_request_for_a_language_switches_to_it(engine: Engine) -> None:
    replies = await say(engine, "please speak french with me", client_lang="en")
    assert replies[-1].lang == "fr"


async def test_nonsense_gets_the_fallback_with_a_person_one_tap_away(engine: Engine) -> None:
    replies = await say(engine, "qwzx vbnm plkj", client_lang="en")
    assert "Talk to a person" in labels(replies[-1])
    assert "Main menu" in labels(replies[-1])


async def test_two_misses_in_a_row_offer_a_person_first(engine: Engine) -> None:
    first = await say(engine, "qwzx vbnm plkj", client_lang="en")
    assert "twice" not in first[-1].text
    second = await say(engine, "qwzx vbnm plkj", client_lang="en")
    assert labels(second[-1])[0] == "Talk to a person" and "twice in a row" in second[-1].text
    understood = await say(engine, "is the return programme free of charge", client_lang="en")
    assert "twice" not in understood[-1].text  # an answer resets the count
    third = await say(engine, "qwzx vbnm plkj", client_lang="en")
    assert "twice" not in third[-1].text


async def test_ambiguous_country_name_asks_instead_of_guessing(engine: Engine) -> None:
    replies = await say(engine, "what is the situation in congo now", client_lang="en")
    assert replies[-1].text == "Which country do you mean?"
    assert set(labels(replies[-1])) == {"Congo - Kinshasa", "Congo - Brazzaville"}


async def test_country_without_content_says_so_and_offers_a_person(engine: Engine) -> None:
    replies = await say(engine, "is it safe now in Paraguay", client_lang="en")
    assert "Paraguay" in replies[-1].text
    assert "Talk to a person" in labels(replies[-1])


async def test_forget_deletes_every_key_of_the_person(engine: Engine) -> None:
    await command(engine, "start", client_lang="ru")
    await say(engine, "hello there my friend", user="tg:other")
    pid = engine_pid(engine)
    assert [k async for k in engine.store.redis.scan_iter(match=f"*{pid}*")]
    replies = await command(engine, "forget")
    assert replies[0].lang == "ru"
    assert [k async for k in engine.store.redis.scan_iter(match=f"*{pid}*")] == []
    assert [k async for k in engine.store.redis.scan_iter(match="*")], "other people's sessions stay"


async def test_no_typed_text_and_no_raw_id_in_redis_and_every_key_expires(engine: Engine) -> None:
    secret_words = ["I have decided to go back home next month", "my name is Amina Yusuf", "+255 712 345 678"]
    for text in secret_words:
        await say(engine, text, user="tg:5550001", client_lang="en")
    dump = []
    for key, ttl, values in await dump_redis(engine.store.redis):
        assert ttl > 0, f"{key} has no TTL"
        dump += [key, *values]
    blob = " ".join(dump).lower()
    assert "5550001" not in blob
    for text in secret_words:
        for word in text.lower().split():
            if len(word) > 4:
                assert word not in blob, word


async def test_too_long_and_non_text_messages_get_a_polite_answer(engine: Engine) -> None:
    replies = await say(engine, "help " * 400, client_lang="en")
    assert replies[0].text == "Your message is too long for me. Please ask in a few words."
    replies = await engine.handle(Event(user=USER, kind="other", client_lang="en"))
    assert replies[0].text.startswith("I can only read text messages")


async def test_unknown_command_explains_the_commands(engine: Engine) -> None:
    replies = await command(engine, "frobnicate", client_lang="en")
    assert replies[0].text == "I do not know that command."
    assert "/forget" in replies[1].text


async def test_typed_commands_never_reach_the_nlu(engine: Engine) -> None:
    parse = await engine.interpreter.parse("/greet")
    assert parse.intent == "out_of_scope" and parse.confidence == 0.0
    replies = await say(engine, "/help", client_lang="en")
    assert "/forget" in replies[0].text


async def test_a_broken_store_gives_a_polite_error_not_an_exception(engine: Engine) -> None:
    await engine.store.redis.close()
    engine.store.redis = type(engine.store.redis).from_url("redis://127.0.0.1:1/0", decode_responses=True)
    replies = await say(engine, "hello", client_lang="es")
    es = engine.catalogs.gettext("es")
    assert replies[0].text == es("Sorry, something went wrong on my side. Please try again.")


async def test_country_answer_states_restrictions_first_then_offers_sections(engine: Engine) -> None:
    restricted = [c for c in engine.content.countries.values() if c.returns.status != "open"]
    assert restricted, "the pack has at least one country with limited or suspended returns"
    country = restricted[0]
    name = engine.content.country(country.code)
    from bot.i18n import country_name

    replies = await say(engine, f"what is the situation in {country_name(country.code, 'en')} now", client_lang="en")
    assert name is not None
    assert replies[0].text.startswith("⚠️ " + country.returns.text["en"][:30])
    assert "Source: " in replies[0].text
    sections = labels(replies[-1])
    assert len(sections) == len(country.sections) + 2  # + talk to a person, main menu
    first = next(iter(country.sections.values()))
    answer = (await press(engine, replies[-1].buttons[0][0].action))[-1]
    assert answer.title == first.texts["en"].title
    assert "Checked on " in answer.text and "Source: " in answer.text


async def test_every_country_in_the_pack_answers_in_every_language(engine: Engine) -> None:
    assert len(engine.content.countries) >= 10
    for code, country in engine.content.countries.items():
        for lang in engine.languages:
            replies = await engine.handle(Event(user=f"tg:c{code}{lang}", kind="button",
                                                button=sign(engine.settings.secret, f"c:{code}",
                                                            engine_pid(engine, f"tg:c{code}{lang}")),
                                                client_lang=lang))
            assert all(r.lang == lang for r in replies)
            section = await press(engine, replies[-1].buttons[0][0].action, user=f"tg:c{code}{lang}")
            assert "This information is not yet available in your language" not in section[-1].text, (code, lang)
            assert country.sections[next(iter(country.sections))].texts[lang].title == section[-1].title


async def test_missing_translation_falls_back_to_english_with_a_notice(engine: Engine, tmp_path) -> None:
    import shutil

    from bot.content import Content

    shutil.copytree(engine.settings.content_dir, tmp_path / "content")
    path = tmp_path / "content" / "topics" / "cost.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("\n  fr:")] + text[text.index("\n  ar:"):], encoding="utf-8")
    engine.content = Content(tmp_path / "content")
    answer = (await press(engine, sign(engine.settings.secret, "t:cost", engine_pid(engine, "tg:fr-user")),
                             user="tg:fr-user"))[-1]
    assert answer.lang == "en"  # no language known yet for this user: English, no notice
    await command(engine, "start", client_lang="fr", user="tg:fr-user2")
    answer = (await press(engine, sign(engine.settings.secret, "t:cost", engine_pid(engine, "tg:fr-user2")),
                             user="tg:fr-user2"))[-1]
    fr = engine.catalogs.gettext("fr")
    assert answer.lang == "fr"
    assert answer.text.startswith(fr("This information is not yet available in your language. Here it is in English."))
    assert engine.content.topic("cost").texts["en"].pages[0][:40] in answer.text


async def test_stale_content_says_it_may_be_out_of_date(engine: Engine) -> None:
    import dataclasses

    engine.settings = dataclasses.replace(engine.settings, review_max_age_days=-1)
    answer = (await press(engine, sign(engine.settings.secret, "t:cost", engine_pid(engine))))[-1]
    assert "This may be out of date. Please ask a counsellor." in answer.text


async def test_right_to_left_replies_mirror_button_rows(engine: Engine) -> None:
    replies = await command(engine, "start", client_lang="ar")
    ar = engine.catalogs.gettext("ar")
    first_row = [b.label for b in replies[0].buttons[1]]  # row 0: "More about privacy"
    assert replies[0].rtl and first_row == [ar("Who can apply?"), ar("What is voluntary return?")]
