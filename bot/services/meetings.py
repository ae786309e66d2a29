"""Sector meetings, moderator side: publish, edit and cancel meetings and series; their
notices (as data) and reminders are queued in the same transaction. Reading what moderators
type, and the time rule for local times, is bot/services/meeting_input.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.config import MeetingsConfig
from bot.errors import DomainError, NotAllowed, UnknownSector
from bot.services import audit, delivery
from bot.services import rsvp as rsvp_service
from bot.services.meeting_input import (
    PLACE_MAX,
    PLACE_MIN,
    InvalidInput,
    MeetingDraft,
    check_start,
    occurrences,
    resolve_local,
)
from bot.services.users import Actor
from storage.database import Database
from storage.models import Meeting, Team
from storage.unit import Unit


def register(registry: delivery.Registry) -> None:
    """Meetings' audience and notice kinds for the delivery engine."""
    # The 'meeting' audience: the team's subscribers plus whoever RSVPed going/maybe, minus
    # whoever answered not going (used by reminders, change and cancellation notices).
    registry.add_audience("meeting", lambda unit, key: unit.meetings.list_notice_recipients(key))
    registry.add_kinds("news", NEW_KIND, CHANGE_KIND, CANCELLED_KIND)
    registry.add_kinds("reminder", REMINDER_KIND)


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

Scope = Literal["one", "series"]
EditField = Literal["title", "start", "duration", "place", "agenda", "capacity"]
EDIT_FIELDS: tuple[EditField, ...] = ("title", "start", "duration", "place", "agenda", "capacity")


class MeetingNotFound(DomainError):
    key = "meetings.not-found"


class MeetingCancelled(DomainError):
    key = "meetings.already-cancelled"


class MeetingStarted(DomainError):
    key = "meetings.already-started"


class Unchanged(DomainError):
    key = "meetings.edit-unchanged"


class Published(BaseModel):
    """What Publish created."""

    model_config = ConfigDict(frozen=True)

    team: Team
    meetings: tuple[Meeting, ...]


class Managed(BaseModel):
    """A meeting a moderator may change, with its team and how many occurrences follow it."""

    model_config = ConfigDict(frozen=True)

    meeting: Meeting
    team: Team
    later_in_series: int


# ---------------------------------------------------------------- notices (as data)


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
    """Notice data: what changed in a meeting, and in how many occurrences."""

    model_config = ConfigDict(frozen=True)

    team: Team
    old: Meeting
    new: Meeting
    count: int


def _series(meetings: Sequence[Meeting], team: Team) -> SeriesNotice:
    return SeriesNotice(team=team, meeting=meetings[0], starts=tuple(m.starts_at for m in meetings))


def _notify(
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


def _schedule_reminders(
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


# ---------------------------------------------------------------- use cases


async def moderated_sectors(db: Database, actor: Actor) -> list[Team]:
    """The sector teams the actor may schedule meetings for (admins: all of them)."""
    teams = await db.run(lambda unit: unit.teams.list_teams("sector"))
    return [team for team in teams if actor.moderates(team.id)]


def _sector_for(unit: Unit, actor: Actor, team_id: int) -> Team:
    team = unit.teams.get_team(team_id)
    if team is None or team.kind != "sector":
        raise UnknownSector()
    if not actor.moderates(team.id):
        raise NotAllowed()
    return team


async def choose_sector(db: Database, actor: Actor, team_id: int) -> Team:
    """Check the actor moderates this sector team (the button may be forged)."""
    return await db.run(_sector_for, actor, team_id)


def _draft_starts(draft: MeetingDraft, now: datetime, zone: ZoneInfo, limit: int) -> list[datetime]:
    """The UTC starts of every meeting of a complete draft (the first one still ahead)."""
    if draft.title is None or (draft.place is None and draft.online_url is None):
        raise InvalidInput("meetings.draft-incomplete")
    locals_ = occurrences(draft, limit)
    check_start(locals_[0], zone, now)
    return [resolve_local(local, zone) for local in locals_]


async def preview(
    db: Database,
    actor: Actor,
    draft: MeetingDraft,
    *,
    now: datetime,
    zone: ZoneInfo,
    config: MeetingsConfig,
) -> SeriesNotice:
    """The publication notice's data exactly as subscribers will get it (nothing stored)."""
    if draft.team_id is None:
        raise InvalidInput("meetings.draft-incomplete")
    team = await db.run(_sector_for, actor, draft.team_id)
    meetings = [
        Meeting.model_validate(
            {
                "id": 0,
                "team_id": team.id,
                "series_id": None,
                "title": draft.title,
                "starts_at": start,
                "duration_minutes": draft.duration_minutes,
                "place": draft.place,
                "online_url": draft.online_url,
                "agenda": draft.agenda,
                "capacity": draft.capacity,
                "reminder_minutes": "[]",
                "state": "scheduled",
                "created_by": actor.user_id,
                "created_at": now,
                "updated_at": now,
            }
        )
        for start in _draft_starts(draft, now, zone, config.max_occurrences)
    ]
    return _series(meetings, team)


async def publish(
    db: Database,
    actor: Actor,
    draft: MeetingDraft,
    *,
    now: datetime,
    zone: ZoneInfo,
    config: MeetingsConfig,
) -> Published:
    """Store the meeting(s), the notice to the sector's subscribers and every reminder.

    A series gets ONE notice (the first meeting's card and RSVP buttons, plus the list of
    dates) rather than one per occurrence, so subscribers are not flooded; every occurrence
    has its own reminders, each carrying that occurrence's card and buttons.
    """
    if draft.team_id is None or draft.title is None:
        raise InvalidInput("meetings.draft-incomplete")
    team_id, title = draft.team_id, draft.title

    def inner(unit: Unit) -> Published:
        team = _sector_for(unit, actor, team_id)
        starts = _draft_starts(draft, now, zone, config.max_occurrences)
        leads = (
            config.reminder_minutes if draft.reminder_minutes is None else draft.reminder_minutes
        )
        series_id = None
        if draft.recurrence != "none" and draft.until is not None:
            series_id = unit.meetings.add_series(
                team_id=team.id,
                rule=draft.recurrence,
                interval_n=draft.interval_n,
                until_date=draft.until,
                created_by=actor.user_id,
                now=now,
            )
        meetings = [
            unit.meetings.add_meeting(
                team_id=team.id,
                series_id=series_id,
                title=title,
                starts_at=start,
                duration_minutes=draft.duration_minutes,
                place=draft.place,
                online_url=draft.online_url,
                agenda=draft.agenda,
                capacity=draft.capacity,
                reminder_minutes=leads,
                created_by=actor.user_id,
                now=now,
            )
            for start in starts
        ]
        first = meetings[0]
        _notify(
            unit,
            kind=NEW_KIND,
            audience="team",
            audience_id=team.id,
            about=first,
            data=_series(meetings, team),
            actor_id=actor.user_id,
            now=now,
        )
        for meeting in meetings:
            _schedule_reminders(unit, meeting, team, now, actor.user_id)
        audit.record(
            unit,
            actor_id=actor.user_id,
            action="meeting.create",
            target=f"meeting:{first.id}",
            details={
                "sector": team.slug,
                "title": title,
                "starts_at": first.starts_at.isoformat(),
                "occurrences": len(meetings),
            },
            now=now,
        )
        return Published(team=team, meetings=tuple(meetings))

    return await db.run(inner)


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


class Change(BaseModel):
    """One field's new value, as read from the moderator's answer."""

    model_config = ConfigDict(frozen=True)

    field: EditField
    title: str | None = None
    local_start: datetime | None = None
    duration_minutes: int | None = None
    place: str | None = None
    online_url: str | None = None
    agenda: str | None = None
    capacity: int | None = None


def _changed(
    old: Meeting, change: Change, zone: ZoneInfo, now: datetime, shift: timedelta
) -> dict[str, object]:
    values: dict[str, object] = {
        "title": old.title,
        "starts_at": old.starts_at,
        "duration_minutes": old.duration_minutes,
        "place": old.place,
        "online_url": old.online_url,
        "agenda": old.agenda,
        "capacity": old.capacity,
    }
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
    return values


async def edit(
    db: Database,
    actor: Actor,
    meeting_id: int,
    change: Change,
    scope: Scope,
    *,
    now: datetime,
    zone: ZoneInfo,
) -> list[Meeting]:
    """Change one field of a meeting (or of it and the later ones of its series).

    Pending reminders of every changed meeting are cancelled and queued again for the new
    start, so none is ever sent for the old time; one 'meeting-change' notice says what
    changed.
    """

    def inner(unit: Unit) -> list[Meeting]:
        meeting, team = _managed(unit, actor, meeting_id, now)
        shift = timedelta()
        if change.field == "start":
            if change.local_start is None:
                raise InvalidInput("meetings.bad-start-format")
            shift = change.local_start - meeting.starts_at.astimezone(zone).replace(tzinfo=None)
        pairs: list[tuple[Meeting, Meeting]] = []
        for old in _targets(unit, meeting, scope):
            values = _changed(old, change, zone, now, shift)
            if values["place"] is None and values["online_url"] is None:
                raise InvalidInput("meetings.bad-place", min=PLACE_MIN, max=PLACE_MAX)
            new = unit.meetings.update_meeting(old.id, now=now, **values)  # type: ignore[arg-type]
            if new == old.model_copy(update={"updated_at": new.updated_at}):
                continue
            subject = f"meeting:{old.id}"
            delivery.cancel_pending(unit, subject=subject, now=now, kinds=[REMINDER_KIND])
            _schedule_reminders(unit, new, team, now, actor.user_id)
            if change.field == "capacity":
                # A larger capacity frees places: those waiting get them, in order, at once.
                rsvp_service.fill_free_places(unit, new, team, now)
            pairs.append((old, new))
        if not pairs:
            raise Unchanged()
        old, new = pairs[0]
        _notify(
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
                "field": change.field,
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
            cancelled.append(target.model_copy(update={"state": "cancelled", "updated_at": now}))
        first = cancelled[0]
        _notify(
            unit,
            kind=CANCELLED_KIND,
            audience="meeting",
            audience_id=first.id,
            about=first,
            data=_series(cancelled, team),
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
