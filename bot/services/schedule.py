"""The published schedule: /meetings (my sectors or all), /schedule <slug>, /meeting <id>."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.errors import ConsentRequired, UnknownSector
from bot.services.rsvp import RsvpCounts, card_counts
from storage import meetings as meetings_storage
from storage import rsvps as rsvps_storage
from storage import subscriptions as subscriptions_storage
from storage import teams as teams_storage
from storage import users as users_storage
from storage.database import Database
from storage.models import Meeting, Team
from storage.rsvps import Rsvp

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
    conn: sqlite3.Connection,
    meetings: list[Meeting],
    teams: dict[int, Team],
    user_id: int,
    moderates: Callable[[int], bool],
) -> tuple[MeetingView, ...]:
    ids = [m.id for m in meetings]
    mine = rsvps_storage.list_user_rsvps(conn, user_id, ids)
    counted = [m.id for m in meetings if moderates(m.team_id)]
    counts = rsvps_storage.list_counts(conn, counted)
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


def _require_consent(conn: sqlite3.Connection, user_id: int, notice_version: int) -> None:
    user = users_storage.get_user(conn, user_id)
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

    def read(conn: sqlite3.Connection) -> SchedulePage:
        teams = {team.id: team for team in teams_storage.list_teams(conn, "sector")}
        subscribed = subscriptions_storage.list_subscribed_team_ids(conn, user_id)
        team = None
        team_ids: set[int] | None = None
        if scope == "mine":
            _require_consent(conn, user_id, notice_version)
            team_ids = subscribed
        elif scope != "all":
            team = teams.get(scope)
            if team is None:
                raise UnknownSector()
            team_ids = {team.id}
        number = max(0, min(page, MAX_PAGE))
        meetings = meetings_storage.list_meetings(
            conn, team_ids=team_ids, since=now, limit=PAGE_SIZE + 1, offset=number * PAGE_SIZE
        )
        return SchedulePage(
            scope=scope,
            team=team,
            page=number,
            items=_views(conn, meetings[:PAGE_SIZE], teams, user_id, moderates),
            has_next=len(meetings) > PAGE_SIZE,
            subscribed=len(subscribed & teams.keys()),
        )

    return await db.run(read)


async def meeting_view(
    db: Database, *, user_id: int, meeting_id: int, moderates: Callable[[int], bool]
) -> MeetingView | None:
    """One meeting (any state) for its card; None if there is no such meeting."""

    def read(conn: sqlite3.Connection) -> MeetingView | None:
        meeting = meetings_storage.get_meeting(conn, meeting_id)
        if meeting is None:
            return None
        team = teams_storage.get_team(conn, meeting.team_id)
        if team is None:
            return None
        views = _views(conn, [meeting], {team.id: team}, user_id, moderates)
        return views[0] if views else None

    return await db.run(read)


async def sector_teams(db: Database) -> list[Team]:
    """The sector teams in configured order (the /schedule buttons)."""
    return await db.run(teams_storage.list_teams, "sector")


async def team_by_slug(db: Database, slug: str) -> Team | None:
    """A sector team by its slug."""

    def read(conn: sqlite3.Connection) -> Team | None:
        team = teams_storage.get_team_by_slug(conn, slug)
        return team if team is not None and team.kind == "sector" else None

    return await db.run(read)
