"""Calendar presentation: the "Add to calendar" button and the Google Calendar link under a file."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import ics
from bot.config import Language
from bot.i18n import Texts
from storage.models import Meeting, Team


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
    url = ics.google_calendar_url(
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
