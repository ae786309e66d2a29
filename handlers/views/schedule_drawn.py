"""The /meetings pages drawn once per language and data version (a cache beside the views).

Many members see the same page (the same sectors, the same answers), and drawing one (texts,
dates, a dozen typed buttons) cost more CPU than reading it (bench/updates.py). The key is
the whole page as data, so whatever the page comes to show (a new field of the model) is in
the key without a change here; a changed meeting is a new page and the old one ages out.
"""

from __future__ import annotations

from collections import OrderedDict
from zoneinfo import ZoneInfo

from bot.config import Language
from bot.i18n import Html, Texts
from bot.services.schedule import SchedulePage
from handlers.views.drawn import DrawnKeyboard
from handlers.views.schedule import page_keyboard, page_text

# Pages kept: a few per sector combination and page number; each is a few kB.
DRAWN_PAGES = 512
_drawn: OrderedDict[tuple[object, ...], tuple[Html, DrawnKeyboard]] = OrderedDict()
# A member's kept page (bot/services/schedule.py) is the same object on every ask: found by
# identity, it needs no JSON key. The entry holds the page, so its id is not reused meanwhile.
_by_identity: OrderedDict[tuple[object, ...], tuple[SchedulePage, Html, DrawnKeyboard]] = (
    OrderedDict()
)


def drawn_page(
    page: SchedulePage, language: Language, texts: Texts, zone: ZoneInfo, bot_username: str
) -> tuple[Html, DrawnKeyboard]:
    """The page's text and keyboard; drawn at most once for the same page and language."""
    same = (id(page), language, id(texts), zone, bot_username)
    known = _by_identity.get(same)
    if known is not None and known[0] is page:
        _by_identity.move_to_end(same)
        return known[1], known[2]
    drawn = _draw(page, language, texts, zone, bot_username)
    _by_identity[same] = (page, *drawn)
    if len(_by_identity) > DRAWN_PAGES:
        _by_identity.popitem(last=False)
    return drawn


def _draw(
    page: SchedulePage, language: Language, texts: Texts, zone: ZoneInfo, bot_username: str
) -> tuple[Html, DrawnKeyboard]:
    # The JSON of the page (~30 us) is the cheap exact key: the models hold lists, so they
    # cannot be hashed themselves. Texts and zone are the deployment's, kept by identity.
    key = (language, id(texts), zone, bot_username, page.model_dump_json())
    drawn = _drawn.get(key)
    if drawn is not None:
        _drawn.move_to_end(key)
        return drawn
    # PTB freezes a keyboard once built, so one object can go out with many replies.
    drawn = (
        page_text(page, language, texts, zone),
        DrawnKeyboard(page_keyboard(page, language, texts, bot_username)),
    )
    _drawn[key] = drawn
    if len(_drawn) > DRAWN_PAGES:
        _drawn.popitem(last=False)
    return drawn
