"""The public face's reads: the programme, schedules, meetings and feeds, as domain data only."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Concatenate, Literal, ParamSpec, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from bot.services.calendar import MeetingEntry
from storage.models import Meeting, Team
from storage.public import Decision, PublicCall, PublicPostulate, PublicStep
from storage.unit import Unit

P = ParamSpec("P")
T = TypeVar("T")

# A subscribed calendar keeps a cancelled meeting (marked CANCELLED) this long after the
# cancellation, so every client that polls in between learns of it.
CANCELLED_KEEP = timedelta(days=30)
# Feeds and schedules look back this far for meetings already held.
PAST_WINDOW = timedelta(days=365)
MAX_FEED_EVENTS = 500
SCHEDULE_LIMIT = 100
PAST_LIMIT = 20
POSTULATES_PAGE = 20
# Pages beyond this are refused as bad input: nobody reads 10,000 postulates one page at a time
# and a huge OFFSET would make the reader walk the whole index.
MAX_PAGE = 500
# The public states of a postulate (withdrawn ones are not shown at all).
PUBLIC_STATES = (
    "submitted",
    "in_review",
    "clarification",
    "forwarded",
    "adopted",
    "not_adopted",
    "rejected",
    "duplicate",
)
ACTIVITY_LIMIT = 50
# SQLite integers are signed 64-bit: a larger id cannot exist and must not reach a query.
MAX_ID = 2**63 - 1


class Reader(Protocol):
    """What the public reads need: run one function on a read-only connection."""

    async def run(
        self,
        fn: Callable[Concatenate[Unit, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T: ...


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class TeamSummary(_Model):
    """A team on the programme page."""

    team: Team
    subscribers: int
    next_meeting: Meeting | None
    open_calls: list[PublicCall]


class Programme(_Model):
    """The coordinating team and every sector team."""

    coordination: list[TeamSummary]
    sectors: list[TeamSummary]


class HeldMeeting(_Model):
    """A meeting with how many people held a place (attended, once it is past)."""

    meeting: Meeting
    going: int

    @property
    def free_places(self) -> int | None:
        """Places left, or None when the meeting has no capacity."""
        capacity = self.meeting.capacity
        return None if capacity is None else max(0, capacity - self.going)


class SectorSchedule(_Model):
    """A team's schedule (harmonogram): upcoming and past meetings, its calls."""

    team: Team
    subscribers: int
    upcoming: list[HeldMeeting]
    past: list[HeldMeeting]
    calls: list[PublicCall]


class MeetingDetail(_Model):
    """One meeting with its team and places."""

    entry: MeetingEntry
    held: HeldMeeting


class CalendarFeed(_Model):
    """The events of a calendar feed and the validators a client caches it by."""

    entries: list[MeetingEntry]
    etag: str
    last_modified: datetime | None


class Activity(_Model):
    """One item of the activity feed: a meeting published, changed or cancelled, a call
    opened, a decision made on a postulate."""

    kind: Literal[
        "meeting-published",
        "meeting-changed",
        "meeting-cancelled",
        "call-opened",
        "decision-adopt",
        "decision-not_adopt",
        "decision-reject",
    ]
    at: datetime
    team: Team
    title: str
    meeting_id: int | None = None
    call_id: int | None = None
    reference: str | None = None
    history_id: int | None = None


class PostulateFilters(_Model):
    """The public list's filters (already validated) and its page."""

    sector: str | None = None
    state: str | None = None
    call: int | None = None
    page: int = 1


class PostulateList(_Model):
    """One page of the public postulates, with the filters' choices."""

    teams: list[Team]
    calls: list[PublicCall]
    postulates: list[PublicPostulate]
    teams_by_id: dict[int, Team]
    filters: PostulateFilters
    has_next: bool


class PostulateRecord(_Model):
    """One postulate's public record: its sector, history and supporting organisations."""

    postulate: PublicPostulate
    team: Team
    call: PublicCall | None
    history: list[PublicStep]
    organisations: list[str]


class Health(_Model):
    """What the operator's health check reports."""

    schema_version: int


def _summary(unit: Unit, team: Team, subscribers: dict[int, int], now: datetime) -> TeamSummary:
    return TeamSummary(
        team=team,
        subscribers=subscribers.get(team.id, 0),
        next_meeting=unit.public.get_next_meeting(team.id, now),
        open_calls=unit.public.list_calls(team_id=team.id, open_at=now),
    )


async def programme(reader: Reader, now: datetime) -> Programme:
    """Return every team with its subscribers, next meeting and open calls."""

    def read(unit: Unit) -> Programme:
        subscribers = unit.public.count_subscribers()
        teams = unit.teams.list_teams()
        summaries = [_summary(unit, team, subscribers, now) for team in teams]
        return Programme(
            coordination=[s for s in summaries if s.team.kind == "coordination"],
            sectors=[s for s in summaries if s.team.kind == "sector"],
        )

    return await reader.run(read)


def _held(unit: Unit, meetings: list[Meeting]) -> list[HeldMeeting]:
    going = unit.public.count_going([m.id for m in meetings])
    return [HeldMeeting(meeting=m, going=going.get(m.id, 0)) for m in meetings]


async def sector_schedule(reader: Reader, slug: str, now: datetime) -> SectorSchedule | None:
    """Return a team's schedule by its slug, or None when there is no such team."""

    def read(unit: Unit) -> SectorSchedule | None:
        team = unit.teams.get_team_by_slug(slug)
        if team is None:
            return None
        upcoming = unit.public.list_team_meetings(team.id, now, upcoming=True, limit=SCHEDULE_LIMIT)
        # The latest past meetings only: a team's whole history grows every week.
        past = unit.public.list_team_meetings(team.id, now, upcoming=False, limit=PAST_LIMIT)
        return SectorSchedule(
            team=team,
            subscribers=unit.public.count_subscribers().get(team.id, 0),
            upcoming=_held(unit, upcoming),
            past=_held(unit, past),
            calls=unit.public.list_calls(team_id=team.id),
        )

    return await reader.run(read)


async def meeting_detail(reader: Reader, meeting_id: int) -> MeetingDetail | None:
    """Return one meeting (any state) with its team and places, or None."""
    if not 1 <= meeting_id <= MAX_ID:
        return None

    def read(unit: Unit) -> MeetingDetail | None:
        meeting = unit.meetings.get_meeting(meeting_id)
        if meeting is None:
            return None
        team = unit.teams.get_team(meeting.team_id)
        if team is None:
            return None
        (held,) = _held(unit, [meeting])
        return MeetingDetail(entry=MeetingEntry(meeting=meeting, team=team), held=held)

    return await reader.run(read)


def _etag(entries: list[MeetingEntry]) -> str:
    # Any meeting added, changed or dropped from the window changes the tag.
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(f"{entry.meeting.id}:{entry.meeting.updated_at.isoformat()};".encode())
    return digest.hexdigest()[:32]


async def calendar_feed(reader: Reader, now: datetime, slug: str | None) -> CalendarFeed | None:
    """Return the meetings of every sector (or of one, by slug) for a subscribed calendar."""

    def read(unit: Unit) -> CalendarFeed | None:
        teams = {team.id: team for team in unit.teams.list_teams()}
        team_id = None
        if slug is not None:
            found = [team for team in teams.values() if team.slug == slug]
            if not found:
                return None
            team_id = found[0].id
        meetings = unit.public.list_feed_meetings(
            team_id=team_id,
            since=now - PAST_WINDOW,
            cancelled_since=now - CANCELLED_KEEP,
            limit=MAX_FEED_EVENTS,
        )
        entries = [MeetingEntry(meeting=m, team=teams[m.team_id]) for m in meetings]
        stamps = [entry.meeting.updated_at for entry in entries]
        return CalendarFeed(
            entries=entries, etag=_etag(entries), last_modified=max(stamps, default=None)
        )

    return await reader.run(read)


def _meeting_kind(
    meeting: Meeting,
) -> Literal["meeting-published", "meeting-changed", "meeting-cancelled"]:
    if meeting.state == "cancelled":
        return "meeting-cancelled"
    return "meeting-published" if meeting.updated_at == meeting.created_at else "meeting-changed"


def _decision(decision: Decision, team: Team) -> Activity:
    kind: Literal["decision-adopt", "decision-not_adopt", "decision-reject"]
    if decision.action == "adopt":
        kind = "decision-adopt"
    elif decision.action == "not_adopt":
        kind = "decision-not_adopt"
    else:
        kind = "decision-reject"
    return Activity(
        kind=kind,
        at=decision.at,
        team=team,
        title=decision.title,
        reference=decision.reference,
        history_id=decision.history_id,
    )


async def activity(reader: Reader) -> list[Activity]:
    """Return the latest public events, newest first."""

    def read(unit: Unit) -> list[Activity]:
        teams = {team.id: team for team in unit.teams.list_teams()}
        items = [
            Activity(
                kind=_meeting_kind(m),
                at=m.updated_at,
                team=teams[m.team_id],
                title=m.title,
                meeting_id=m.id,
            )
            for m in unit.public.list_changed_meetings(ACTIVITY_LIMIT)
        ]
        items += [
            Activity(
                kind="call-opened",
                at=c.created_at,
                team=teams[c.team_id],
                title=c.title,
                call_id=c.id,
            )
            for c in unit.public.list_new_calls(ACTIVITY_LIMIT)
        ]
        items += [
            _decision(d, teams[d.team_id]) for d in unit.public.list_decisions(ACTIVITY_LIMIT)
        ]
        items.sort(key=lambda item: item.at, reverse=True)
        return items[:ACTIVITY_LIMIT]

    return await reader.run(read)


async def health(reader: Reader) -> Health:
    """Return the schema version (the database answers)."""

    def read(unit: Unit) -> Health:
        return Health(schema_version=unit.public.get_schema_version())

    return await reader.run(read)


async def postulate_list(reader: Reader, filters: PostulateFilters) -> PostulateList | None:
    """Return a page of public postulates, or None when a filter names nothing that exists."""

    def read(unit: Unit) -> PostulateList | None:
        teams = unit.teams.list_teams()
        by_id = {team.id: team for team in teams}
        team_id = None
        if filters.sector is not None:
            found = [team.id for team in teams if team.slug == filters.sector]
            if not found:
                return None
            team_id = found[0]
        calls = unit.public.list_calls(team_id=team_id)
        if filters.call is not None and filters.call not in {call.id for call in calls}:
            return None
        rows = unit.public.list_public_postulates(
            team_id=team_id,
            state=filters.state,
            call_id=filters.call,
            offset=(filters.page - 1) * POSTULATES_PAGE,
            limit=POSTULATES_PAGE + 1,
        )
        return PostulateList(
            teams=teams,
            calls=calls,
            postulates=rows[:POSTULATES_PAGE],
            teams_by_id=by_id,
            filters=filters,
            has_next=len(rows) > POSTULATES_PAGE,
        )

    return await reader.run(read)


async def postulate_record(reader: Reader, reference: str) -> PostulateRecord | None:
    """Return a postulate's public record by its reference, or None when it is not public."""

    def read(unit: Unit) -> PostulateRecord | None:
        postulate = unit.public.get_public_postulate(reference)
        if postulate is None:
            return None
        team = unit.teams.get_team(postulate.team_id)
        if team is None:
            return None
        calls = unit.public.list_calls(team_id=team.id)
        call = next((c for c in calls if c.id == postulate.call_id), None)
        return PostulateRecord(
            postulate=postulate,
            team=team,
            call=call,
            history=unit.public.list_public_history(postulate.id),
            organisations=unit.public.list_supporting_organisations(postulate.id),
        )

    return await reader.run(read)
