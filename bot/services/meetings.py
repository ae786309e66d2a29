"""Sector meetings, moderator side: read what moderators type, publish, edit and cancel
meetings and series; their notices and reminders are queued in the same transaction.

Time rule (the deployment's zone, `config.zone`; everything stored in UTC):
- a typed local time that does not exist (the spring-forward gap, e.g. 02:30 on the last
  Sunday of March in Europe/Warsaw) is moved forward by the length of the gap (-> 03:30 CEST);
- an ambiguous one (02:30 on the last Sunday of October happens twice) means the first of
  the two (fold=0: 02:30 CEST, i.e. 00:30 UTC);
- reminders are computed in UTC from the resolved start (start - lead time), so each lead
  time gives exactly one reminder whatever DST does in between;
- a series keeps the typed local wall time (weekly at 17:00 stays 17:00 local across DST).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.config import MeetingsConfig
from bot.errors import DomainError, NotAllowed, UnknownSector
from bot.services import audit, delivery
from bot.services import rsvp as rsvp_service
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


TITLE_MIN, TITLE_MAX = 3, 150
PLACE_MIN, PLACE_MAX = 3, 300
URL_MIN, URL_MAX = 8, 500
AGENDA_MAX = 2000
DURATION_DEFAULT = 90
DURATION_MIN, DURATION_MAX = 5, 1440
CAPACITY_MAX = 100_000
INTERVAL_MIN, INTERVAL_MAX = 2, 12
LEADS_MAX = 5
LEAD_MIN, LEAD_MAX = 5, 30 * 1440
MAX_AHEAD = timedelta(days=2 * 365)
# Dates of a series listed in its notice; the rest is counted ("and 8 more").
SERIES_DATES_SHOWN = 12
# Old and new values in a change notice are cut to this length, so that the notice with the
# full card stays under Telegram's 4,096 characters (the card itself shows the new value).
CHANGE_VALUE_MAX = 120

Recurrence = Literal["none", "weekly", "monthly"]
Scope = Literal["one", "series"]
EditField = Literal["title", "start", "duration", "place", "agenda", "capacity"]
EDIT_FIELDS: tuple[EditField, ...] = ("title", "start", "duration", "place", "agenda", "capacity")


class InvalidInput(DomainError):
    """What the moderator typed cannot be used; `key` says why (the step is asked again)."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(**values)
        self.key = key


class MeetingNotFound(DomainError):
    key = "meetings.not-found"


class MeetingCancelled(DomainError):
    key = "meetings.already-cancelled"


class MeetingStarted(DomainError):
    key = "meetings.already-started"


class Unchanged(DomainError):
    key = "meetings.edit-unchanged"


class MeetingDraft(BaseModel):
    """The answers of /new_meeting so far; nothing is stored until Publish."""

    team_id: int | None = None
    title: str | None = None
    local_start: datetime | None = None  # naive wall time in the deployment's zone
    duration_minutes: int = DURATION_DEFAULT
    place: str | None = None
    online_url: str | None = None
    agenda: str | None = None
    capacity: int | None = None
    reminder_minutes: tuple[int, ...] | None = None  # None: the configured default
    recurrence: Recurrence = "none"
    interval_n: int = 1
    until: date | None = None


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


# ---------------------------------------------------------------- reading typed input


def resolve_local(local: datetime, zone: ZoneInfo) -> datetime:
    """Turn a naive local wall time into UTC by the module's DST rule."""
    # fold=0 gives exactly the stated rule in zoneinfo: in a gap the offset before the
    # transition applies (02:30 CET = 03:30 CEST), an ambiguous time takes its first instance.
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DMY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_DM = re.compile(r"(\d{1,2})\.(\d{1,2})\.?")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")


def _date_parts(text: str) -> tuple[int | None, int, int] | None:
    """(year or None, month, day) of a typed date, or None if the format is not known."""
    if match := _ISO.fullmatch(text):
        return int(match[1]), int(match[2]), int(match[3])
    if match := _DMY.fullmatch(text):
        return int(match[3]), int(match[2]), int(match[1])
    if match := _DM.fullmatch(text):
        return None, int(match[2]), int(match[1])
    return None


def parse_start(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """Read `2026-12-03 17:00`, `3.12.2026 17:00` or `03.12 17:00`; return the local time."""
    parts = text.strip().split()
    if len(parts) != 2:
        raise InvalidInput("meetings.bad-start-format")
    day, clock = _date_parts(parts[0]), _TIME.fullmatch(parts[1])
    if day is None or clock is None:
        raise InvalidInput("meetings.bad-start-format")
    year, month, dom = day
    hour, minute = int(clock[1]), int(clock[2])
    local_now = now.astimezone(zone)
    try:
        if year is not None:
            local = datetime(year, month, dom, hour, minute)
        else:
            # No year: the next such date (this year, or next year if it has passed).
            local = datetime(local_now.year, month, dom, hour, minute)
            if resolve_local(local, zone) <= now:
                local = local.replace(year=local_now.year + 1)
    except ValueError:
        raise InvalidInput("meetings.bad-start-invalid") from None
    check_start(local, zone, now)
    return local


def check_start(local: datetime, zone: ZoneInfo, now: datetime) -> datetime:
    """Refuse a start in the past or more than two years ahead; return it in UTC."""
    start = resolve_local(local, zone)
    if start <= now:
        raise InvalidInput(
            "meetings.bad-start-past", now=now.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        )
    if start > now + MAX_AHEAD:
        raise InvalidInput("meetings.bad-start-far")
    return start


_SPAN = re.compile(r"(?:\d{1,5}(?:d|h|min|m)?)+")
_SPAN_PART = re.compile(r"(\d{1,5})(d|h|min|m)?")
_UNIT_MINUTES = {"d": 1440, "h": 60, "min": 1, "m": 1, None: 1}


def _span_minutes(text: str) -> int | None:
    """Minutes of `90`, `90m`, `1h30`, `2h`, `2d` (a bare number is minutes)."""
    compact = re.sub(r"\s+", "", text.lower())
    if not compact or not _SPAN.fullmatch(compact):
        return None
    return sum(int(part[1]) * _UNIT_MINUTES[part[2]] for part in _SPAN_PART.finditer(compact))


def parse_title(text: str) -> str:
    """A title of 3 to 150 characters on one line."""
    title = " ".join(text.split())
    if not TITLE_MIN <= len(title) <= TITLE_MAX:
        raise InvalidInput("meetings.bad-title", min=TITLE_MIN, max=TITLE_MAX)
    return title


def parse_duration(text: str) -> int:
    """A duration in minutes (`90`, `1h30`, `2h`), 5 minutes to 24 hours."""
    minutes = _span_minutes(text)
    if minutes is None or not DURATION_MIN <= minutes <= DURATION_MAX:
        raise InvalidInput("meetings.bad-duration", min=DURATION_MIN, max=DURATION_MAX)
    return minutes


_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def parse_place(text: str) -> tuple[str | None, str | None]:
    """An address, an online link (http/https) or both: (place, online_url)."""
    urls = _URL.findall(text)
    if len(urls) > 1:
        raise InvalidInput("meetings.bad-place", min=PLACE_MIN, max=PLACE_MAX)
    url = urls[0] if urls else None
    if url is not None and not URL_MIN <= len(url) <= URL_MAX:
        raise InvalidInput("meetings.bad-url", max=URL_MAX)
    rest = " ".join(_URL.sub(" ", text).split()).strip(" ,;|-–")
    place = rest or None
    if place is not None and not PLACE_MIN <= len(place) <= PLACE_MAX:
        raise InvalidInput("meetings.bad-place", min=PLACE_MIN, max=PLACE_MAX)
    if place is None and url is None:
        raise InvalidInput("meetings.bad-place", min=PLACE_MIN, max=PLACE_MAX)
    return place, url


def parse_agenda(text: str) -> str:
    """An agenda of up to 2,000 characters (line breaks kept)."""
    agenda = text.strip()
    if not agenda or len(agenda) > AGENDA_MAX:
        raise InvalidInput("meetings.bad-agenda", max=AGENDA_MAX, length=len(agenda))
    return agenda


def parse_capacity(text: str) -> int:
    """A number of places, 1 to 100,000."""
    value = text.strip()
    if not value.isdigit() or not 1 <= int(value) <= CAPACITY_MAX:
        raise InvalidInput("meetings.bad-capacity", max=CAPACITY_MAX)
    return int(value)


def parse_leads(text: str) -> tuple[int, ...]:
    """Reminder lead times such as `2d, 3h, 30m` (or `-` for none), longest first."""
    if text.strip() in {"-", "0"}:
        return ()
    leads = set()
    for item in re.split(r"[,;]", text):
        minutes = _span_minutes(item)
        if minutes is None or not LEAD_MIN <= minutes <= LEAD_MAX:
            raise InvalidInput("meetings.bad-reminders", max=LEADS_MAX)
        leads.add(minutes)
    if len(leads) > LEADS_MAX:
        raise InvalidInput("meetings.bad-reminders", max=LEADS_MAX)
    return tuple(sorted(leads, reverse=True))


def parse_interval(text: str) -> int:
    """`every N weeks`: N from 2 to 12."""
    value = text.strip()
    if not value.isdigit() or not INTERVAL_MIN <= int(value) <= INTERVAL_MAX:
        raise InvalidInput("meetings.bad-interval", min=INTERVAL_MIN, max=INTERVAL_MAX)
    return int(value)


def parse_until(text: str, first: datetime) -> date:
    """The last date of a series (inclusive), not before the first meeting."""
    parts = _date_parts(text.strip())
    if parts is None:
        raise InvalidInput("meetings.bad-until-format")
    year, month, dom = parts
    try:
        until = date(first.year if year is None else year, month, dom)
        if year is None and until < first.date():
            until = until.replace(year=first.year + 1)
    except ValueError:
        raise InvalidInput("meetings.bad-until-invalid") from None
    if until < first.date():
        raise InvalidInput("meetings.bad-until-before")
    if until > first.date() + MAX_AHEAD:
        raise InvalidInput("meetings.bad-start-far")
    return until


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date | None:
    first = date(year, month, 1)
    day = 1 + (weekday - first.weekday()) % 7 + 7 * (n - 1)
    try:
        return date(year, month, day)
    except ValueError:
        return None


def occurrences(draft: MeetingDraft, limit: int) -> list[datetime]:
    """Local wall times of every meeting of the draft (one unless it recurs).

    Monthly series fall on the Nth weekday of the first meeting (e.g. the 2nd Tuesday);
    months without a 5th such weekday are skipped.
    """
    first = draft.local_start
    if first is None:
        raise InvalidInput("meetings.draft-incomplete")
    if draft.recurrence == "none":
        return [first]
    if draft.until is None:
        raise InvalidInput("meetings.draft-incomplete")
    result: list[datetime] = []
    if draft.recurrence == "weekly":
        step = timedelta(weeks=draft.interval_n)
        current = first
        while current.date() <= draft.until:
            result.append(current)
            current += step
            if len(result) > limit:
                break
    else:
        n, weekday = (first.day - 1) // 7 + 1, first.weekday()
        year, month = first.year, first.month
        while date(year, month, 1) <= draft.until and len(result) <= limit:
            day = _nth_weekday(year, month, weekday, n)
            if day is not None and day <= draft.until:
                result.append(datetime.combine(day, first.time()))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if not result:
        raise InvalidInput("meetings.bad-until-before")
    if len(result) > limit:
        raise InvalidInput("meetings.bad-until-too-many", max=limit)
    return result


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
