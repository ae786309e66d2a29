"""Texts: gettext catalogues (.po, one file per feature and language) read with Babel."""

from __future__ import annotations

import gettext
import html
import re
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.config import LANGUAGES

LOCALES = Path(__file__).resolve().parent / "locales"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
_MSGID = re.compile(r'^msgid "(.+)"$', re.MULTILINE)
# A plural entry whose number is not {count} names it in a comment: "#. plural: {max}".
COUNTED_BY = re.compile(r"^plural: \{(\w+)\}$")


class Html(str):
    """Text that is already safe HTML: passed into a message without escaping."""

    __slots__ = ()


def load_catalog(language: str, folder: Path = LOCALES) -> Catalog:
    """Merge every .po file of a language into one Babel catalog."""
    merged = Catalog(locale=language)
    for path in sorted((folder / language).glob("*.po")):
        # Babel silently keeps one of two equal msgids in a file; count them in the raw text.
        seen: set[str] = set()
        for key in _MSGID.findall(path.read_text(encoding="utf-8")):
            if key in seen:
                raise ValueError(f"{path}: message {key!r} is defined twice")
            seen.add(key)
        with path.open("rb") as handle:
            part = read_po(handle, locale=language)
        for message in part:
            if message.id:
                if message.id in merged:
                    raise ValueError(f"{path}: message {message.id!r} is defined twice")
                merged[message.id] = message
    return merged


def _compile(catalog: Catalog) -> gettext.GNUTranslations:
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def escape(value: object) -> str:
    """Escape anything for Telegram HTML, except values marked as Html."""
    if isinstance(value, Html):
        return value
    return html.escape(str(value), quote=False)


class Texts:
    """All catalogues, compiled once; `get(lang, key, **values)` renders one message."""

    def __init__(self, folder: Path = LOCALES) -> None:
        catalogs = {lang: load_catalog(lang, folder) for lang in LANGUAGES}
        self._translations: dict[str, gettext.GNUTranslations] = {
            lang: _compile(catalog) for lang, catalog in catalogs.items()
        }
        # Plural messages are stored under "id\0id_plural", so gettext(key) cannot find them.
        self._keys: dict[str, frozenset[str]] = {
            lang: frozenset(_key(message.id) for message in catalog if message.id)
            for lang, catalog in catalogs.items()
        }
        self._counted_by: dict[str, dict[str, str]] = {
            lang: {
                _key(message.id): counted_by(message.auto_comments)
                for message in catalog
                if message.id and message.pluralizable
            }
            for lang, catalog in catalogs.items()
        }

    def get(self, language: str, key: str, /, **values: object) -> Html:
        """Render a message; placeholder values are HTML-escaped unless marked Html.

        A plural entry takes its form from the value it counts by ({count} or the one its
        "#. plural: {name}" comment names), so a domain error's `max=52` reads "52 spotkania".
        """
        placeholder = self._counted_by[language].get(key)
        if placeholder is not None:
            count = values.get(placeholder)
            if not isinstance(count, int):
                raise TypeError(f"{key} is plural: pass {placeholder}= as an int")
            return self.plural(language, key, count, **values)
        template = self._translations[language].gettext(key)
        return Html(template.format_map({k: escape(v) for k, v in values.items()}))

    def plural(self, language: str, key: str, count: int, /, **values: object) -> Html:
        """Render a message with plural forms chosen by `count` (also passed as {count})."""
        template = self._translations[language].ngettext(key, key, count)
        rendered = {k: escape(v) for k, v in values.items()}
        rendered["count"] = str(count)
        return Html(template.format_map(rendered))

    def has(self, language: str, key: str) -> bool:
        """Tell whether a key is in the language's catalogue."""
        return key in self._keys[language]


def counted_by(comments: Sequence[str]) -> str:
    """The placeholder a plural entry counts by: named in a "plural: {name}" comment, or count."""
    for comment in comments:
        match = COUNTED_BY.match(comment.strip())
        if match:
            return match.group(1)
    return "count"


def _key(message_id: str | Sequence[str]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]
