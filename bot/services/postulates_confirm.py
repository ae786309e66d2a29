"""Postulates, the review's confirmations: what an action will send, shown before it is sent.

Reject, ask, duplicate, forward, the coordinating team's decision and the author's withdrawal
are staged (the typed reason waits in the prompt) and taken on Confirm; Back sends nothing.
Taking into review and moving need no confirmation but answer with the changed card too.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from bot.errors import StaleButton
from bot.services.postulates import ModeratorAlert, StatusNotice, status_notice, team_of
from bot.services.postulates_review import (
    CONFIRMED,
    PROMPTED,
    TRANSITIONS,
    Action,
    Card,
    card_of,
    checked_note,
    checked_postulate,
    transition,
    visible_card,
)
from storage.database import Database
from storage.postulates import Postulate
from storage.unit import Unit


class Pending(BaseModel):
    """An action about to be taken: the notice the author (or, for a withdrawal, the
    reviewers) will get, shown to the actor with Confirm and Back."""

    model_config = ConfigDict(frozen=True)

    action: str
    postulate: Postulate
    notice: StatusNotice | None = None
    alert: ModeratorAlert | None = None


def _pending(
    unit: Unit, action: str, postulate: Postulate, note: str | None, now: datetime
) -> Pending:
    to_state = TRANSITIONS[action][1] or postulate.state
    after = postulate.model_copy(update={"state": to_state, "updated_at": now})
    if action == "withdraw":
        alert = ModeratorAlert(
            event="withdrawn",
            postulate_id=after.id,
            reference=after.reference,
            title=after.title,
            team=team_of(unit, after.team_id),
        )
        return Pending(action=action, postulate=postulate, alert=alert)
    # The same note the transition sends (a duplicate's: the original's reference).
    notice = status_notice(unit, after, action, note)
    return Pending(action=action, postulate=postulate, notice=notice)


def _ask_confirmation(
    unit: Unit, user_id: int, action: str, postulate_id: int, now: datetime
) -> Pending:
    if action not in CONFIRMED or action in PROMPTED:
        raise StaleButton()
    postulate = checked_postulate(unit, user_id, action, postulate_id)
    return _pending(unit, action, postulate, None, now)


async def ask_confirmation(
    db: Database, user_id: int, action: Action, postulate_id: int, now: datetime
) -> Pending:
    """What an action without a text (forward, withdraw) will send; nothing changes yet."""
    return await db.run(_ask_confirmation, user_id, action, postulate_id, now)


def _stage(unit: Unit, user_id: int, text: str, now: datetime) -> Pending | Postulate:
    prompt = unit.postulates.get_prompt(user_id)
    if prompt is None or prompt.postulate_id is None:
        raise StaleButton()
    postulate = checked_postulate(unit, user_id, prompt.action, prompt.postulate_id)
    note, _ = checked_note(unit, prompt.action, text, postulate)
    if prompt.action not in CONFIRMED:
        return transition(unit, user_id, prompt.action, postulate.id, now, note)
    unit.postulates.update_prompt(user_id, note=note)
    return _pending(unit, prompt.action, postulate, note, now)


async def stage(db: Database, user_id: int, text: str, now: datetime) -> Pending | Postulate:
    """The text a prompt waited for: checked, then kept for confirmation (or, for the
    author's answer, taken at once: the changed postulate)."""
    return await db.run(_stage, user_id, text, now)


def _confirm(unit: Unit, user_id: int, action: str, postulate_id: int, now: datetime) -> Card:
    if action not in CONFIRMED:
        raise StaleButton()
    note: str | None = None
    if action in PROMPTED:
        prompt = unit.postulates.get_prompt(user_id)
        # Only the confirmation of the text typed last is live; older ones are stale.
        if (
            prompt is None
            or prompt.action != action
            or prompt.postulate_id != postulate_id
            or prompt.note is None
        ):
            raise StaleButton()
        note = prompt.note
    changed = transition(unit, user_id, action, postulate_id, now, note)
    return card_of(unit, user_id, changed)


async def confirm(
    db: Database, user_id: int, action: Action, postulate_id: int, now: datetime
) -> Card:
    """Take the confirmed action; return the card as it stands afterwards."""
    return await db.run(_confirm, user_id, action, postulate_id, now)


def _back(unit: Unit, user_id: int, postulate_id: int) -> Card:
    prompt = unit.postulates.get_prompt(user_id)
    if prompt is not None and prompt.postulate_id == postulate_id:
        unit.postulates.delete_prompt(user_id)
    return visible_card(unit, user_id, postulate_id)


async def back(db: Database, user_id: int, postulate_id: int) -> Card:
    """Give up the action under way (nothing is sent); return the card unchanged."""
    return await db.run(_back, user_id, postulate_id)


def _take(unit: Unit, user_id: int, postulate_id: int, now: datetime) -> Card:
    changed = transition(unit, user_id, "take", postulate_id, now)
    return card_of(unit, user_id, changed)


async def take(db: Database, user_id: int, postulate_id: int, now: datetime) -> Card:
    """Take a submitted postulate into review (the author is told); return its card."""
    return await db.run(_take, user_id, postulate_id, now)


def _moved(unit: Unit, user_id: int, postulate_id: int, target: int, now: datetime) -> Card:
    changed = transition(unit, user_id, "move", postulate_id, now, target=target)
    return card_of(unit, user_id, changed)


async def move(db: Database, user_id: int, postulate_id: int, target: int, now: datetime) -> Card:
    """Move a postulate to another sector; return its card there."""
    return await db.run(_moved, user_id, postulate_id, target, now)


async def remember_prompt_message(db: Database, user_id: int, message_id: int) -> int | None:
    """Note the message now asking for the text; return the one asking before (if any)."""

    def change(unit: Unit) -> int | None:
        prompt = unit.postulates.get_prompt(user_id)
        if prompt is None:
            return None
        unit.postulates.update_prompt(user_id, message_id=message_id)
        return prompt.message_id

    return await db.run(change)
