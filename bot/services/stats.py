"""Statistics (/stats): per sector subscribers and the month's change, meetings held and their
RSVPs, postulates per state, the delivery success rate; a PNG chart drawn with matplotlib.

matplotlib is imported only when a chart is drawn (the idle bot's memory is benchmarked),
with the headless Agg backend and without pyplot's global state, in a worker thread.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.errors import NotAllowed
from bot.services.users import Actor
from storage.consultations import SectionSummary
from storage.database import Database
from storage.models import Team
from storage.unit import Unit

POSTULATE_STATES = (
    "submitted",
    "in_review",
    "clarification",
    "forwarded",
    "adopted",
    "not_adopted",
    "rejected",
    "duplicate",
    "withdrawn",
)
RSVP_ANSWERS = ("going", "waiting", "maybe", "not_going")
# The outcomes that count for the success rate (pending and sending are not over yet).
DELIVERY_OUTCOMES = ("sent", "failed", "blocked", "unknown", "expired")
# The latest consultations /stats counts (a city runs a few a year; older ones are in the
# report).
STATS_CONSULTATIONS = 5


class SectorStats(BaseModel):
    """One sector team's figures."""

    model_config = ConfigDict(frozen=True)

    team: Team
    subscribers: int
    joined: int
    left: int
    meetings_held: int
    rsvps: dict[str, int]
    postulates: dict[str, int]

    @property
    def change(self) -> int:
        return self.joined - self.left


class ConsultationStats(BaseModel):
    """A consultation's comments, in all and per section (only sections with comments)."""

    model_config = ConfigDict(frozen=True)

    id: int
    title: str
    comments: int
    sections: tuple[SectionSummary, ...]


class Stats(BaseModel):
    """Everything /stats shows, for the sectors in the actor's scope."""

    model_config = ConfigDict(frozen=True)

    since: datetime  # the start of the current month, local midnight, in UTC
    sectors: tuple[SectorStats, ...]
    deliveries: dict[str, int]
    all_sectors: bool
    # Admins only: consultations belong to the coordinating team.
    consultations: tuple[ConsultationStats, ...] = ()

    @property
    def finished_deliveries(self) -> int:
        return sum(self.deliveries.get(state, 0) for state in DELIVERY_OUTCOMES)

    @property
    def success_rate(self) -> float | None:
        """sent / (sent + failed + blocked + unknown + expired); None without deliveries."""
        total = self.finished_deliveries
        return None if total == 0 else self.deliveries.get("sent", 0) / total


def month_start(now: datetime, zone: ZoneInfo) -> datetime:
    """Local midnight of the first day of `now`'s month, in UTC."""
    local = now.astimezone(zone)
    first = datetime.combine(local.date().replace(day=1), time(0), tzinfo=zone)
    return first.astimezone(UTC)


async def stats(db: Database, actor: Actor, now: datetime, zone: ZoneInfo) -> Stats:
    """Admins: every sector; moderators: their sectors; anyone else is refused."""
    if not actor.is_moderator:
        raise NotAllowed()
    since = month_start(now, zone)

    def inner(unit: Unit) -> Stats:
        teams = [team for team in unit.teams.list_teams("sector") if actor.moderates(team.id)]
        if not teams:
            raise NotAllowed()
        ids = [team.id for team in teams]
        subscribers = unit.stats.list_subscriber_counts(ids)
        joined = unit.stats.list_joined_counts(ids, since)
        left = unit.stats.list_left_counts(ids, since)
        held = unit.stats.list_meetings_held(ids, since, now)
        rsvps = unit.stats.list_rsvp_counts(ids, since, now)
        postulates = unit.stats.list_postulate_counts(ids)
        deliveries = unit.stats.list_delivery_state_counts(None if actor.is_admin else ids, since)
        consultations = _consultations(unit) if actor.is_admin else ()
        return Stats(
            since=since,
            sectors=tuple(
                SectorStats(
                    team=team,
                    subscribers=subscribers.get(team.id, 0),
                    joined=joined.get(team.id, 0),
                    left=left.get(team.id, 0),
                    meetings_held=held.get(team.id, 0),
                    rsvps=rsvps.get(team.id, {}),
                    postulates=postulates.get(team.id, {}),
                )
                for team in teams
            ),
            deliveries=deliveries,
            all_sectors=actor.is_admin,
            consultations=consultations,
        )

    # Counting a month of copies at 50,000 members takes a while: the read-only connection
    # keeps it from holding up the writer (issue 12).
    return await db.read(inner)


def _consultations(unit: Unit) -> tuple[ConsultationStats, ...]:
    found = []
    for consultation in unit.consultations.list_consultations(
        published_only=True, limit=STATS_CONSULTATIONS
    ):
        sections = unit.consultations.list_sections(consultation.id)
        found.append(
            ConsultationStats(
                id=consultation.id,
                title=consultation.title,
                comments=sum(section.comments for section in sections),
                sections=tuple(section for section in sections if section.comments),
            )
        )
    return tuple(found)
