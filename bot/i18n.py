"""Languages, gettext catalogs and locale-aware formatting (Babel).

A language is supported when `locales/<code>/LC_MESSAGES/messages.po` exists: adding a language
means adding files, never code. Catalogs are read from the `.po` files at start (compiled in
memory), so there is no build step that can go stale; fuzzy entries are not used.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DOMAIN = "messages"


def N_(msgid: str) -> str:
    """Mark a string for extraction (`pybabel extract -k N_`); it is translated where it is shown."""
    return msgid


def available_languages(locales_dir: Path) -> list[str]:
    """Codes of the languages that have a catalog, sorted."""
    return sorted(p.parent.parent.name for p in Path(locales_dir).glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


class Catalogs:
    """Compiled catalogs for every available language."""

    def __init__(self, locales_dir: Path) -> None:
        self.languages = available_languages(locales_dir)
        self._translations: dict[str, NullTranslations] = {}
        for lang in self.languages:
            po = Path(locales_dir) / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
            buf = BytesIO()
            write_mo(buf, catalog, use_fuzzy=False)
            buf.seek(0)
            self._translations[lang] = Translations(fp=buf, domain=DOMAIN)

    def gettext(self, lang: str) -> Callable[[str], str]:
        """The `_` function for a language (unknown languages fall back to the msgid)."""
        return self._translations.get(lang, NullTranslations()).gettext

    def ngettext(self, lang: str) -> Callable[[str, str, int], str]:
        return self._translations.get(lang, NullTranslations()).ngettext


@cache
def native_name(lang: str, capitalize: bool = True) -> str:
    """The language's name in itself: 'Français' for a picker button, 'français' inside a sentence."""
    name = Locale.parse(lang).get_display_name(lang) or lang
    return name[:1].upper() + name[1:] if capitalize else name


LRI, PDI = "\u2066", "\u2069"  # left-to-right isolate ... pop directional isolate
_LTR_RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .,:;/@+\-–—'’()&%=?#_]*[A-Za-z0-9)/]|[A-Za-z0-9]")


def isolate_ltr(text: str) -> str:
    """Wrap runs of Latin text, numbers, codes and links so they keep their order inside RTL text."""
    return _LTR_RUN.sub(lambda m: f"{LRI}{m.group(0)}{PDI}", text)


@cache
def is_rtl(lang: str) -> bool:
    return Locale.parse(lang).text_direction == "rtl"


def format_date(day: dt.date, lang: str) -> str:
    """A date as people of that language write it (e.g. '22 nov. 2026')."""
    return babel_format_date(day, format="medium", locale=lang)


@cache
def country_name(code: str, lang: str) -> str:
    """A country's CLDR name in the language, or the code when CLDR has none."""
    return Locale.parse(lang).territories.get(code, code)
