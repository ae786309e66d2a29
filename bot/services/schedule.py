"""The published schedule: /meetings (my sectors or all), /schedule <slug>, /meeting <id>."""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict

from bot.errors import ConsentRequired, UnknownSector
from bot.services.rsvp import RsvpCounts, card_counts
from bot.services.users import Actor
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


class _Kept(NamedTuple):
    version: int
    # The page stands while no meeting of its scope has started: until the first one's start.
    until: datetime | None
    page: SchedulePage


# Pages kept per database: one per member, scope and page number while nothing they show
# changed. A page is a few kB; members asking again within minutes are the common case.
KEPT_PAGES = 1024
_kept: weakref.WeakKeyDictionary[Database, OrderedDict[tuple[object, ...], _Kept]] = (
    weakref.WeakKeyDictionary()
)


def _read_page(
    unit: Unit,
    db: Database,
    user_id: int,
    scope: Scope,
    number: int,
    moderates: Callable[[int], bool],
    now: datetime,
) -> _Kept:
    # Taken first, in the writer's thread: a change after it makes this page a miss.
    version = db.data_version
    teams = {team.id: team for team in unit.teams.list_teams("sector")}
    subscribed = unit.subscriptions.list_subscribed_team_ids(user_id)
    team = None
    team_ids: set[int] | None = None
    if scope == "mine":
        team_ids = subscribed
    elif scope != "all":
        team = teams.get(scope)
        if team is None:
            raise UnknownSector()
        team_ids = {team.id}
    meetings = unit.meetings.list_meetings(
        team_ids=team_ids, since=now, limit=PAGE_SIZE + 1, offset=number * PAGE_SIZE
    )
    first = (
        meetings[:1]
        if number == 0
        else unit.meetings.list_meetings(team_ids=team_ids, since=now, limit=1)
    )
    page = SchedulePage(
        scope=scope,
        team=team,
        page=number,
        items=_views(unit, meetings[:PAGE_SIZE], teams, user_id, moderates),
        has_next=len(meetings) > PAGE_SIZE,
        subscribed=len(subscribed & teams.keys()),
    )
    return _Kept(version, first[0].starts_at if first else None, page)


async def upcoming_page(
    db: Database,
    *,
    actor: Actor,
    scope: Scope,
    page: int,
    notice_version: int,
    now: datetime,
) -> SchedulePage:
    """A page of meetings still to start: of my sectors, of all, or of one sector team.

    Kept until a row of meetings, RSVPs, subscriptions or teams changes or its first meeting
    starts (`Database.data_version`), so asking again costs no transaction.
    """
    if scope == "mine" and not actor.consented(notice_version):
        # The actor was read in this very update's admission transaction.
        raise ConsentRequired()
    number = max(0, min(page, MAX_PAGE))
    # What the page shows depends on who asks: their answers, and counts where they moderate.
    key = (actor.user_id, scope, number, actor.is_admin, actor.moderated_team_ids)
    kept = _kept.setdefault(db, OrderedDict())
    found = kept.get(key)
    if (
        found is not None
        and found.version == db.data_version
        and (found.until is None or now <= found.until)
    ):
        kept.move_to_end(key)
        return found.page
    fresh = await db.run(_read_page, db, actor.user_id, scope, number, actor.moderates, now)
    kept[key] = fresh
    kept.move_to_end(key)
    if len(kept) > KEPT_PAGES:
        kept.popitem(last=False)
    return fresh.page


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
