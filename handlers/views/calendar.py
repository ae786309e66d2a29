"""Calendar presentation: the "Add to calendar" button and the Google Calendar link under a file."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import Language
from bot.i18n import Texts
from bot.services import calendar as calendar_service
from handlers.callbacks import Callback
from storage.models import Meeting, Team


@dataclass(frozen=True)
class IcsButton(Callback, prefix="cal:ics"):
    """A meeting as an .ics file (the card's "Add to calendar"): `cal:ics:<meeting>`."""

    meeting_id: int


def google_button(
    meeting: Meeting,
    team: Team,
    language: Language,
    texts: Texts,
    *,
    bot_username: str,
    zone: ZoneInfo,
) -> InlineKeyboardButton:
    """A link that adds the meeting to Google Calendar."""
    url = calendar_service.google_calendar_url(
        meeting, language, team=team, bot_username=bot_username, zone=zone
    )
    return InlineKeyboardButton(texts.get(language, "calendar.google"), url=url)


def google_keyboard(
    meeting: Meeting,
    team: Team,
    language: Language,
    texts: Texts,
    *,
    bot_username: str,
    zone: ZoneInfo,
) -> InlineKeyboardMarkup:
    """The Google Calendar link under an .ics file."""
    button = google_button(meeting, team, language, texts, bot_username=bot_username, zone=zone)
    return InlineKeyboardMarkup([[button]])
