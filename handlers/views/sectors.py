"""Onboarding and sector presentation: the /sectors text and toggles, the consent and
language buttons, with their typed callback data."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Html, Texts
from bot.services.sectors import SectorsView
from handlers.callbacks import Callback, Slug
from handlers.views.drawn import DrawnKeyboard
from storage.models import Team


@dataclass(frozen=True)
class Toggle(Callback, prefix="sectors:toggle"):
    """Subscribe to or unsubscribe from one sector team: `sectors:toggle:<team>`."""

    team_id: int


@dataclass(frozen=True)
class Consent(Callback, prefix="consent:yes"):
    """Accept the privacy notice: `consent:yes`."""


@dataclass(frozen=True)
class ConsentToSector(Callback, prefix="consent:yes"):
    """Accept the privacy notice from a sector's deep link: `consent:yes:<slug>`."""

    slug: Slug


@dataclass(frozen=True)
class SetLanguage(Callback, prefix="lang:set"):
    """Choose the bot's language: `lang:set:<pl|en>`."""

    language: Literal["pl", "en"]


@dataclass(frozen=True)
class LinkGroup(Callback, prefix="group:link"):
    """Link the group the button is in to one sector team: `group:link:<slug>`."""

    slug: Slug


def link_group_keyboard(teams: list[Team], language: str) -> InlineKeyboardMarkup:
    """/link_group without a name: one button per sector team."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    team.name(language), callback_data=LinkGroup(Slug(team.slug)).pack()
                )
            ]
            for team in teams
        ]
    )


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
# is the hottest path of the bot, so each is built (and serialised) once.
@functools.lru_cache(maxsize=1024)
def _sectors_keyboard(
    teams: tuple[Team, ...], subscribed: frozenset[int], language: str, texts: Texts
) -> InlineKeyboardMarkup:
    rows = []
    for team in teams:
        key = "sectors.on" if team.id in subscribed else "sectors.off"
        label = texts.get(language, key, name=team.name(language))
        rows.append([InlineKeyboardButton(label, callback_data=Toggle(team.id).pack())])
    return DrawnKeyboard(InlineKeyboardMarkup(rows))


def language_keyboard(texts: Texts, language: str) -> InlineKeyboardMarkup:
    """Buttons to choose Polish or English."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.get(language, "language.pl"), callback_data=SetLanguage("pl").pack()
                ),
                InlineKeyboardButton(
                    texts.get(language, "language.en"), callback_data=SetLanguage("en").pack()
                ),
            ]
        ]
    )
