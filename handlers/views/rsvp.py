"""RSVP presentation: the card's answer buttons, the waiting-list notice, the attendee CSV."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import csvfile
from bot.config import Language
from bot.engine import DeliveryEngine, Rendered
from bot.i18n import Texts
from bot.services import rsvp as rsvp_service
from handlers.callbacks import Callback
from handlers.views.meetings import AnswerButton, local_when
from handlers.views.schedule import OpenMeeting

# The answer buttons are part of the meeting card (handlers/views/meetings.py).
__all__ = ["AnswerButton", "CsvButton", "attendees_csv", "promoted", "register"]


@dataclass(frozen=True)
class CsvButton(Callback, prefix="rsvp:csv"):
    """The moderator's attendee CSV of a meeting."""

    meeting_id: int


def promoted(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    """The notice a member gets on moving from the waiting list to a place."""
    notice = rsvp_service.Promoted.model_validate(data)
    meeting = notice.meeting
    body = texts.get(
        language,
        "rsvp.promoted",
        title=meeting.title,
        team=notice.team.name(language),
        when=local_when(meeting.starts_at, language, zone),
    )
    button = InlineKeyboardButton(
        texts.get(language, "rsvp.open-meeting"), callback_data=OpenMeeting(meeting.id).pack()
    )
    return Rendered(text=body, markup=InlineKeyboardMarkup([[button]]))


def register(engine: DeliveryEngine) -> None:
    """Render the waiting-list notice."""
    engine.add_renderer(rsvp_service.PROMOTED_KIND, promoted)


# Excel opens a CSV with the list separator of its regional settings: ';' where the decimal
# separator is a comma (Poland), ',' in English locales.
CSV_DELIMITER: dict[Language, str] = {"pl": ";", "en": ","}
_ANSWER_KEYS: dict[str, str] = {
    "going": "rsvp.csv-going",
    "waiting": "rsvp.csv-waiting",
    "maybe": "rsvp.csv-maybe",
    "not_going": "rsvp.csv-not-going",
}


def attendees_csv(
    export: rsvp_service.AttendeeExport, language: Language, texts: Texts, zone: ZoneInfo
) -> bytes:
    """The attendee list as a spreadsheet-safe CSV (see bot.csvfile): first and last name,
    @username, organisation, answer, waiting-list position, time of the answer (local)."""
    header = [
        texts.get(language, "rsvp.csv-first-name"),
        texts.get(language, "rsvp.csv-last-name"),
        texts.get(language, "rsvp.csv-username"),
        texts.get(language, "rsvp.csv-organisation"),
        texts.get(language, "rsvp.csv-answer"),
        texts.get(language, "rsvp.csv-position"),
        texts.get(language, "rsvp.csv-answered-at"),
    ]
    rows: list[list[csvfile.Cell]] = []
    rank = 0
    for person in export.attendees:
        status = "waiting" if person.waitlist_position is not None else person.answer
        position = None
        if person.waitlist_position is not None:
            rank += 1  # attendees come in waiting-list order
            position = rank
        first_name = person.first_name
        if first_name is None and person.last_name is None and person.username is None:
            # Nothing known (no consent yet, or erased): say who it is by their number.
            first_name = texts.get(language, "rsvp.csv-unknown-person", id=person.user_id)
        rows.append(
            [
                first_name,
                person.last_name,
                # Without the "@": a cell starting with it would be neutralised as a formula.
                person.username,
                person.organisation,
                texts.get(language, _ANSWER_KEYS[status]),
                position,
                person.answered_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            ]
        )
    return csvfile.write(header, rows, CSV_DELIMITER[language])
