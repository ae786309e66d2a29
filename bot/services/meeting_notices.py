"""Sector meetings' notices as data: the kinds, their pydantic payloads, and queueing the
immediate notices and the reminders (the engine renders them per recipient's language)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from bot.services import delivery
from storage.models import Meeting, Team
from storage.unit import Unit

# The notice kinds; each face registers a renderer per kind (handlers/views/meetings.py).
NEW_KIND = "meeting-notice"
CHANGE_KIND = "meeting-change"
CANCELLED_KIND = "meeting-cancelled"
REMINDER_KIND = "meeting-reminder"

# Dates of a series listed in its notice; the rest is counted ("and 8 more").
SERIES_DATES_SHOWN = 12
# Old and new values in a change notice are cut to this length, so that the notice with the
# full card stays under Telegram's 4,096 characters (the card itself shows the new value).
CHANGE_VALUE_MAX = 120


def register(registry: delivery.Registry) -> None:
    """Meetings' audience and notice kinds for the delivery engine."""
    # The 'meeting' audience: the team's subscribers plus whoever RSVPed going/maybe, minus
    # whoever answered not going (used by reminders, change and cancellation notices).
    registry.add_audience("meeting", lambda unit, key: unit.meetings.list_notice_recipients(key))
    registry.add_kinds("news", NEW_KIND, CHANGE_KIND, CANCELLED_KIND)
    registry.add_kinds("reminder", REMINDER_KIND)


class SeriesNotice(BaseModel):
    """Notice data: a meeting (or a series from it) was published or cancelled."""

    model_config = ConfigDict(frozen=True)

    team: Team
    meeting: Meeting  # the first one: its card (and, once published, its buttons)
    starts: tuple[datetime, ...]  # every occurrence's start; a series lists its dates


class ReminderNotice(BaseModel):
    """Notice data: a meeting starts in `lead_minutes`."""

    model_config = ConfigDict(frozen=True)

    team: Team
    meeting: Meeting
    lead_minutes: int


class ChangeNotice(BaseModel):
    """Notice data: what changed in a meeting (every changed field), in how many occurrences."""

    model_config = ConfigDict(frozen=True)

    team: Team
    old: Meeting
    new: Meeting
    count: int


def series(meetings: Sequence[Meeting], team: Team) -> SeriesNotice:
    """The notice data of a meeting or a series (its first meeting's card, every start)."""
    return SeriesNotice(team=team, meeting=meetings[0], starts=tuple(m.starts_at for m in meetings))


def notify(
    unit: Unit,
    *,
    kind: str,
    audience: str,
    audience_id: int,
    about: Meeting,
    data: BaseModel,
    actor_id: int,
    now: datetime,
) -> None:
    """Queue one immediate notice about a meeting (subject 'meeting:<id>')."""
    delivery.announce(
        unit,
        kind=kind,
        audience=audience,
        audience_id=audience_id,
        data=data,
        now=now,
        subject=f"meeting:{about.id}",
        created_by=actor_id,
    )


def schedule_reminders(
    unit: Unit,
    meeting: Meeting,
    team: Team,
    now: datetime,
    created_by: int,
) -> int:
    """Queue one reminder per lead time still ahead; each expires when the meeting starts."""
    queued = 0
    for lead in meeting.reminder_minutes:
        due = meeting.starts_at - timedelta(minutes=lead)
        if due < now:
            continue  # a lead time already past is skipped, never sent late
        delivery.announce(
            unit,
            kind=REMINDER_KIND,
            audience="meeting",
            audience_id=meeting.id,
            data=ReminderNotice(team=team, meeting=meeting, lead_minutes=lead),
            now=now,
            due_at=due,
            expires_at=meeting.starts_at,
            subject=f"meeting:{meeting.id}",
            created_by=created_by,
            lead_minutes=lead,
        )
        queued += 1
    return queued
