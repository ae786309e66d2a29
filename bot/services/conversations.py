"""Conversations: the stored state of every multi-step flow (handlers/flow.py drives them)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ValidationError

from storage.conversations import Conversation, StalePrompt
from storage.database import Database
from storage.unit import Unit

# Stale prompts seen to per after-settle pass: a burst of expiries waits for the next pass.
STALE_BATCH = 50


class _Prompt(BaseModel):
    """The part of a flow's saved state that names its last prompt (handlers/prompts.Prompted)."""

    prompt_id: int | None = None
    prompt_has_buttons: bool = False


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


def expire(unit: Unit, now: datetime) -> list[Conversation]:
    """Drop the conversations whose time ran out; their last prompts' buttons are to go
    (flows run in private chats, so the chat is the user's)."""
    expired = unit.conversations.delete_expired_conversations(now)
    for conversation in expired:
        try:
            prompt = _Prompt.model_validate_json(conversation.state)
        except ValidationError:
            continue  # a state this version cannot read has no prompt to clear
        if prompt.prompt_id is not None and prompt.prompt_has_buttons:
            unit.conversations.add_stale_prompt(conversation.user_id, prompt.prompt_id, now)
    return expired


def stale_prompt(unit: Unit, user_id: int, message_id: int, now: datetime) -> None:
    """Note a prompt in the user's private chat whose conversation ended without it (e.g. an
    expired postulate draft)."""
    unit.conversations.add_stale_prompt(user_id, message_id, now)


async def stale_prompts(db: Database) -> list[StalePrompt]:
    """The next prompts whose buttons are to be removed."""
    return await db.run(lambda unit: unit.conversations.list_stale_prompts(STALE_BATCH))


async def forget_stale_prompts(db: Database, ids: list[int]) -> None:
    """Forget prompts that were seen to."""
    if ids:
        await db.run(lambda unit: unit.conversations.delete_stale_prompts(ids))
