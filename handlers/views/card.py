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
from handlers.views.meetings import card_keyboard, card_text, mine_line
from handlers.views.rsvp import AnswerButton, CsvButton
from storage.rsvps import Answer


@dataclass(frozen=True)
class EditMeeting(Callback, prefix="mtg:edit"):
    """A moderator edits a meeting from its card (handled by handlers.meetings)."""

    meeting_id: int


@dataclass(frozen=True)
class CancelMeeting(Callback, prefix="mtg:cancel"):
    """A moderator cancels a meeting from its card (handled by handlers.meetings)."""

    meeting_id: int


# The card's answer buttons (`rsvp:<button>:<id>`) by the answer they give.
_BUTTON_ANSWERS: dict[str, Answer] = {"going": "going", "maybe": "maybe", "no": "not_going"}
_CHOSEN_KEYS: dict[Answer, str] = {
    "going": "meetings.card-going-chosen",
    "maybe": "meetings.card-maybe-chosen",
    "not_going": "meetings.card-not-going-chosen",
}


def _mark_chosen(
    rows: list[list[InlineKeyboardButton]], view: MeetingView, language: Language, texts: Texts
) -> list[list[InlineKeyboardButton]]:
    """The button of the member's answer shows it is chosen (✓)."""
    if view.mine is None:
        return rows
    chosen = view.mine.answer
    marked: list[list[InlineKeyboardButton]] = []
    for row in rows:
        new_row = []
        for b in row:
            press = AnswerButton.parse(b.callback_data)
            if press is not None and _BUTTON_ANSWERS[press.answer] == chosen:
                b = InlineKeyboardButton(
                    texts.get(language, _CHOSEN_KEYS[chosen]), callback_data=b.callback_data
                )
            new_row.append(b)
        marked.append(new_row)
    return marked


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
    """The card of one meeting for this member: their own answer (the chosen button marked,
    the waiting-list position), counts and export only for its moderators."""
    meeting = view.meeting
    counts = view.counts if moderator_tools else None
    body = card_text(meeting, view.team, language, texts, zone, counts)
    mine = mine_line(view, language, texts)
    if mine is not None:
        body = Html(body + "\n\n" + mine)
    rows = [list(row) for row in card_keyboard(meeting, language, texts).inline_keyboard]
    rows = _mark_chosen(rows, view, language, texts)
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
