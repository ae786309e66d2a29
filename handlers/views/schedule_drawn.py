"""The /meetings pages drawn once per language and data version (a cache beside the views).

Many members see the same page (the same sectors, the same answers), and drawing one (texts,
dates, a dozen typed buttons) cost more CPU than reading it (bench/updates.py). The key is
the whole page as data, so whatever the page comes to show (a new field of the model) is in
the key without a change here; a changed meeting is a new page and the old one ages out.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup

from bot.config import Language
from bot.i18n import Html, Texts
from bot.services.schedule import SchedulePage
from handlers.views.schedule import page_keyboard, page_text


class DrawnKeyboard(InlineKeyboardMarkup):
    """A keyboard serialised once: PTB turns reply_markup into a dict on every request
    (`to_dict`), which cost more than drawing the page; this one keeps its dict."""

    __slots__ = ("_as_dict",)

    def __init__(self, markup: InlineKeyboardMarkup) -> None:
        super().__init__(markup.inline_keyboard)
        # PTB freezes public attributes only; the dict is only read (json.dumps), never changed.
        self._as_dict = super().to_dict()

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        """The Bot API's form of the keyboard, made once."""
        return self._as_dict if recursive else super().to_dict(recursive)


# Pages kept: a few per sector combination and page number; each is a few kB.
DRAWN_PAGES = 512
_drawn: OrderedDict[tuple[object, ...], tuple[Html, DrawnKeyboard]] = OrderedDict()


def drawn_page(
    page: SchedulePage, language: Language, texts: Texts, zone: ZoneInfo, bot_username: str
) -> tuple[Html, InlineKeyboardMarkup]:
    """The page's text and keyboard; drawn at most once for the same page and language."""
    # The JSON of the page (~30 us) is the cheap exact key: the models hold lists, so they
    # cannot be hashed themselves. Texts and zone are the deployment's, kept by identity.
    key = (language, id(texts), zone, bot_username, page.model_dump_json())
    drawn = _drawn.get(key)
    if drawn is not None:
        _drawn.move_to_end(key)
        return drawn
    # The keyboard is frozen by PTB once built, so one object can go out with many replies.
    drawn = (
        page_text(page, language, texts, zone),
        DrawnKeyboard(page_keyboard(page, language, texts, bot_username)),
    )
    _drawn[key] = drawn
    if len(_drawn) > DRAWN_PAGES:
        _drawn.popitem(last=False)
    return drawn
