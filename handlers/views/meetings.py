"""Meetings presentation: the meeting card (notices, the preview, /meetings, /meeting), its
typed buttons, and the renderers of the meeting notices (new, reminder, change, cancelled)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import limits
from bot.config import Language
from bot.datefmt import zone_name as zone_name  # the zone as people say it, for prompts
from bot.engine import DeliveryEngine, Rendered
from bot.i18n import Html, Texts, escape
from bot.services import meetings as service
from bot.services.rsvp import RsvpCounts
from bot.services.schedule import MeetingView
from handlers.callbacks import Callback
from storage.models import Meeting, Team
from storage.rsvps import Answer


@dataclass(frozen=True)
class AnswerButton(Callback, prefix="rsvp"):
    """Going / maybe / not going under a meeting card: `rsvp:<answer>:<meeting>`."""

    answer: Literal["going", "maybe", "no"]
    meeting_id: int


@dataclass(frozen=True)
class IcsButton(Callback, prefix="cal:ics"):
    """ "Add to calendar" under a meeting card: the meeting's .ics file."""

    meeting_id: int


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


def pick_label(meeting: Meeting, language: Language, zone: ZoneInfo) -> str:
    """A picker button: number, short date and time, title (plain text, as buttons show it;
    a long title is cut, Telegram would cut it anyway)."""
    title = meeting.title if len(meeting.title) <= 40 else meeting.title[:39] + "…"
    when = _short_date(meeting.starts_at, language, zone)
    return f"{meeting.id}. {when} {local_time(meeting.starts_at, language, zone)} · {title}"


_MINE_KEYS: dict[Answer, str] = {
    "going": "meetings.card-mine-going",
    "maybe": "meetings.card-mine-maybe",
    "not_going": "meetings.card-mine-not-going",
}


def mine_line(view: MeetingView, language: Language, texts: Texts) -> str | None:
    """The member's own answer as the card says it ("Twoja odpowiedź: …"), the waiting-list
    position included; None before they answer."""
    mine = view.mine
    if mine is None:
        return None
    if mine.waiting:
        if view.waiting_rank is None:
            return texts.get(language, "meetings.card-mine-waiting-list")
        return texts.get(language, "meetings.card-mine-waiting", position=view.waiting_rank)
    return texts.get(language, _MINE_KEYS[mine.answer])


def card_keyboard(meeting: Meeting, language: Language, texts: Texts) -> InlineKeyboardMarkup:
    """RSVP buttons and "Add to calendar" (callbacks `rsvp:<answer>:<id>`, `cal:ics:<id>`)."""
    mid = meeting.id

    def button(key: str, press: Callback) -> InlineKeyboardButton:
        return InlineKeyboardButton(texts.get(language, key), callback_data=press.pack())

    return InlineKeyboardMarkup(
        [
            [
                button("meetings.card-going", AnswerButton("going", mid)),
                button("meetings.card-maybe", AnswerButton("maybe", mid)),
                button("meetings.card-not-going", AnswerButton("no", mid)),
            ],
            [button("meetings.card-calendar", IcsButton(mid))],
        ]
    )


# ---------------------------------------------------------------- notices


def format_lead(minutes: int, language: Language, texts: Texts) -> str:
    """`1 dzień`, `3 godziny`, `1 h 30 min`-style lead time in words."""
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(texts.plural(language, "meetings.lead-days", days))
    if hours:
        parts.append(texts.plural(language, "meetings.lead-hours", hours))
    if mins:
        parts.append(texts.plural(language, "meetings.lead-minutes", mins))
    return " ".join(parts)


def _short_date(instant: datetime, language: Language, zone: ZoneInfo) -> str:
    return str(format_date(instant.astimezone(zone).date(), "EEE d.MM.y", locale=language))


def _series_line(
    starts: Sequence[datetime], language: Language, texts: Texts, zone: ZoneInfo
) -> str:
    shown = ", ".join(
        _short_date(start, language, zone) for start in starts[: service.SERIES_DATES_SHOWN]
    )
    line = texts.plural(language, "meetings.series-dates", len(starts), dates=shown)
    hidden = len(starts) - service.SERIES_DATES_SHOWN
    if hidden > 0:
        line = Html(line + " " + texts.plural(language, "meetings.series-more", hidden))
    return line


def _with_card(
    header: str, notice: service.SeriesNotice, language: Language, texts: Texts, zone: ZoneInfo
) -> Html:
    # The header already says what happened: a cancelled card does not say it again.
    meeting = notice.meeting.model_copy(update={"state": "scheduled"})
    parts: list[str] = [header, card_text(meeting, notice.team, language, texts, zone)]
    if len(notice.starts) > 1:
        parts.append(_series_line(notice.starts, language, texts, zone))
    return Html("\n\n".join(parts))


def publication_text(
    notice: service.SeriesNotice, language: Language, texts: Texts, zone: ZoneInfo
) -> Html:
    """The notice subscribers get when a meeting (or a series) is published."""
    return _with_card(texts.get(language, "meetings.notice-new"), notice, language, texts, zone)


def cancellation_text(
    notice: service.SeriesNotice, language: Language, texts: Texts, zone: ZoneInfo
) -> Html:
    """The notice that a meeting (or the rest of a series) is cancelled."""
    header = texts.get(language, "meetings.notice-cancelled")
    return _with_card(header, notice, language, texts, zone)


def reminder_text(
    notice: service.ReminderNotice, language: Language, texts: Texts, zone: ZoneInfo
) -> Html:
    """The reminder sent `lead` minutes before a meeting."""
    lead = format_lead(notice.lead_minutes, language, texts)
    header = texts.get(language, "meetings.notice-reminder", lead=lead)
    return Html(header + "\n\n" + card_text(notice.meeting, notice.team, language, texts, zone))


def _cut(value: object) -> object:
    if isinstance(value, str) and len(value) > service.CHANGE_VALUE_MAX:
        return value[: service.CHANGE_VALUE_MAX - 1] + "…"
    return value


def change_lines(
    old: Meeting, new: Meeting, language: Language, texts: Texts, zone: ZoneInfo
) -> list[str]:
    """A line per changed field: old -> new (the change notice and the edit form's preview)."""
    none = texts.get(language, "meetings.none")
    lines: list[str] = []

    def line(key: str, before: object, after: object) -> None:
        lines.append(texts.get(language, key, old=_cut(before), new=_cut(after)))

    if old.title != new.title:
        line("meetings.changed-title", old.title, new.title)
    if old.starts_at != new.starts_at:
        line(
            "meetings.changed-start",
            local_when(old.starts_at, language, zone),
            local_when(new.starts_at, language, zone),
        )
    if old.duration_minutes != new.duration_minutes:
        line("meetings.changed-duration", old.duration_minutes, new.duration_minutes)
    if old.place != new.place:
        line("meetings.changed-place", old.place or none, new.place or none)
    if old.online_url != new.online_url:
        line("meetings.changed-online", old.online_url or none, new.online_url or none)
    if old.agenda != new.agenda:
        lines.append(texts.get(language, "meetings.changed-agenda"))
    if old.capacity != new.capacity:
        unlimited = texts.get(language, "meetings.unlimited")
        line("meetings.changed-capacity", old.capacity or unlimited, new.capacity or unlimited)
    return lines


def change_text(
    notice: service.ChangeNotice, language: Language, texts: Texts, zone: ZoneInfo
) -> Html:
    """The notice telling what changed (old -> new), with the updated card."""
    old, new = notice.old, notice.new
    parts: list[str] = [
        texts.get(language, "meetings.notice-changed"),
        "\n".join(change_lines(old, new, language, texts, zone)),
    ]
    if notice.count > 1:
        parts.append(texts.plural(language, "meetings.changed-series", notice.count))
    parts.append(card_text(new, notice.team, language, texts, zone))
    return Html("\n\n".join(parts))


def publication(
    notice: service.SeriesNotice, language: Language, texts: Texts, zone: ZoneInfo
) -> Rendered:
    """The publication notice with the first meeting's buttons (also the moderator's preview)."""
    return Rendered(
        text=publication_text(notice, language, texts, zone),
        markup=card_keyboard(notice.meeting, language, texts),
    )


def _published(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    return publication(service.SeriesNotice.model_validate(data), language, texts, zone)


def _reminder(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    notice = service.ReminderNotice.model_validate(data)
    return Rendered(
        text=reminder_text(notice, language, texts, zone),
        markup=card_keyboard(notice.meeting, language, texts),
    )


def _changed(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    notice = service.ChangeNotice.model_validate(data)
    return Rendered(
        text=change_text(notice, language, texts, zone),
        markup=card_keyboard(notice.new, language, texts),
    )


def _cancelled(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    notice = service.SeriesNotice.model_validate(data)
    return Rendered(text=cancellation_text(notice, language, texts, zone))


def register(engine: DeliveryEngine) -> None:
    """Render the meeting notices: new, reminder, changed, cancelled."""
    engine.add_renderer(service.NEW_KIND, _published)
    engine.add_renderer(service.REMINDER_KIND, _reminder)
    engine.add_renderer(service.CHANGE_KIND, _changed)
    engine.add_renderer(service.CANCELLED_KIND, _cancelled)
