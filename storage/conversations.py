"""Conversations storage: the state of every multi-step flow, one row per user and flow."""

from __future__ import annotations

from datetime import datetime

from storage.models import Row
from storage.repository import Repository
from storage.timefmt import db_time


class Conversation(Row):
    user_id: int
    flow: str
    step: str
    state: str  # JSON, validated by the flow's model
    paused: bool
    prompt_message_id: int | None
    expired_key: str
    updated_at: datetime
    expires_at: datetime


class StalePrompt(Row):
    id: int
    user_id: int  # the private chat the prompt is in
    message_id: int


class Conversations(Repository):
    """Multi-step conversations' state, one row per user and flow."""

    def get_active_conversation(self, user_id: int, now: datetime) -> Conversation | None:
        """The user's active (not paused, not expired) conversation, if any."""
        row = self._conn.execute(
            "SELECT * FROM conversations WHERE user_id = ? AND paused = 0 AND expires_at > ?",
            (user_id, db_time(now)),
        ).fetchone()
        return None if row is None else Conversation.from_row(row)

    def get_conversation(self, user_id: int, flow: str, now: datetime) -> Conversation | None:
        """The user's conversation of one flow, paused or not, unless it expired."""
        row = self._conn.execute(
            "SELECT * FROM conversations WHERE user_id = ? AND flow = ? AND expires_at > ?",
            (user_id, flow, db_time(now)),
        ).fetchone()
        return None if row is None else Conversation.from_row(row)

    def update_pause_all(self, user_id: int) -> int:
        """Pause the user's active conversation (another command came); return how many."""
        return self._conn.execute(
            "UPDATE conversations SET paused = 1 WHERE user_id = ? AND paused = 0", (user_id,)
        ).rowcount

    def add_or_update_conversation(
        self,
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
        """Store where a flow stands and make it the user's one active conversation."""
        # Pausing the others first keeps the one-active index satisfied.
        self._conn.execute(
            "UPDATE conversations SET paused = 1 WHERE user_id = ? AND flow <> ? AND paused = 0",
            (user_id, flow),
        )
        self._conn.execute(
            "INSERT INTO conversations (user_id, flow, step, state, paused, prompt_message_id,"
            " expired_key, updated_at, expires_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?)"
            " ON CONFLICT (user_id, flow) DO UPDATE SET step = excluded.step,"
            " state = excluded.state, paused = 0,"
            " prompt_message_id = coalesce(excluded.prompt_message_id, prompt_message_id),"
            " expired_key = excluded.expired_key, updated_at = excluded.updated_at,"
            " expires_at = excluded.expires_at",
            (
                user_id,
                flow,
                step,
                state,
                prompt_message_id,
                expired_key,
                db_time(now),
                db_time(expires_at),
            ),
        )

    def delete_conversation(self, user_id: int, flow: str) -> bool:
        """End a flow's conversation; True if there was one."""
        return (
            self._conn.execute(
                "DELETE FROM conversations WHERE user_id = ? AND flow = ?", (user_id, flow)
            ).rowcount
            > 0
        )

    def delete_expired_conversations(self, now: datetime, limit: int = 500) -> list[Conversation]:
        """Remove up to `limit` conversations whose time ran out; return them (oldest first)."""
        rows = self._conn.execute(
            "SELECT * FROM conversations WHERE expires_at <= ? ORDER BY expires_at LIMIT ?",
            (db_time(now), limit),
        ).fetchall()
        expired = [Conversation.from_row(row) for row in rows]
        self._conn.executemany(
            "DELETE FROM conversations WHERE user_id = ? AND flow = ?",
            [(c.user_id, c.flow) for c in expired],
        )
        return expired

    def add_stale_prompt(self, user_id: int, message_id: int, now: datetime) -> None:
        """Note a prompt whose conversation ended without it: its buttons are to go."""
        self._conn.execute(
            "INSERT INTO stale_prompts (user_id, message_id, created_at) VALUES (?, ?, ?)",
            (user_id, message_id, db_time(now)),
        )

    def list_stale_prompts(self, limit: int) -> list[StalePrompt]:
        """The oldest `limit` prompts whose buttons are still to be removed."""
        rows = self._conn.execute(
            "SELECT id, user_id, message_id FROM stale_prompts ORDER BY created_at LIMIT ?",
            (limit,),
        ).fetchall()
        return [StalePrompt.from_row(row) for row in rows]

    def delete_stale_prompts(self, ids: list[int]) -> None:
        """Forget prompts that were seen to (their buttons removed, or nothing to remove)."""
        self._conn.executemany("DELETE FROM stale_prompts WHERE id = ?", [(i,) for i in ids])
