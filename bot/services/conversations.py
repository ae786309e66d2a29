"""Conversations: the stored state of every multi-step flow (handlers/flow.py drives them)."""

from __future__ import annotations

from datetime import datetime

from storage.conversations import Conversation
from storage.unit import Unit


def get(unit: Unit, user_id: int, flow: str, now: datetime) -> Conversation | None:
    """The user's conversation of one flow, paused or not, unless it expired."""
    return unit.conversations.get_conversation(user_id, flow, now)


def get_active(unit: Unit, user_id: int, now: datetime) -> Conversation | None:
    """The user's active (not paused, not expired) conversation, if any."""
    return unit.conversations.get_active_conversation(user_id, now)


def save(
    unit: Unit,
    *,
    user_id: int,
    flow: str,
    step: str,
    state: str,
    expired_key: str,
    now: datetime,
    expires_at: datetime,
    prompt_message_id: int | None = None,
) -> None:
    """Store the conversation's step and state (the one active one; others are paused)."""
    unit.conversations.add_or_update_conversation(
        user_id=user_id,
        flow=flow,
        step=step,
        state=state,
        expired_key=expired_key,
        now=now,
        expires_at=expires_at,
        prompt_message_id=prompt_message_id,
    )


def end(unit: Unit, user_id: int, flow: str) -> bool:
    """Drop the conversation (finished, cancelled or abandoned); True if there was one."""
    return unit.conversations.delete_conversation(user_id, flow)


def pause_all(unit: Unit, user_id: int) -> int:
    """Pause the user's active conversation because another command came; return how many."""
    return unit.conversations.update_pause_all(user_id)
