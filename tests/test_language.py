"""Reply language: script rules, langdetect safeguards, the decision order and stickiness."""

from __future__ import annotations

import pytest

from bot import language as L

SUPPORTED = ["am", "ar", "en", "es", "fa", "fr", "ru", "sw"]


@pytest.mark.parametrize(("text", "lang"), [
    ("ወደ ሀገሬ መመለስ እፈልጋለሁ እባካችሁ", "am"),
    ("أريد العودة إلى بلدي من فضلك", "ar"),
    ("می‌خواهم به افغانستان برگردم لطفا", "fa"),
    ("я хочу вернуться домой пожалуйста", "ru"),
    ("je veux rentrer chez moi au pays", "fr"),
    ("nataka kurudi nyumbani kwetu tafadhali", "sw"),
    ("what help is there after I go back home", "en"),
    ("quisiera saber si puedo regresar a mi pais con ayuda", "es"),
])
def test_clear_messages_are_recognised(text: str, lang: str) -> None:
    guess = L.detect(text, SUPPORTED)
    assert (guess.lang, guess.clear, guess.supported) == (lang, True, True)


@pytest.mark.parametrize("text", [
    "bdi a7ki ma3 shi 7ada",          # Levantine: I want to talk to someone
    "3ayez arga3 baladi ezay",        # Egyptian: how do I go back to my country
    "shu l wad3 bi souria halla2",    # what is the situation in Syria now
])
def test_arabizi_is_arabic_not_swahili(text: str) -> None:
    """langdetect reads Arabic in Latin letters and digits as Swahili or Somali: the person would
    get answers in a language they never wrote."""
    guess = L.detect(text, SUPPORTED)
    assert (guess.lang, guess.clear, guess.supported) == ("ar", True, True)


@pytest.mark.parametrize(("text", "lang"), [
    ("i have 2 kids and my wife", "en"),
    ("nina watoto 3 na mke wangu", "sw"),
])
def test_numbers_on_their_own_are_not_arabizi(text: str, lang: str) -> None:
    assert L.detect(text, SUPPORTED).lang == lang


@pytest.mark.parametrize("text", ["ok", "salam", "سلام", "1", "👍", "12:30", "", "   ", "Hi!", "да", "7abibi"])
def test_short_or_empty_messages_are_never_clear(text: str) -> None:
    assert not L.detect(text, SUPPORTED).clear


@pytest.mark.parametrize(("text", "lang"), [
    ("یہ میرا سوال ہے کہ میں واپس کیسے جاؤں", "ur"),
    ("я хочу повернутися додому до України", "uk"),
    ("我想回家 请帮助我 谢谢", "other"),
])
def test_languages_we_do_not_speak_are_marked_unsupported(text: str, lang: str) -> None:
    guess = L.detect(text, SUPPORTED)
    assert guess.lang == lang and not guess.supported and guess.clear


def test_decision_order() -> None:
    clear_fr = L.Guess("fr", True, True)
    unclear = L.Guess()
    # explicit choice beats everything
    assert L.choose("sw", L.EXPLICIT, clear_fr, "en", SUPPORTED, "en") == ("sw", L.EXPLICIT)
    # deep-link payload beats the message and the client
    assert L.choose("fa", L.LINK, clear_fr, "en", SUPPORTED, "en") == ("fa", L.LINK)
    # a clear message beats the client language
    assert L.choose(None, None, clear_fr, "en", SUPPORTED, "en") == ("fr", L.MESSAGE)
    # the client language beats the default
    assert L.choose(None, None, unclear, "ar-EG", SUPPORTED, "en") == ("ar", L.CLIENT)
    # the default when nothing else is known (an unsupported client language is ignored)
    assert L.choose(None, None, unclear, "de", SUPPORTED, "en") == ("en", L.DEFAULT)


def test_an_unclear_message_keeps_the_conversation_language() -> None:
    assert L.choose("ru", L.MESSAGE, L.Guess("en", False, True), "en", SUPPORTED, "en") == ("ru", L.MESSAGE)


@pytest.mark.parametrize(("text", "lang"), [
    ("speak french please", "fr"), ("بالعربي", "ar"), ("farsi", "fa"), ("на русском пожалуйста", "ru"),
    ("Kiswahili tafadhali", "sw"), ("en español por favor", "es"), ("amharic", "am"), ("hello", None),
    ("french or arabic", None),
])
def test_named_language(text: str, lang: str | None) -> None:
    assert L.named_language(text, SUPPORTED) == lang


def test_a_first_short_message_in_an_unmistakable_script_sets_the_language() -> None:
    for text, lang in (("ሰላም", "am"), ("привет", "ru"), ("چطوری", "fa")):
        assert L.choose(None, None, L.detect(text, SUPPORTED), None, SUPPORTED, "en") == (lang, L.MESSAGE)
    # but never once the conversation or the app has a language
    assert L.choose("en", L.MESSAGE, L.detect("ሰላም", SUPPORTED), None, SUPPORTED, "en") == ("en", L.MESSAGE)
    assert L.choose(None, None, L.detect("ሰላም", SUPPORTED), "fr", SUPPORTED, "en") == ("fr", L.CLIENT)
    assert L.choose(None, None, L.detect("salam", SUPPORTED), None, SUPPORTED, "en") == ("en", L.DEFAULT)


def test_latin_fragments_are_isolated_in_right_to_left_text() -> None:
    from bot.i18n import LRI, PDI, isolate_ltr

    out = isolate_ltr("المصدر: IOM Tanzania (tanzania.iom.int) 2026")
    assert f"{LRI}IOM Tanzania (tanzania.iom.int) 2026{PDI}" in out
