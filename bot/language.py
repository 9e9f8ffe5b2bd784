"""Which language to answer in.

Order (product spec): an explicit choice, a deep-link payload, the message's language when it
is clear, the Telegram client's language, then the default. "Clear" means three or more words
and a confident reading, so "ok", a one-word greeting or "1" never flip a conversation. Unicode script rules
come first because langdetect is weak on them: Ethiopic is Amharic, Persian letters tell Farsi
from Arabic, Urdu/Pashto/Ukrainian letters mark languages we do not speak, and Latin words with
Arabizi digits ("a7ki", "3ayez") are Arabic.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from babel import Locale
from langdetect import DetectorFactory, detector_factory
from langdetect.lang_detect_exception import LangDetectException

from nlu.normalize import clean, normalize

LANGUAGE_NAMES = Path(__file__).resolve().parent.parent / "nlu" / "languages.yml"

DetectorFactory.seed = 0  # deterministic answers

MIN_WORDS = 3
_WORD = re.compile(r"\w+", re.UNICODE)
_PERSIAN = set(  # peh, tcheh, jeh, gaf
    "\u067e\u0686\u0698\u06af")
_ARABIC_ONLY = set("\u0629\u064a\u0643\u0649")
_FARSI_YK = set("\u06cc\u06a9")
_URDU = set("\u0679\u0688\u0691\u06ba\u06d2\u06be")
_PASHTO = set("\u067c\u0689\u0693\u069a\u0696\u0681\u0685\u06ab\u06cd\u06d0")
_UKRAINIAN = set("\u0456\u0457\u0454\u0491\u045e\u0406\u0407\u0404\u0490\u040e")  # Ukrainian and Belarusian letters

# Arabizi: Arabic in Latin letters with digits for the sounds Latin lacks (3 = ع, 7 = ح, 2 = ء, 5 = خ,
# 9 = ق …), one digit inside or at the edge of a word: "a7ki", "ma3", "3ayez". langdetect, which does
# not know Arabizi, reads it as Swahili or Somali. In the NLU sets, 820 of 1,210 Latin-script Arabic
# lines have such a word and none of the 12,629 Latin-script lines in other languages does.
_ARABIZI = re.compile(r"[a-z]*[a-z][235679][a-z]*|[235679][a-z]+")

_SCRIPT_LANGUAGES = ("am", "ar", "fa", "ru")  # recognised by their script, not by langdetect

# Sources of a conversation's language, strongest first.
EXPLICIT, LINK, MESSAGE, CLIENT, DEFAULT = "explicit", "link", "message", "client", "default"
_RANK = {EXPLICIT: 0, LINK: 1, MESSAGE: 2, CLIENT: 3, DEFAULT: 4}


@dataclass(frozen=True)
class Guess:
    """The language of one message: a supported code, an unsupported one, or nothing."""

    lang: str | None = None
    clear: bool = False
    supported: bool = True
    by_script: bool = False  # the letters alone say which language it is (Ethiopic, Persian letters, …)


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    for script in ("ETHIOPIC", "ARABIC", "CYRILLIC", "LATIN"):
        if name.startswith(script):
            return script
    return "OTHER"


def _langdetect(text: str, only: Sequence[str] | None = None) -> list[tuple[str, float]]:
    """langdetect's ranking; with `only`, a prior of zero for every other language."""
    detector_factory.init_factory()
    factory = detector_factory._factory  # the module's shared, seeded factory
    try:
        detector = factory.create()
        if only:
            known = set(factory.get_lang_list())
            detector.set_prior_map({lang: 1.0 for lang in only if lang in known})
        detector.append(text)
        return [(g.lang, g.prob) for g in detector.get_probabilities()]
    except LangDetectException:
        return []


def detect(text: str, supported: Sequence[str]) -> Guess:
    """Guess the language of one message."""
    text = clean(text)
    tokens = _WORD.findall(text)
    words = len([w for w in tokens if not w.isdigit()])
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return Guess()
    long_enough = words >= MIN_WORDS
    script, _ = Counter(_script(ch) for ch in letters).most_common(1)[0]
    chars = set(letters)

    def result(lang: str, clear: bool = True, by_script: bool = False) -> Guess:
        return Guess(lang, clear and long_enough, lang in supported, by_script)

    if script == "ETHIOPIC":
        return result("am", by_script=True)
    if script == "ARABIC":
        if chars & _PASHTO:
            return result("ps", by_script=True)
        if chars & _URDU:
            return result("ur", by_script=True)
        if chars & _PERSIAN or (chars & _FARSI_YK and not chars & _ARABIC_ONLY):
            return result("fa", by_script=bool(chars & _PERSIAN))
        if chars & _ARABIC_ONLY:
            return result("ar", by_script=True)
        if not long_enough:  # a short guess would not be used (not clear, not by script): skip the cost
            return Guess("ar", False, "ar" in supported)
        probs = dict(_langdetect(text))
        return result("fa" if probs.get("fa", 0) > probs.get("ar", 0) else "ar")
    if script == "CYRILLIC":  # langdetect reads short Russian as Ukrainian: trust letters instead
        return result("uk" if chars & _UKRAINIAN else "ru", by_script=True)
    if script == "OTHER":
        return Guess("other", long_enough or len(letters) >= 2, False)
    if any(_ARABIZI.fullmatch(w.lower()) for w in tokens):
        return result("ar")  # answered in Arabic script, which people who type Arabizi read
    if not long_enough:  # short Latin messages never set the language (see `choose`): no detection needed
        return Guess()
    latin = [lang for lang in supported if lang not in _SCRIPT_LANGUAGES]
    anywhere = _langdetect(text)
    if anywhere and anywhere[0][0] not in supported and anywhere[0][1] >= 0.99:
        return Guess(anywhere[0][0], True, False)
    if anywhere and anywhere[0][0] in latin and anywhere[0][1] >= 0.9:
        return result(anywhere[0][0])  # already clear and ours: the restricted run (~4 ms) would agree
    ranked = _langdetect(text, only=latin)
    if not ranked:
        return Guess()
    best, prob = ranked[0]
    return result(best, prob >= 0.9)


def choose(
    current: str | None,
    source: str | None,
    guess: Guess,
    client_lang: str | None,
    supported: Sequence[str],
    default: str,
) -> tuple[str, str]:
    """The reply language and its source, given the conversation so far and this message."""
    if current in supported and source in (EXPLICIT, LINK):
        return current, source
    if guess.clear and guess.supported and guess.lang in supported:
        return guess.lang, MESSAGE
    if current in supported and source == MESSAGE:
        return current, source
    client = (client_lang or "").split("-")[0].lower()
    if client in supported:
        return client, CLIENT
    if guess.by_script and guess.supported and guess.lang in supported:
        return guess.lang, MESSAGE  # nothing else known: even one word in Ethiopic script is Amharic
    if current in supported and source in _RANK:
        return current, source
    return default, DEFAULT


def stronger(new_source: str, old_source: str | None) -> bool:
    """True when a language from `new_source` may replace one from `old_source`."""
    return _RANK[new_source] <= _RANK.get(old_source or DEFAULT, _RANK[DEFAULT])


@cache
def _language_names(supported: tuple[str, ...]) -> dict[str, str]:
    """Normalised language name -> code, from CLDR in every supported language plus aliases."""
    names: dict[str, str] = {}
    for shown_in in supported:
        for code in supported:
            name = Locale.parse(shown_in).languages.get(code)
            if name:
                names[normalize(name)] = code
    extra = yaml.safe_load(LANGUAGE_NAMES.read_text(encoding="utf-8")) or {}
    for code, aliases in extra.items():
        if code in supported:
            names.update({normalize(str(a)): code for a in aliases})
    return names


def named_language(text: str, supported: Sequence[str]) -> str | None:
    """The supported language a message names ("in French please" -> "fr"), if exactly one."""
    names = _language_names(tuple(supported))
    tokens = normalize(text).split()
    found = {names[" ".join(tokens[i : i + n])] for n in (3, 2, 1) for i in range(len(tokens) - n + 1)
             if " ".join(tokens[i : i + n]) in names}
    return found.pop() if len(found) == 1 else None
