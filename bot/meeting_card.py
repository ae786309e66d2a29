"""The meeting card: one rendering for notices, the preview, /meetings and /meeting."""

from __future__ import annotations

import functools
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_time
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import limits
from bot.config import Language
from bot.i18n import Html, Texts, escape
from bot.services.rsvp import RsvpCounts
from storage.models import Meeting, Team

# A card leaves this much of a message for the notice around it (a header, a series line).
NOTICE_ROOM = 600
CARD_LIMIT = limits.TEXT_LIMIT - NOTICE_ROOM


# Babel's pattern formatting costs ~60 us a date, paid for every line of every /meetings
# page (issue 12); the same few hundred starts are shown again and again.
@functools.lru_cache(maxsize=4096)
def local_when(starts_at: datetime, language: Language, zone: ZoneInfo) -> str:
    """The start as people read it: weekday, date and time in the deployment's zone."""
    return str(
        format_datetime(starts_at.astimezone(zone), "EEEE, d MMMM y, HH:mm", locale=language)
    )


def local_time(instant: datetime, language: Language, zone: ZoneInfo) -> str:
    """Only the local time of day (HH:mm)."""
    return str(format_time(instant.astimezone(zone), "HH:mm", locale=language))


def card_text(
    meeting: Meeting,
    team: Team,
    language: Language,
    texts: Texts,
    zone: ZoneInfo,
    counts: RsvpCounts | None = None,
) -> Html:
    """Render the card: title, team, when, duration, place/link, agenda, capacity, counts.

    Only the agenda can make it too long (the other fields are short): it is then cut, and
    the card says the whole agenda is in the calendar file ("Add to calendar").
    """
    card = _card_text(meeting, team, language, texts, zone, counts, meeting.agenda)
    over = limits.html_length(card) - CARD_LIMIT
    if over <= 0 or not meeting.agenda:
        return card
    note = texts.get(language, "meetings.card-agenda-shortened")
    keep = max(0, limits.utf16_len(meeting.agenda) - over - limits.html_length(note) - 2)
    agenda = Html(escape(limits.plain_prefix(meeting.agenda, keep)) + "\n" + note)
    return Html(
        limits.shorten(_card_text(meeting, team, language, texts, zone, counts, agenda), CARD_LIMIT)
    )


def _card_text(
    meeting: Meeting,
    team: Team,
    language: Language,
    texts: Texts,
    zone: ZoneInfo,
    counts: RsvpCounts | None,
    agenda: str | None,
) -> Html:
    lines: list[str] = [texts.get(language, "meetings.card-title", title=meeting.title)]
    if meeting.state == "cancelled":
        lines.append(texts.get(language, "meetings.card-cancelled"))
    lines.append(texts.get(language, "meetings.card-team", team=team.name(language)))
    lines.append(
        texts.get(
            language,
            "meetings.card-when",
            when=local_when(meeting.starts_at, language, zone),
            end=local_time(meeting.ends_at, language, zone),
        )
    )
    lines.append(texts.plural(language, "meetings.card-duration", meeting.duration_minutes))
    if meeting.place:
        lines.append(texts.get(language, "meetings.card-place", place=meeting.place))
    if meeting.online_url:
        lines.append(texts.get(language, "meetings.card-online", url=meeting.online_url))
    if meeting.capacity is not None:
        lines.append(texts.plural(language, "meetings.card-capacity", meeting.capacity))
    if agenda:
        lines.append("")
        lines.append(texts.get(language, "meetings.card-agenda", agenda=agenda))
    if counts is not None:
        lines.append("")
        lines.append(
            texts.get(
                language,
                "meetings.card-counts",
                going=counts.going,
                maybe=counts.maybe,
                not_going=counts.not_going,
            )
        )
        if counts.waiting:
            lines.append(texts.plural(language, "meetings.card-waiting", counts.waiting))
    return Html("\n".join(lines))


def card_keyboard(meeting: Meeting, language: Language, texts: Texts) -> InlineKeyboardMarkup:
    """RSVP buttons and "Add to calendar" (callbacks `rsvp:<answer>:<id>`, `cal:ics:<id>`)."""
    mid = meeting.id
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.get(language, "meetings.card-going"), callback_data=f"rsvp:going:{mid}"
                ),
                InlineKeyboardButton(
                    texts.get(language, "meetings.card-maybe"), callback_data=f"rsvp:maybe:{mid}"
                ),
                InlineKeyboardButton(
                    texts.get(language, "meetings.card-not-going"), callback_data=f"rsvp:no:{mid}"
                ),
            ],
            [
                InlineKeyboardButton(
                    texts.get(language, "meetings.card-calendar"), callback_data=f"cal:ics:{mid}"
                )
            ],
        ]
    )
