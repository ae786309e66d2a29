"""Postulates storage, the submission: drafts (the resumable /postulate) and review prompts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.postulate_models import Draft, Prompt
from storage.repository import Repository
from storage.timefmt import db_time

_DRAFT_FIELDS = frozenset(
    {
        "step",
        "editing",
        "paused",
        "team_id",
        "organisation_id",
        "on_behalf",
        "title",
        "content",
        "attachment_type",
        "attachment_file_id",
        "prompt_message_id",
    }
)


class DraftsAndPrompts(Repository):
    """Drafts and the review input a user is expected to type (part of `unit.postulates`)."""

    __slots__ = ()

    def get_draft(self, user_id: int) -> Draft | None:
        """Return the user's draft."""
        row = self._conn.execute(
            "SELECT * FROM postulate_drafts WHERE user_id = ?", (user_id,)
        ).fetchone()
        return None if row is None else Draft.from_row(row)

    def add_draft(self, user_id: int, now: datetime) -> Draft:
        """Start a new draft at the sector step, replacing any old one of the user."""
        self._conn.execute("DELETE FROM postulate_drafts WHERE user_id = ?", (user_id,))
        row = self._conn.execute(
            """INSERT INTO postulate_drafts (user_id, step, created_at, updated_at)
               VALUES (?, 'sector', ?, ?) RETURNING *""",
            (user_id, db_time(now), db_time(now)),
        ).fetchone()
        return Draft.from_row(row)

    def update_draft(self, draft_id: int, now: datetime, **fields: Any) -> Draft:
        """Change fields of a draft (and its idle clock); return it."""
        unknown = set(fields) - _DRAFT_FIELDS
        if unknown:
            raise ValueError(f"unknown draft fields: {sorted(unknown)}")
        names = sorted(fields)
        assignments = ", ".join(f"{name} = ?" for name in names)
        row = self._conn.execute(
            f"UPDATE postulate_drafts SET {assignments}, updated_at = ? WHERE id = ? RETURNING *",
            (*(fields[name] for name in names), db_time(now), draft_id),
        ).fetchone()
        if row is None:
            raise LookupError(draft_id)
        return Draft.from_row(row)

    def delete_draft(self, draft_id: int) -> bool:
        """Remove a draft; return whether it existed."""
        return (
            self._conn.execute("DELETE FROM postulate_drafts WHERE id = ?", (draft_id,)).rowcount
            > 0
        )

    def list_idle_drafts(self, before: datetime) -> list[Draft]:
        """Return drafts untouched since `before`."""
        rows = self._conn.execute(
            # In the index's order, so the idle ones are found without reading every draft.
            "SELECT * FROM postulate_drafts WHERE updated_at < ? ORDER BY updated_at, id",
            (db_time(before),),
        ).fetchall()
        return [Draft.from_row(row) for row in rows]

    def get_prompt(self, user_id: int) -> Prompt | None:
        """Return the review input the user is expected to type."""
        row = self._conn.execute(
            "SELECT * FROM postulate_prompts WHERE user_id = ?", (user_id,)
        ).fetchone()
        return None if row is None else Prompt.from_row(row)

    def set_prompt(
        self,
        user_id: int,
        action: str,
        now: datetime,
        *,
        postulate_id: int | None = None,
        team_id: int | None = None,
    ) -> None:
        """Wait for the user's text for `action` (replacing an earlier wait)."""
        self._conn.execute(
            """INSERT INTO postulate_prompts (user_id, action, postulate_id, team_id, created_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (user_id) DO UPDATE SET action = excluded.action,
                   postulate_id = excluded.postulate_id, team_id = excluded.team_id,
                   created_at = excluded.created_at, note = NULL, message_id = NULL""",
            (user_id, action, postulate_id, team_id, db_time(now)),
        )

    def delete_prompt(self, user_id: int) -> bool:
        """Stop waiting for the user's text; return whether a prompt existed."""
        cursor = self._conn.execute("DELETE FROM postulate_prompts WHERE user_id = ?", (user_id,))
        return cursor.rowcount > 0

    def update_prompt(
        self, user_id: int, *, note: str | None = None, message_id: int | None = None
    ) -> None:
        """Keep the typed text waiting for confirmation and the prompt's message."""
        self._conn.execute(
            """UPDATE postulate_prompts SET note = coalesce(?, note),
                   message_id = coalesce(?, message_id) WHERE user_id = ?""",
            (note, message_id, user_id),
        )
