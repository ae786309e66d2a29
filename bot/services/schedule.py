"""The published schedule: /meetings (my sectors or all), /schedule <slug>, /meeting <id>."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.errors import ConsentRequired, UnknownSector
from bot.services.rsvp import RsvpCounts, card_counts
from storage import rsvps as rsvps_storage
from storage.database import Database
from storage.models import Meeting, Team
from storage.rsvps import Rsvp
from storage.unit import Unit

PAGE_SIZE = 5
MAX_PAGE = 999
Scope = Literal["mine", "all"] | int  # an int is one sector team's id


class MeetingView(BaseModel):
    """One meeting as a given member sees it: counts only for its moderators."""

    model_config = ConfigDict(frozen=True)

    meeting: Meeting
    team: Team
    mine: Rsvp | None
    counts: RsvpCounts | None
    # Where the member stands on the waiting list (1 = next); only on a single meeting's card.
    waiting_rank: int | None = None


class SchedulePage(BaseModel):
    """One page of upcoming meetings."""

    model_config = ConfigDict(frozen=True)

    scope: Literal["mine", "all"] | int
    team: Team | None
    page: int
    items: tuple[MeetingView, ...]
    has_next: bool
    subscribed: int


def _views(
    unit: Unit,
    meetings: list[Meeting],
    teams: dict[int, Team],
    user_id: int,
    moderates: Callable[[int], bool],
) -> tuple[MeetingView, ...]:
    ids = [m.id for m in meetings]
    mine = unit.rsvps.list_user_rsvps(user_id, ids)
    counted = [m.id for m in meetings if moderates(m.team_id)]
    counts = unit.rsvps.list_counts(counted)
    return tuple(
        MeetingView(
            meeting=m,
            team=teams[m.team_id],
            mine=mine.get(m.id),
            counts=(
                card_counts(counts.get(m.id, rsvps_storage.RsvpCounts()))
                if m.id in counted
                else None
            ),
        )
        for m in meetings
        if m.team_id in teams
    )


def _require_consent(unit: Unit, user_id: int, notice_version: int) -> None:
    user = unit.users.get_user(user_id)
    if user is None or user.consent_version is None or user.consent_version < notice_version:
        raise ConsentRequired()


async def upcoming_page(
    db: Database,
    *,
    user_id: int,
    scope: Scope,
    page: int,
    moderates: Callable[[int], bool],
    notice_version: int,
    now: datetime,
) -> SchedulePage:
    """A page of meetings still to start: of my sectors, of all, or of one sector team."""

    def read(unit: Unit) -> SchedulePage:
        teams = {team.id: team for team in unit.teams.list_teams("sector")}
        subscribed = unit.subscriptions.list_subscribed_team_ids(user_id)
        team = None
        team_ids: set[int] | None = None
        if scope == "mine":
            _require_consent(unit, user_id, notice_version)
            team_ids = subscribed
        elif scope != "all":
            team = teams.get(scope)
            if team is None:
                raise UnknownSector()
            team_ids = {team.id}
        number = max(0, min(page, MAX_PAGE))
        meetings = unit.meetings.list_meetings(
            team_ids=team_ids, since=now, limit=PAGE_SIZE + 1, offset=number * PAGE_SIZE
        )
        return SchedulePage(
            scope=scope,
            team=team,
            page=number,
            items=_views(unit, meetings[:PAGE_SIZE], teams, user_id, moderates),
            has_next=len(meetings) > PAGE_SIZE,
            subscribed=len(subscribed & teams.keys()),
        )

    return await db.run(read)


async def meeting_view(
    db: Database, *, user_id: int, meeting_id: int, moderates: Callable[[int], bool]
) -> MeetingView | None:
    """One meeting (any state) for its card; None if there is no such meeting."""

    def read(unit: Unit) -> MeetingView | None:
        meeting = unit.meetings.get_meeting(meeting_id)
        if meeting is None:
            return None
        team = unit.teams.get_team(meeting.team_id)
        if team is None:
            return None
        views = _views(unit, [meeting], {team.id: team}, user_id, moderates)
        if not views:
            return None
        mine = views[0].mine
        if mine is None or mine.waitlist_position is None:
            return views[0]
        rank = unit.rsvps.get_waiting_rank(meeting.id, mine.waitlist_position)
        return views[0].model_copy(update={"waiting_rank": rank})

    return await db.run(read)


async def sector_teams(db: Database) -> list[Team]:
    """The sector teams in configured order (the /schedule buttons)."""
    return await db.run(lambda unit: unit.teams.list_teams("sector"))


async def team_by_slug(db: Database, slug: str) -> Team | None:
    """A sector team by its slug."""

    def read(unit: Unit) -> Team | None:
        team = unit.teams.get_team_by_slug(slug)
        return team if team is not None and team.kind == "sector" else None

    return await db.run(read)
