"""The meeting card a member opens: its text, answers, calendar and, for moderators, tools."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import Language
from bot.i18n import Html, Texts
from bot.services.schedule import MeetingView
from handlers.callbacks import Callback
from handlers.views.calendar import google_button
from handlers.views.meetings import card_keyboard, card_text
from handlers.views.rsvp import AnswerButton, CsvButton


@dataclass(frozen=True)
class EditMeeting(Callback, prefix="mtg:edit"):
    """A moderator edits a meeting from its card (handled by handlers.meetings)."""

    meeting_id: int


@dataclass(frozen=True)
class CancelMeeting(Callback, prefix="mtg:cancel"):
    """A moderator cancels a meeting from its card (handled by handlers.meetings)."""

    meeting_id: int


def _open_for_answers(view: MeetingView, now: datetime) -> bool:
    return view.meeting.state == "scheduled" and view.meeting.starts_at > now


def meeting_card(
    view: MeetingView,
    language: Language,
    texts: Texts,
    *,
    zone: ZoneInfo,
    bot_username: str,
    now: datetime,
    moderator_tools: bool,
) -> tuple[Html, InlineKeyboardMarkup]:
    """The card of one meeting for this member: counts and export only for its moderators."""
    meeting = view.meeting
    counts = view.counts if moderator_tools else None
    body = card_text(meeting, view.team, language, texts, zone, counts)
    rows = [list(row) for row in card_keyboard(meeting, language, texts).inline_keyboard]
    is_open = _open_for_answers(view, now)
    if not is_open:
        # Cancelled or started: the .ics stays (it carries the cancellation), answers go.
        rows = [[b for b in row if AnswerButton.parse(b.callback_data) is None] for row in rows]
        rows = [row for row in rows if row]
    else:
        google = google_button(
            meeting, view.team, language, texts, bot_username=bot_username, zone=zone
        )
        rows.append([google])
    if moderator_tools and counts is not None:
        csv = CsvButton(meeting.id).pack()
        rows.append(
            [InlineKeyboardButton(texts.get(language, "rsvp.export-csv"), callback_data=csv)]
        )
        if is_open:
            rows.append(
                [
                    InlineKeyboardButton(
                        texts.get(language, "schedule.button-edit"),
                        callback_data=EditMeeting(meeting.id).pack(),
                    ),
                    InlineKeyboardButton(
                        texts.get(language, "schedule.button-cancel"),
                        callback_data=CancelMeeting(meeting.id).pack(),
                    ),
                ]
            )
    return body, InlineKeyboardMarkup(rows)
