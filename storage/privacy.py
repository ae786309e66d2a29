"""Privacy storage: consent history, what is kept about a user, erasure and retention."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from storage.models import Row
from storage.repository import Repository
from storage.timefmt import db_time

# An erased recipient's delivery rows keep their state (so an announcement's counts stay
# right) but not the chat id: each gets a number above any Telegram user id (52 bits at
# most), unique per row. It has no user row, so a copy that a send in flight puts back to
# `pending` is settled `failed` by the next claim, never sent.
ERASED_CHAT_BASE = 1 << 53


class Consent(Row):
    version: int
    given_at: datetime


def _dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --- consent ------------------------------------------------------------------------------


# --- what is stored about one user (for /mydata) ------------------------------------------


# --- erasure (inside the one /forget or retention transaction) ----------------------------


# --- retention ----------------------------------------------------------------------------


# --- generic ------------------------------------------------------------------------------


def _identifier(name: str) -> str:
    if not name.isidentifier():
        raise ValueError(f"not an SQL identifier: {name!r}")
    return name


class Privacy(Repository):
    """Privacy repository over one transaction's connection."""

    __slots__ = ()

    def list_consents(self, user_id: int) -> list[Consent]:
        """Every consent the user gave, oldest first."""
        rows = self._conn.execute(
            "SELECT version, given_at FROM consent_history WHERE user_id = ? ORDER BY id",
            (user_id,),
        ).fetchall()
        return [Consent.from_row(row) for row in rows]

    def list_moderator_roles(self, user_id: int) -> list[dict[str, Any]]:
        """The sector teams the user moderates (without who granted it: that is an admin's act)."""
        return _dicts(
            self._conn.execute(
                """SELECT t.slug AS team, m.granted_at FROM moderators m
                   JOIN teams t ON t.id = m.team_id WHERE m.user_id = ? ORDER BY t.position""",
                (user_id,),
            )
        )

    def list_roles_granted_by(self, user_id: int) -> list[dict[str, Any]]:
        """Moderator roles the user granted to others: the team and when, not to whom."""
        return _dicts(
            self._conn.execute(
                """SELECT t.slug AS team, m.granted_at FROM moderators m
                   JOIN teams t ON t.id = m.team_id WHERE m.granted_by = ? ORDER BY m.granted_at""",
                (user_id,),
            )
        )

    def list_deliveries_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Every notice queued or sent to the chat, with the text in the language it was sent in."""
        cursor = self._conn.execute(
            """SELECT a.kind, a.subject, d.language, d.state, d.attempts, d.message_id, d.error,
                      d.updated_at, a.payload
               FROM deliveries d JOIN announcements a ON a.id = d.announcement_id
               WHERE d.chat_id = ? ORDER BY d.id""",
            (chat_id,),
        )
        found = []
        for row in _dicts(cursor):
            payload = json.loads(row.pop("payload"))
            row["text"] = payload.get(row["language"], {}).get("text")
            found.append(row)
        return found

    def list_user_announcements(self, user_id: int) -> list[dict[str, Any]]:
        """Notices addressed to the user alone that are not turned into deliveries yet."""
        return _dicts(
            self._conn.execute(
                """SELECT kind, subject, due_at, expires_at, state, created_at FROM announcements
                   WHERE audience = 'user' AND audience_id = ? AND state = 'scheduled'
                   ORDER BY id""",
                (user_id,),
            )
        )

    def list_announcements_by(self, user_id: int) -> list[dict[str, Any]]:
        """Notices the user (a moderator) queued: what, to which audience, when."""
        return _dicts(
            self._conn.execute(
                """SELECT kind, audience, subject, due_at, state, created_at FROM announcements
                   WHERE created_by = ? ORDER BY id""",
                (user_id,),
            )
        )

    def list_meetings_by(self, user_id: int) -> list[dict[str, Any]]:
        """Meetings and series the user (a moderator) scheduled."""
        meetings = _dicts(
            self._conn.execute(
                """SELECT id, title, starts_at, state, created_at FROM meetings
                   WHERE created_by = ? ORDER BY id""",
                (user_id,),
            )
        )
        series = _dicts(
            self._conn.execute(
                """SELECT id, rule, interval_n, until_date, created_at FROM meeting_series
                   WHERE created_by = ? ORDER BY id""",
                (user_id,),
            )
        )
        return [{"meeting": m} for m in meetings] + [{"series": s} for s in series]

    def list_calls_by(self, user_id: int) -> list[dict[str, Any]]:
        """Calls for postulates the user (a moderator) opened."""
        return _dicts(
            self._conn.execute(
                """SELECT id, title, deadline, state, created_at FROM postulate_calls
                   WHERE opened_by = ? ORDER BY id""",
                (user_id,),
            )
        )

    def list_history_of_authored(self, user_id: int) -> list[dict[str, Any]]:
        """The history of the user's postulates; who acted is 'me' or 'team', never another id."""
        cursor = self._conn.execute(
            """SELECT p.reference, h.at, h.action, h.from_state, h.to_state, h.note,
                      CASE WHEN h.actor_id = p.author_id THEN 'me'
                           WHEN h.actor_id IS NULL THEN NULL ELSE 'team' END AS by
               FROM postulate_history h JOIN postulates p ON p.id = h.postulate_id
               WHERE p.author_id = ? ORDER BY h.postulate_id, h.id""",
            (user_id,),
        )
        return _dicts(cursor)

    def list_actions_by(self, user_id: int) -> list[dict[str, Any]]:
        """What the user did to postulates of others (a moderator's review steps)."""
        cursor = self._conn.execute(
            """SELECT p.reference, h.at, h.action, h.from_state, h.to_state, h.note
               FROM postulate_history h JOIN postulates p ON p.id = h.postulate_id
               WHERE h.actor_id = ? AND p.author_id IS NOT h.actor_id ORDER BY h.id""",
            (user_id,),
        )
        return _dicts(cursor)

    def list_prompts(self, user_id: int) -> list[dict[str, Any]]:
        """A review input the user is expected to type, if any."""
        return _dicts(
            self._conn.execute(
                """SELECT action, postulate_id, team_id, created_at FROM postulate_prompts
                   WHERE user_id = ?""",
                (user_id,),
            )
        )

    def update_expire_deliveries(self, chat_id: int, now: datetime) -> int:
        """Expire every copy still waiting for the chat; return how many."""
        cursor = self._conn.execute(
            """UPDATE deliveries SET state = 'expired', error = 'recipient erased', updated_at = ?
               WHERE chat_id = ? AND state = 'pending'""",
            (db_time(now), chat_id),
        )
        return cursor.rowcount

    def count_sending(self, chat_id: int) -> int:
        """Copies being sent to the chat right now (claimed: they cannot be recalled)."""
        row = self._conn.execute(
            "SELECT count(*) FROM deliveries WHERE chat_id = ? AND state = 'sending'", (chat_id,)
        ).fetchone()
        count: int = row[0]
        return count

    def update_anonymise_deliveries(self, chat_id: int) -> int:
        """Replace the chat id on its delivery rows by a per-row placeholder; return how many."""
        cursor = self._conn.execute(
            "UPDATE deliveries SET chat_id = ? + id WHERE chat_id = ?", (ERASED_CHAT_BASE, chat_id)
        )
        return cursor.rowcount

    def update_anonymise_announcements(self, user_id: int) -> int:
        """Notices to the user alone are cancelled and addressed to nobody; the user's own
        broadcasts lose their author. Returns how many notices to the user were cancelled."""
        cursor = self._conn.execute(
            """UPDATE announcements SET state = 'cancelled'
               WHERE audience = 'user' AND audience_id = ? AND state = 'scheduled'""",
            (user_id,),
        )
        cancelled = cursor.rowcount
        # The 'user' resolver finds nobody for id 0: no Telegram user has it.
        self._conn.execute(
            "UPDATE announcements SET audience_id = 0 WHERE audience = 'user' AND audience_id = ?",
            (user_id,),
        )
        self._conn.execute(
            "UPDATE announcements SET created_by = NULL WHERE created_by = ?", (user_id,)
        )
        return cancelled

    def update_anonymise_support_keys(self, user_id: int) -> int:
        """A personal co-signature keeps counting, but its key no longer holds the user's id.

        storage.postulates.update_anonymise_author clears `user_id` and leaves `supporter_key`
        ('u<id>'), so it is rewritten here to a random key of the same shape family.
        """
        cursor = self._conn.execute(
            """UPDATE postulate_supports SET supporter_key = 'x' || lower(hex(randomblob(8)))
               WHERE supporter_key = ?""",
            (f"u{user_id}",),
        )
        return cursor.rowcount

    def delete_moderator_roles(self, user_id: int) -> int:
        """Remove the user's moderator roles (an admin may grant them again)."""
        return self._conn.execute("DELETE FROM moderators WHERE user_id = ?", (user_id,)).rowcount

    def delete_user(self, user_id: int) -> bool:
        """Delete the user row; rows referencing it with ON DELETE CASCADE go with it."""
        return self._conn.execute("DELETE FROM users WHERE id = ?", (user_id,)).rowcount > 0

    def get_last_retention(self) -> datetime | None:
        """When retention last ran."""
        row = self._conn.execute("SELECT last_at FROM retention_runs WHERE id = 1").fetchone()
        return None if row is None else datetime.fromisoformat(row[0])

    def update_last_retention(self, now: datetime) -> None:
        """Remember that retention ran at `now`."""
        self._conn.execute(
            """INSERT INTO retention_runs (id, last_at) VALUES (1, ?)
               ON CONFLICT (id) DO UPDATE SET last_at = excluded.last_at""",
            (db_time(now),),
        )

    def add_inactivity(self, now: datetime) -> int:
        """Start counting inactivity for inactive users not counted yet; return how many."""
        cursor = self._conn.execute(
            """INSERT INTO user_inactivity (user_id, inactive_since)
               SELECT id, ? FROM users WHERE active = 0
               ON CONFLICT (user_id) DO NOTHING""",
            (db_time(now),),
        )
        return cursor.rowcount

    def list_inactive_since(self, before: datetime, limit: int = -1) -> list[int]:
        """Users still inactive who became so before `before` (at most `limit`)."""
        rows = self._conn.execute(
            """SELECT i.user_id FROM user_inactivity i JOIN users u ON u.id = i.user_id
               WHERE u.active = 0 AND i.inactive_since < ? ORDER BY i.user_id LIMIT ?""",
            (db_time(before), limit),
        ).fetchall()
        return [row[0] for row in rows]

    def delete_old_deliveries(self, before: datetime, limit: int = -1) -> int:
        """Delete settled delivery rows last changed before `before` (at most `limit`)."""
        # The inner WHERE repeats the partial index's condition word for word, so it is used.
        cursor = self._conn.execute(
            """DELETE FROM deliveries WHERE id IN
                   (SELECT id FROM deliveries
                    WHERE state IN ('sent', 'failed', 'blocked', 'unknown', 'expired')
                      AND updated_at < ? LIMIT ?)""",
            (db_time(before), limit),
        )
        return cursor.rowcount

    def list_rows(
        self, table: str, column: str, user_id: int, omit: tuple[str, ...] = ()
    ) -> list[dict[str, Any]]:
        """Every row of `table` whose `column` is the user, without the `omit` columns.

        The names come from the collectors' code, never from input; they are checked anyway
        because they go into the SQL text.
        """
        names = {row[1] for row in self._conn.execute(f"PRAGMA table_info({_identifier(table)})")}
        if column not in names:
            raise ValueError(f"{table} has no column {column}")
        rows = _dicts(
            self._conn.execute(
                f"SELECT * FROM {_identifier(table)} WHERE {_identifier(column)} = ?", (user_id,)
            )
        )
        return [{k: v for k, v in row.items() if k not in omit} for row in rows]

    def list_subscriptions(self, user_id: int) -> list[dict[str, Any]]:
        """The sector teams the user follows, by slug, with since when."""
        return _dicts(
            self._conn.execute(
                """SELECT t.slug AS team, s.created_at FROM subscriptions s
                   JOIN teams t ON t.id = s.team_id WHERE s.user_id = ? ORDER BY t.position""",
                (user_id,),
            )
        )

    def update_forget_progress_chat(self, user_id: int) -> int:
        """A broadcast's progress message in the erased moderator's chat is no longer edited."""
        exists = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'broadcasts'"
        ).fetchone()
        if exists is None:
            return 0
        cursor = self._conn.execute(
            """UPDATE broadcasts SET progress_chat_id = NULL, progress_message_id = NULL,
                   progress_done = 1
               WHERE progress_chat_id = ?""",
            (user_id,),
        )
        return cursor.rowcount

    def list_audit_about(self, user_id: int) -> list[dict[str, Any]]:
        """Audit entries whose target is the user (roles granted or revoked), without the actor."""
        exists = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'"
        ).fetchone()
        if exists is None:
            return []
        return _dicts(
            self._conn.execute(
                "SELECT at, action, details FROM audit_log WHERE target = ? ORDER BY id",
                (f"user:{user_id}",),
            )
        )

    def list_table_names(self) -> set[str]:
        """Return the names of the schema's tables (an export covers only those that exist)."""
        rows = self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in rows}
