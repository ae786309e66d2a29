"""Postulates, the review: the state machine of moderators', admins' and authors' actions; cards.

The actor's roles and the postulate's state are re-read in each unit, so a forged or stale
button changes nothing; every change of state queues its notices in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.errors import NotAllowed, StaleButton
from bot.services import audit
from bot.services.postulates import (
    DECISION_QUEUE,
    LIVE,
    NOTE_LIMITS,
    QUESTION_LIMITS,
    REASON_LIMITS,
    REVIEW_QUEUE,
    InvalidInput,
    WrongState,
    alert_moderators,
    check_length,
    notify_author,
    sector_team,
)
from storage.database import Database
from storage.models import Team
from storage.postulates import HistoryEntry, Postulate, Support
from storage.unit import Unit

# --- review state machine -----------------------------------------------------------------

Action = Literal[
    "take",
    "forward",
    "reject",
    "ask",
    "duplicate",
    "move",
    "answer",
    "adopt",
    "not_adopt",
    "withdraw",
]
Role = Literal["moderator", "admin", "author"]

# action -> (states it applies to, state it leads to (None: unchanged), who may do it, note)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None, Role, bool]] = {
    # Opening a card changes nothing; taking it into review is the moderator's explicit act.
    "take": (frozenset({"submitted"}), "in_review", "moderator", False),
    "forward": (frozenset({"submitted", "in_review"}), "forwarded", "moderator", False),
    "reject": (
        frozenset({"submitted", "in_review", "clarification"}),
        "rejected",
        "moderator",
        True,
    ),
    "ask": (frozenset({"submitted", "in_review"}), "clarification", "moderator", True),
    "duplicate": (
        frozenset({"submitted", "in_review", "clarification"}),
        "duplicate",
        "moderator",
        True,
    ),
    "move": (frozenset({"submitted", "in_review", "clarification"}), None, "moderator", False),
    "answer": (frozenset({"clarification"}), "in_review", "author", True),
    "adopt": (frozenset({"forwarded"}), "adopted", "admin", True),
    "not_adopt": (frozenset({"forwarded"}), "not_adopted", "admin", True),
    "withdraw": (
        frozenset({"submitted", "in_review", "clarification", "forwarded"}),
        "withdrawn",
        "author",
        False,
    ),
}
PROMPTED: frozenset[str] = frozenset({"reject", "ask", "duplicate", "adopt", "not_adopt", "answer"})
# Actions the author hears of (or that cannot be undone) are shown and confirmed first.
CONFIRMED: frozenset[str] = frozenset(
    {"forward", "reject", "ask", "duplicate", "adopt", "not_adopt", "withdraw"}
)
# The typed text's limits and the name its error messages use.
NOTE_RULES: dict[str, tuple[tuple[int, int], str]] = {
    "reject": (REASON_LIMITS, "reason"),
    "adopt": (REASON_LIMITS, "reason"),
    "not_adopt": (REASON_LIMITS, "reason"),
    "ask": (QUESTION_LIMITS, "question"),
    "answer": (NOTE_LIMITS, "note"),
}


def may(unit: Unit, user_id: int, action: str, postulate: Postulate) -> bool:
    """Whether the user may take `action` on the postulate now (roles read from the database)."""
    states, _, role, _ = TRANSITIONS[action]
    if postulate.state not in states:
        return False
    if role == "author":
        return postulate.author_id == user_id
    if postulate.author_id == user_id:
        return False  # nobody decides on their own postulate
    admin = unit.roles.is_admin(user_id)
    if role == "admin":
        return admin
    return admin or postulate.team_id in unit.roles.list_moderated_team_ids(user_id)


def checked_postulate(unit: Unit, user_id: int, action: str, postulate_id: int) -> Postulate:
    postulate = unit.postulates.get_postulate(postulate_id)
    if postulate is None:
        raise StaleButton()
    if not may(unit, user_id, action, postulate):
        states = TRANSITIONS[action][0]
        raise WrongState() if postulate.state not in states else NotAllowed()
    return postulate


def transition(
    unit: Unit,
    user_id: int,
    action: str,
    postulate_id: int,
    now: datetime,
    note: str | None = None,
    target: int | None = None,
) -> Postulate:
    postulate = checked_postulate(unit, user_id, action, postulate_id)
    _, to_state, _, needs_note = TRANSITIONS[action]
    duplicate_of: Postulate | None = None
    team_id: int | None = None
    if needs_note:
        note, duplicate_of = checked_note(unit, action, note or "", postulate)
    if action == "move":
        team = sector_team(unit, target)
        if team.id == postulate.team_id:
            raise StaleButton()
        team_id = team.id
        note = team.slug
    new_state = to_state or postulate.state
    unit.postulates.update_postulate(
        postulate.id,
        now,
        state=new_state,
        answer=note if action not in ("answer", "duplicate", "move") else None,
        team_id=team_id,
        duplicate_of=duplicate_of.id if duplicate_of is not None else None,
    )
    unit.postulates.add_history(
        postulate.id,
        actor_id=user_id,
        action=action,
        from_state=postulate.state,
        to_state=new_state,
        note=note,
        now=now,
    )
    unit.postulates.delete_prompt(user_id)
    if TRANSITIONS[action][2] != "author":
        audit.record(
            unit,
            actor_id=user_id,
            action="postulate.review",
            target=f"postulate:{postulate.reference}",
            details={"action": action, "from": postulate.state, "to": new_state, "note": note},
            now=now,
        )
    changed = unit.postulates.get_postulate(postulate.id)
    assert changed is not None
    if action == "answer":
        alert_moderators(unit, changed, changed.team_id, now, "answered", user_id)
    elif action == "withdraw":
        # The reviewers may be in the middle of it; the coordinating team too once forwarded.
        alert_team = changed.team_id
        if postulate.state == "forwarded":
            alert_team = unit.teams.list_teams("coordination")[0].id
        alert_moderators(unit, changed, alert_team, now, "withdrawn", user_id)
    else:
        # The author of an 'ask' gets an Answer button with it (drawn by each face).
        notify_author(unit, changed, now, action, note if action != "move" else None)
    if action == "forward":
        coordination = unit.teams.list_teams("coordination")
        for team in coordination:
            alert_moderators(unit, changed, team.id, now, "forwarded", user_id)
    if action == "move" and team_id is not None:
        alert_moderators(unit, changed, team_id, now, "moved", user_id)
    return changed


def checked_note(
    unit: Unit, action: str, note: str, postulate: Postulate
) -> tuple[str, Postulate | None]:
    """The typed text cleaned and within its action's limits (a duplicate: a known reference)."""
    if action == "duplicate":
        original = unit.postulates.get_postulate_by_reference(note.strip())
        if original is None or original.id == postulate.id:
            raise InvalidInput("postulates.error-reference", reference=note)
        return original.reference, original
    limits, name = NOTE_RULES[action]
    return check_length(note, limits, name), None


async def act(
    db: Database,
    user_id: int,
    action: Action,
    postulate_id: int,
    now: datetime,
    *,
    note: str | None = None,
    target: int | None = None,
) -> Postulate:
    """Take a review, decision or author action; the role and state are checked here."""
    return await db.run(transition, user_id, action, postulate_id, now, note, target)


def _prepare(unit: Unit, user_id: int, action: str, postulate_id: int, now: datetime) -> Postulate:
    postulate = checked_postulate(unit, user_id, action, postulate_id)
    unit.postulates.set_prompt(user_id, action, now, postulate_id=postulate.id)
    return postulate


async def prepare(
    db: Database, user_id: int, action: Action, postulate_id: int, now: datetime
) -> Postulate:
    """Check an action that needs a text and wait for the user's next message."""
    if action not in PROMPTED:
        raise StaleButton()
    return await db.run(_prepare, user_id, action, postulate_id, now)


# --- views ----------------------------------------------------------------------------------


class Card(BaseModel):
    """One postulate as a reviewer or its author sees it, with the actions allowed now."""

    model_config = ConfigDict(frozen=True)

    postulate: Postulate
    team: Team
    history: tuple[HistoryEntry, ...]
    supports: tuple[Support, ...]
    actions: tuple[str, ...]
    duplicate_reference: str | None = None
    sectors: tuple[Team, ...] = ()
    can_support: bool = False


def _may_support(unit: Unit, user_id: int, postulate: Postulate) -> bool:
    user = unit.users.get_user(user_id)
    organisation_id = user.organisation_id if user is not None else None
    if organisation_id is None or postulate.state not in LIVE:
        return False
    if postulate.author_id == user_id or postulate.organisation_id == organisation_id:
        return False
    return all(
        s.organisation_id != organisation_id for s in unit.postulates.list_supports(postulate.id)
    )


def card_of(unit: Unit, user_id: int, postulate: Postulate) -> Card:
    team = unit.teams.get_team(postulate.team_id)
    assert team is not None
    duplicate = (
        unit.postulates.get_postulate(postulate.duplicate_of) if postulate.duplicate_of else None
    )
    return Card(
        postulate=postulate,
        team=team,
        history=tuple(unit.postulates.list_history(postulate.id)),
        supports=tuple(unit.postulates.list_supports(postulate.id)),
        actions=tuple(a for a in TRANSITIONS if may(unit, user_id, a, postulate)),
        duplicate_reference=duplicate.reference if duplicate is not None else None,
        sectors=tuple(t for t in unit.teams.list_teams("sector") if t.id != postulate.team_id),
        can_support=_may_support(unit, user_id, postulate),
    )


def _can_see(unit: Unit, user_id: int, postulate: Postulate) -> bool:
    if postulate.author_id == user_id or unit.roles.is_admin(user_id):
        return True
    return postulate.team_id in unit.roles.list_moderated_team_ids(user_id)


class Queue(BaseModel):
    """The reviewer's queue: oldest first, with counts per state."""

    model_config = ConfigDict(frozen=True)

    review: tuple[Postulate, ...]
    decisions: tuple[Postulate, ...]
    counts: dict[str, int]
    is_admin: bool
    is_moderator: bool


def _queue(unit: Unit, user_id: int, limit: int) -> Queue:
    admin = unit.roles.is_admin(user_id)
    sectors = [t.id for t in unit.teams.list_teams("sector")]
    mine = sectors if admin else sorted(unit.roles.list_moderated_team_ids(user_id))
    # Nobody reviews their own postulate, so it is not in their list either.
    review = unit.postulates.list_postulates(
        team_ids=mine, states=list(REVIEW_QUEUE), limit=limit, not_author_id=user_id
    )
    decisions = (
        unit.postulates.list_postulates(
            states=list(DECISION_QUEUE), limit=limit, not_author_id=user_id
        )
        if admin
        else []
    )
    return Queue(
        review=tuple(review),
        decisions=tuple(decisions),
        counts=unit.postulates.count_by_state(mine),
        is_admin=admin,
        is_moderator=admin or bool(mine),
    )


async def review_queue(db: Database, user_id: int, limit: int = 20) -> Queue:
    """Return the postulates waiting for the user as moderator or admin."""
    return await db.run(_queue, user_id, limit)


def _mine(unit: Unit, user_id: int) -> list[Card]:
    postulates = unit.postulates.list_postulates(author_id=user_id)
    return [card_of(unit, user_id, p) for p in reversed(postulates)]


async def my_postulates(db: Database, user_id: int) -> list[Card]:
    """Return the user's postulates, newest first, with what they may still do."""
    return await db.run(_mine, user_id)


async def card(db: Database, user_id: int, postulate_id: int) -> Card:
    """Show one postulate to someone allowed to see it."""

    return await db.run(visible_card, user_id, postulate_id)


def visible_card(unit: Unit, user_id: int, postulate_id: int) -> Card:
    postulate = unit.postulates.get_postulate(postulate_id)
    if postulate is None:
        raise StaleButton()
    # Live postulates are public to members (so organisations can co-sign them).
    if postulate.state not in LIVE and not _can_see(unit, user_id, postulate):
        raise NotAllowed()
    return card_of(unit, user_id, postulate)


def _browse(unit: Unit, user_id: int, limit: int) -> list[Postulate]:
    followed = sorted(unit.subscriptions.list_subscribed_team_ids(user_id))
    team_ids = followed or [t.id for t in unit.teams.list_teams("sector")]
    found = unit.postulates.list_postulates(team_ids=team_ids, states=list(LIVE))
    others = [p for p in found if p.author_id != user_id]
    return list(reversed(others))[:limit]


async def browse(db: Database, user_id: int, limit: int = 20) -> list[Postulate]:
    """Live postulates of the sectors I follow (all sectors if none), newest first."""
    return await db.run(_browse, user_id, limit)


async def drop_prompt(db: Database, user_id: int) -> None:
    """Stop waiting for the user's text (the action it was for is no longer possible)."""
    await db.run(lambda unit: unit.postulates.delete_prompt(user_id))
