"""Sector meetings, changing what is published: /edit_meeting (several fields at once, one
notice) and /cancel_meeting, for a meeting or the rest of its series; the meetings a
moderator may change (the pickers of both commands)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.errors import DomainError, NotAllowed
from bot.services import audit, delivery
from bot.services import rsvp as rsvp_service
from bot.services.meeting_input import PLACE_MAX, PLACE_MIN, InvalidInput, check_start
from bot.services.meeting_notices import (
    CANCELLED_KIND,
    CHANGE_KIND,
    REMINDER_KIND,
    ChangeNotice,
    notify,
    schedule_reminders,
    series,
)
from bot.services.users import Actor
from storage.database import Database
from storage.models import Meeting, Team
from storage.unit import Unit

Scope = Literal["one", "series"]
EditField = Literal["title", "start", "duration", "place", "agenda", "capacity"]
EDIT_FIELDS: tuple[EditField, ...] = ("title", "start", "duration", "place", "agenda", "capacity")
# The pickers of /edit_meeting and /cancel_meeting show this many upcoming meetings.
PICK_MAX = 10


class MeetingNotFound(DomainError):
    key = "meetings.not-found"


class MeetingCancelled(DomainError):
    key = "meetings.already-cancelled"


class MeetingStarted(DomainError):
    key = "meetings.already-started"


class Unchanged(DomainError):
    key = "meetings.edit-unchanged"


class Managed(BaseModel):
    """A meeting a moderator may change, with its team and how many occurrences follow it."""

    model_config = ConfigDict(frozen=True)

    meeting: Meeting
    team: Team
    later_in_series: int


class Change(BaseModel):
    """One field's new value, as read from the moderator's answer (None: remove it)."""

    model_config = ConfigDict(frozen=True)

    field: EditField
    title: str | None = None
    local_start: datetime | None = None
    duration_minutes: int | None = None
    place: str | None = None
    online_url: str | None = None
    agenda: str | None = None
    capacity: int | None = None


def _managed(unit: Unit, actor: Actor, meeting_id: int, now: datetime) -> tuple[Meeting, Team]:
    meeting = unit.meetings.get_meeting(meeting_id)
    if meeting is None:
        raise MeetingNotFound(id=meeting_id)
    team = unit.teams.get_team(meeting.team_id)
    if team is None or not actor.moderates(team.id):
        raise NotAllowed()
    if meeting.state == "cancelled":
        raise MeetingCancelled(id=meeting_id)
    if meeting.starts_at <= now:
        raise MeetingStarted(id=meeting_id)
    return meeting, team


def _targets(unit: Unit, meeting: Meeting, scope: Scope) -> list[Meeting]:
    if scope == "one" or meeting.series_id is None:
        return [meeting]
    return unit.meetings.list_series_meetings(meeting.series_id, starting_from=meeting.starts_at)


async def get_managed(db: Database, actor: Actor, meeting_id: int, now: datetime) -> Managed:
    """A meeting the actor may edit or cancel (not started, not cancelled)."""

    def inner(unit: Unit) -> Managed:
        meeting, team = _managed(unit, actor, meeting_id, now)
        later = len(_targets(unit, meeting, "series")) - 1
        return Managed(meeting=meeting, team=team, later_in_series=later)

    return await db.run(inner)


async def managed_meetings(db: Database, actor: Actor, now: datetime) -> list[Managed]:
    """The next meetings the actor may edit or cancel (admins: every sector's), soonest first."""

    def inner(unit: Unit) -> list[Managed]:
        teams = {t.id: t for t in unit.teams.list_teams("sector") if actor.moderates(t.id)}
        meetings = unit.meetings.list_meetings(team_ids=teams.keys(), since=now, limit=PICK_MAX)
        return [Managed(meeting=m, team=teams[m.team_id], later_in_series=0) for m in meetings]

    return await db.run(inner)


def _values(meeting: Meeting) -> dict[str, object]:
    return {
        "title": meeting.title,
        "starts_at": meeting.starts_at,
        "duration_minutes": meeting.duration_minutes,
        "place": meeting.place,
        "online_url": meeting.online_url,
        "agenda": meeting.agenda,
        "capacity": meeting.capacity,
    }


def _shift(meeting: Meeting, changes: Sequence[Change], zone: ZoneInfo) -> timedelta:
    """How far the new start moves the wall time (the same shift for the rest of a series)."""
    for change in changes:
        if change.field == "start":
            if change.local_start is None:
                raise InvalidInput("meetings.bad-start-format")
            return change.local_start - meeting.starts_at.astimezone(zone).replace(tzinfo=None)
    return timedelta()


def _changed(
    old: Meeting, changes: Sequence[Change], zone: ZoneInfo, now: datetime, shift: timedelta
) -> dict[str, object]:
    values = _values(old)
    for change in changes:
        if change.field == "title":
            values["title"] = change.title
        elif change.field == "start":
            # Shift the local wall time, so a series keeps its wall time across DST.
            local = old.starts_at.astimezone(zone).replace(tzinfo=None) + shift
            values["starts_at"] = check_start(local, zone, now)
        elif change.field == "duration":
            values["duration_minutes"] = change.duration_minutes
        elif change.field == "place":
            values["place"], values["online_url"] = change.place, change.online_url
        elif change.field == "agenda":
            values["agenda"] = change.agenda
        else:
            values["capacity"] = change.capacity
    if values["place"] is None and values["online_url"] is None:
        raise InvalidInput("meetings.bad-place", min=PLACE_MIN, max=PLACE_MAX)
    return values


async def preview_edit(
    db: Database,
    actor: Actor,
    meeting_id: int,
    changes: Sequence[Change],
    scope: Scope,
    *,
    now: datetime,
    zone: ZoneInfo,
) -> ChangeNotice:
    """The meeting before and after the changes so far (nothing stored): the form's preview."""

    def inner(unit: Unit) -> ChangeNotice:
        meeting, team = _managed(unit, actor, meeting_id, now)
        targets = _targets(unit, meeting, scope)
        values = _changed(meeting, changes, zone, now, _shift(meeting, changes, zone))
        new = meeting.model_copy(update=values)
        return ChangeNotice(team=team, old=meeting, new=new, count=len(targets))

    return await db.run(inner)


async def edit(
    db: Database,
    actor: Actor,
    meeting_id: int,
    changes: Sequence[Change],
    scope: Scope,
    *,
    now: datetime,
    zone: ZoneInfo,
) -> list[Meeting]:
    """Save every change of the form to a meeting (or it and the later ones of its series).

    Pending reminders of every changed meeting are cancelled and queued again for the new
    start, so none is ever sent for the old time; ONE 'meeting-change' notice lists every
    changed field, and each changed meeting's revision grows by exactly one.
    """

    def inner(unit: Unit) -> list[Meeting]:
        meeting, team = _managed(unit, actor, meeting_id, now)
        shift = _shift(meeting, changes, zone)
        pairs: list[tuple[Meeting, Meeting]] = []
        for old in _targets(unit, meeting, scope):
            values = _changed(old, changes, zone, now, shift)
            if values == _values(old):
                continue
            new = unit.meetings.update_meeting(old.id, now=now, **values)  # type: ignore[arg-type]
            delivery.cancel_pending(
                unit, subject=f"meeting:{old.id}", now=now, kinds=[REMINDER_KIND]
            )
            schedule_reminders(unit, new, team, now, actor.user_id)
            if new.capacity != old.capacity:
                # A larger capacity frees places: those waiting get them, in order, at once.
                rsvp_service.fill_free_places(unit, new, team, now)
            pairs.append((old, new))
        if not pairs:
            raise Unchanged()
        old, new = pairs[0]
        notify(
            unit,
            kind=CHANGE_KIND,
            audience="meeting",
            audience_id=new.id,
            about=new,
            data=ChangeNotice(team=team, old=old, new=new, count=len(pairs)),
            actor_id=actor.user_id,
            now=now,
        )
        audit.record(
            unit,
            actor_id=actor.user_id,
            action="meeting.edit",
            target=f"meeting:{new.id}",
            details={
                "sector": team.slug,
                "title": new.title,
                "field": ",".join(change.field for change in changes),
                "scope": scope,
                "meetings": [pair[1].id for pair in pairs],
            },
            now=now,
        )
        return [pair[1] for pair in pairs]

    return await db.run(inner)


async def cancel(
    db: Database,
    actor: Actor,
    meeting_id: int,
    scope: Scope,
    *,
    now: datetime,
) -> list[Meeting]:
    """Cancel a meeting (or it and the later ones of its series): everything still pending
    about it is cancelled or expired, and one 'meeting-cancelled' notice goes out."""

    def inner(unit: Unit) -> list[Meeting]:
        meeting, team = _managed(unit, actor, meeting_id, now)
        cancelled = []
        for target in _targets(unit, meeting, scope):
            unit.meetings.update_meeting_cancelled(target.id, now)
            delivery.cancel_pending(unit, subject=f"meeting:{target.id}", now=now)
            cancelled.append(
                target.model_copy(
                    update={
                        "state": "cancelled",
                        "updated_at": now,
                        "revision": target.revision + 1,
                    }
                )
            )
        first = cancelled[0]
        notify(
            unit,
            kind=CANCELLED_KIND,
            audience="meeting",
            audience_id=first.id,
            about=first,
            data=series(cancelled, team),
            actor_id=actor.user_id,
            now=now,
        )
        audit.record(
            unit,
            actor_id=actor.user_id,
            action="meeting.cancel",
            target=f"meeting:{first.id}",
            details={
                "sector": team.slug,
                "title": first.title,
                "scope": scope,
                "meetings": [target.id for target in cancelled],
            },
            now=now,
        )
        return cancelled

    return await db.run(inner)
