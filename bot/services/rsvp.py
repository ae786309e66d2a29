"""RSVP to sector meetings: going / maybe / not going, the waiting list, the attendee CSV."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from bot.errors import ConsentRequired, DomainError, NotAllowed, StaleButton
from bot.services import delivery
from storage import rsvps as rsvps_storage
from storage.database import Database
from storage.models import Meeting, Team
from storage.rsvps import Answer, Attendee, Rsvp
from storage.unit import Unit

PROMOTED_KIND = "rsvp-promoted"


def register(registry: delivery.Registry) -> None:
    """The waiting-list notice's kind: never muted, never held."""
    registry.add_kinds("transactional", PROMOTED_KIND)


class MeetingCancelled(DomainError):
    key = "rsvp.refused-cancelled"


class MeetingStarted(DomainError):
    key = "rsvp.refused-started"


class RsvpCounts(BaseModel):
    """How members answered a meeting; `waiting` = 'going' answers on the waiting list."""

    model_config = ConfigDict(frozen=True)

    going: int = 0
    maybe: int = 0
    not_going: int = 0
    waiting: int = 0


class Promoted(BaseModel):
    """Notice data: a member moved from the waiting list to a place at this meeting."""

    model_config = ConfigDict(frozen=True)

    meeting: Meeting
    team: Team


class RsvpOutcome(BaseModel):
    """The member's answer after pressing a button, and where they stand."""

    model_config = ConfigDict(frozen=True)

    meeting: Meeting
    team: Team
    rsvp: Rsvp
    # 1-based place in the waiting list now (None: not waiting).
    waiting_rank: int | None
    changed: bool
    counts: RsvpCounts
    promoted: tuple[int, ...] = ()


class AttendeeExport(BaseModel):
    """Everything the attendee CSV is made of."""

    model_config = ConfigDict(frozen=True)

    meeting: Meeting
    team: Team
    attendees: tuple[Attendee, ...]


def card_counts(counts: rsvps_storage.RsvpCounts) -> RsvpCounts:
    """The storage counts in the shape the meeting card takes."""
    return RsvpCounts.model_validate(counts.model_dump())


def _require_consent(unit: Unit, user_id: int, notice_version: int) -> None:
    user = unit.users.get_user(user_id)
    if user is None or user.consent_version is None or user.consent_version < notice_version:
        raise ConsentRequired()


def _confirmed(unit: Unit, meeting_id: int) -> int:
    return unit.rsvps.get_counts(meeting_id).going


def _has_free_place(unit: Unit, meeting: Meeting) -> bool:
    return meeting.capacity is None or _confirmed(unit, meeting.id) < meeting.capacity


def fill_free_places(
    unit: Unit,
    meeting: Meeting,
    team: Team,
    now: datetime,
) -> list[int]:
    """Promote waiting members, in order, into free places and queue a notice to each.

    Call it inside the unit that frees places (a withdrawal, a larger capacity).
    """
    promoted: list[int] = []
    notice = Promoted(meeting=meeting, team=team)
    while _has_free_place(unit, meeting):
        first = unit.rsvps.get_first_waiting(meeting.id)
        if first is None:
            break
        unit.rsvps.update_waitlist_position(meeting.id, first.user_id, None)
        delivery.announce(
            unit,
            kind=PROMOTED_KIND,
            audience="user",
            audience_id=first.user_id,
            data=notice,
            now=now,
            expires_at=meeting.starts_at,
            subject=f"meeting:{meeting.id}",
        )
        promoted.append(first.user_id)
    return promoted


def _open_meeting(unit: Unit, meeting_id: int, now: datetime) -> tuple[Meeting, Team]:
    meeting = unit.meetings.get_meeting(meeting_id)
    team = None if meeting is None else unit.teams.get_team(meeting.team_id)
    if meeting is None or team is None:
        raise StaleButton()
    if meeting.state == "cancelled":
        raise MeetingCancelled(title=meeting.title)
    if meeting.starts_at <= now:
        raise MeetingStarted(title=meeting.title)
    return meeting, team


async def answer(
    db: Database,
    *,
    user_id: int,
    meeting_id: int,
    answer: Answer,
    notice_version: int,
    now: datetime,
) -> RsvpOutcome:
    """Record a member's answer; a withdrawal promotes the first member waiting for a place."""

    def change(unit: Unit) -> RsvpOutcome:
        _require_consent(unit, user_id, notice_version)
        meeting, team = _open_meeting(unit, meeting_id, now)
        previous = unit.rsvps.get_rsvp(meeting_id, user_id)
        promoted: list[int] = []
        if previous is not None and previous.answer == answer:
            rsvp, changed = previous, False  # a double press changes nothing
        else:
            position = None
            if answer == "going":
                waiting = unit.rsvps.get_first_waiting(meeting_id) is not None
                if waiting or not _has_free_place(unit, meeting):
                    position = unit.rsvps.get_next_waitlist_position(meeting_id)
            rsvp = unit.rsvps.upsert_rsvp(meeting_id, user_id, answer, position, now)
            changed = True
            promoted = fill_free_places(unit, meeting, team, now)
            if user_id in promoted:
                # Only possible when a place was free while others waited (a raised capacity).
                refreshed = unit.rsvps.get_rsvp(meeting_id, user_id)
                rsvp = refreshed if refreshed is not None else rsvp
        rank = None
        if rsvp.waitlist_position is not None:
            rank = unit.rsvps.get_waiting_rank(meeting_id, rsvp.waitlist_position)
        return RsvpOutcome(
            meeting=meeting,
            team=team,
            rsvp=rsvp,
            waiting_rank=rank,
            changed=changed,
            counts=card_counts(unit.rsvps.get_counts(meeting_id)),
            promoted=tuple(u for u in promoted if u != user_id),
        )

    return await db.run(change)


async def export_attendees(
    db: Database, *, moderated: Callable[[int], bool], meeting_id: int
) -> AttendeeExport:
    """Return who answered a meeting; only its sector's moderators (and admins) may."""

    def read(unit: Unit) -> AttendeeExport:
        meeting = unit.meetings.get_meeting(meeting_id)
        team = None if meeting is None else unit.teams.get_team(meeting.team_id)
        if meeting is None or team is None:
            raise StaleButton()
        if not moderated(meeting.team_id):
            raise NotAllowed()
        return AttendeeExport(
            meeting=meeting,
            team=team,
            attendees=tuple(unit.rsvps.list_attendees(meeting_id)),
        )

    return await db.run(read)
