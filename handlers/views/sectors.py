"""Inline keyboards shared by several handlers; callback data is `feature:action[:id]`."""

from __future__ import annotations

import functools

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Html, Texts
from bot.services.sectors import SectorsView
from storage.models import Team


def sectors_text(view: SectorsView, language: str, texts: Texts) -> Html:
    """The /sectors message: what to do and how many teams the user follows."""
    return _sectors_text(len(view.subscribed), language, texts)


@functools.lru_cache(maxsize=256)
def _sectors_text(count: int, language: str, texts: Texts) -> Html:
    plural = texts.plural(language, "sectors.count", count)
    return Html(texts.get(language, "sectors.intro") + "\n\n" + plural)


def sectors_keyboard(view: SectorsView, language: str, texts: Texts) -> InlineKeyboardMarkup:
    """One toggle per sector team, with a visible subscribed marker."""
    return _sectors_keyboard(view.teams, view.subscribed, language, texts)


# Keyboards are immutable and few (a language x a set of subscriptions): the /sectors toggle
# is the hottest path of the bot, so each is built once.
@functools.lru_cache(maxsize=1024)
def _sectors_keyboard(
    teams: tuple[Team, ...], subscribed: frozenset[int], language: str, texts: Texts
) -> InlineKeyboardMarkup:
    rows = []
    for team in teams:
        key = "sectors.on" if team.id in subscribed else "sectors.off"
        label = texts.get(language, key, name=team.name(language))
        rows.append([InlineKeyboardButton(label, callback_data=f"sectors:toggle:{team.id}")])
    return InlineKeyboardMarkup(rows)


def language_keyboard(texts: Texts, language: str) -> InlineKeyboardMarkup:
    """Buttons to choose Polish or English."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.get(language, "language.pl"), callback_data="lang:set:pl"
                ),
                InlineKeyboardButton(
                    texts.get(language, "language.en"), callback_data="lang:set:en"
                ),
            ]
        ]
    )
