"""Sector meetings, moderator side: publish meetings and series; their notices (as data) and
reminders are queued in the same transaction. Editing and cancelling is
bot/services/meeting_changes.py, the notices' data bot/services/meeting_notices.py, reading
what moderators type (and the time rule for local times) bot/services/meeting_input.py; their
names are re-exported here, so `meetings.X` keeps working for callers."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.config import MeetingsConfig
from bot.errors import NotAllowed, UnknownSector
from bot.services import audit
from bot.services.meeting_changes import (
    EDIT_FIELDS,
    PICK_MAX,
    Change,
    EditField,
    Managed,
    MeetingCancelled,
    MeetingNotFound,
    MeetingStarted,
    Scope,
    Unchanged,
    cancel,
    edit,
    get_managed,
    managed_meetings,
    preview_edit,
)
from bot.services.meeting_input import (
    InvalidInput,
    MeetingDraft,
    check_start,
    occurrences,
    resolve_local,
)
from bot.services.meeting_notices import (
    CANCELLED_KIND,
    CHANGE_KIND,
    CHANGE_VALUE_MAX,
    NEW_KIND,
    REMINDER_KIND,
    SERIES_DATES_SHOWN,
    ChangeNotice,
    ReminderNotice,
    SeriesNotice,
    notify,
    register,
    schedule_reminders,
    series,
)
from bot.services.users import Actor
from storage.database import Database
from storage.models import Meeting, Team
from storage.unit import Unit

__all__ = [
    "CANCELLED_KIND",
    "CHANGE_KIND",
    "CHANGE_VALUE_MAX",
    "EDIT_FIELDS",
    "NEW_KIND",
    "PICK_MAX",
    "REMINDER_KIND",
    "SERIES_DATES_SHOWN",
    "Change",
    "ChangeNotice",
    "EditField",
    "Managed",
    "MeetingCancelled",
    "MeetingNotFound",
    "MeetingStarted",
    "Published",
    "ReminderNotice",
    "Scope",
    "SeriesNotice",
    "Unchanged",
    "cancel",
    "choose_sector",
    "edit",
    "get_managed",
    "managed_meetings",
    "moderated_sectors",
    "preview",
    "preview_edit",
    "publish",
    "register",
]

# The name before the split (tests/test_settings.py queues reminders through it).
_schedule_reminders = schedule_reminders


class Published(BaseModel):
    """What Publish created."""

    model_config = ConfigDict(frozen=True)

    team: Team
    meetings: tuple[Meeting, ...]


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
    return series(meetings, team)


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
        notify(
            unit,
            kind=NEW_KIND,
            audience="team",
            audience_id=team.id,
            about=first,
            data=series(meetings, team),
            actor_id=actor.user_id,
            now=now,
        )
        for meeting in meetings:
            schedule_reminders(unit, meeting, team, now, actor.user_id)
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
