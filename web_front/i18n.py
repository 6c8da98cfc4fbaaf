"""Chinese first, English second: the pages' texts are the Chinese msgids; `locale/en` translates
them (Babel's .po, compiled in memory at start: the image's root file system is read-only)."""
from __future__ import annotations

import contextvars
import gettext
import io
from dataclasses import dataclass
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = ("zh-CN", "en")  # the first is the default
HTML_LANG = {"zh-CN": "zh-CN", "en": "en"}
_DIR = Path(__file__).parent / "locale"
_current: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=LOCALES[0])


def _load(locale: str) -> gettext.NullTranslations:
    po = _DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as file:
        catalog = read_po(file, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


_TRANSLATIONS = {locale: _load(locale) for locale in LOCALES[1:]}


def choose(query: str | None, cookie: str | None) -> str:
    """The page's locale: asked for in the address, else remembered, else Chinese (a hall's
    shared screens and kiosks often run browsers set to English: their language is not asked)."""
    for wanted in (query, cookie):
        if wanted in LOCALES:
            return wanted
    return LOCALES[0]


def use(locale: str) -> None:
    _current.set(locale)


def current() -> str:
    return _current.get()


@dataclass(frozen=True)
class Said:
    """A message to be translated when the page is drawn, with the values it names (an API's reason):
    the text is looked up in the catalogue first, then filled in."""
    text: str
    values: dict


def said(text: str, **values) -> Said:
    return Said(text, values)


def gettext_(message: str | Said, **values) -> str:
    if isinstance(message, Said):
        message, values = message.text, {**message.values, **values}
    translations = _TRANSLATIONS.get(_current.get())
    text = translations.gettext(message) if translations else message
    return text % values if values else text
