"""Roles storage: admins (seeded from config), sector moderators and one-time invites."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from storage.models import Row
from storage.repository import Repository
from storage.timefmt import db_time


class Moderator(Row):
    user_id: int
    team_id: int
    granted_by: int | None
    granted_at: datetime
    display_name: str | None


class Invite(Row):
    id: int
    token_hash: str
    team_id: int
    created_by: int
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by: int | None


class Roles(Repository):
    """Roles repository over one transaction's connection."""

    __slots__ = ()

    def replace_config_admins(self, user_ids: Iterable[int]) -> None:
        """Make the config-sourced admins exactly `user_ids`."""
        ids = sorted(set(user_ids))
        self._conn.execute("DELETE FROM admins WHERE source = 'config'")
        self._conn.executemany(
            "INSERT INTO admins (user_id, source) VALUES (?, 'config')", [(i,) for i in ids]
        )

    def is_admin(self, user_id: int) -> bool:
        """Return whether the user is an admin of the coordinating team."""
        return (
            self._conn.execute("SELECT 1 FROM admins WHERE user_id = ?", (user_id,)).fetchone()
            is not None
        )

    def list_moderated_team_ids(self, user_id: int) -> set[int]:
        """Return the ids of the sector teams the user moderates."""
        rows = self._conn.execute(
            "SELECT team_id FROM moderators WHERE user_id = ?", (user_id,)
        ).fetchall()
        return {row[0] for row in rows}

    def list_admin_ids(self) -> list[int]:
        """Return the admins' user ids in order."""
        return [row[0] for row in self._conn.execute("SELECT user_id FROM admins ORDER BY user_id")]

    def get_moderator(self, user_id: int, team_id: int) -> Moderator | None:
        """Return one moderator role."""
        row = self._conn.execute(
            "SELECT * FROM moderators WHERE user_id = ? AND team_id = ?", (user_id, team_id)
        ).fetchone()
        return None if row is None else Moderator.from_row(row)

    def list_moderators(self) -> list[Moderator]:
        """Every moderator role, by sector team order, then by when it was granted."""
        rows = self._conn.execute(
            """SELECT m.* FROM moderators m JOIN teams t ON t.id = m.team_id
               ORDER BY t.position, t.id, m.granted_at, m.user_id"""
        ).fetchall()
        return [Moderator.from_row(row) for row in rows]

    def add_moderator(
        self,
        *,
        user_id: int,
        team_id: int,
        granted_by: int,
        display_name: str | None,
        now: datetime,
    ) -> bool:
        """Grant a sector's moderator role; False if the user already had it."""
        cursor = self._conn.execute(
            """INSERT INTO moderators (user_id, team_id, granted_by, granted_at, display_name)
               VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, team_id) DO NOTHING""",
            (user_id, team_id, granted_by, db_time(now), display_name),
        )
        return cursor.rowcount == 1

    def delete_moderator(self, user_id: int, team_id: int) -> bool:
        """Remove a moderator role; False if there was none."""
        cursor = self._conn.execute(
            "DELETE FROM moderators WHERE user_id = ? AND team_id = ?", (user_id, team_id)
        )
        return cursor.rowcount == 1

    def add_invite(
        self,
        *,
        token_hash: str,
        team_id: int,
        created_by: int,
        now: datetime,
        expires_at: datetime,
    ) -> Invite:
        """Store a one-time moderator invite (only the token's hash)."""
        row = self._conn.execute(
            """INSERT INTO moderator_invites
                   (token_hash, team_id, created_by, created_at, expires_at)
               VALUES (?, ?, ?, ?, ?) RETURNING *""",
            (token_hash, team_id, created_by, db_time(now), db_time(expires_at)),
        ).fetchone()
        return Invite.from_row(row)

    def get_invite_by_hash(self, token_hash: str) -> Invite | None:
        """Return the invite with this token hash."""
        row = self._conn.execute(
            "SELECT * FROM moderator_invites WHERE token_hash = ?", (token_hash,)
        ).fetchone()
        return None if row is None else Invite.from_row(row)

    def update_invite_used(self, token_hash: str, user_id: int, now: datetime) -> Invite | None:
        """Redeem an invite: one atomic UPDATE, so it works once and only before it expires."""
        row = self._conn.execute(
            """UPDATE moderator_invites SET used_at = ?, used_by = ?
               WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING *""",
            (db_time(now), user_id, token_hash, db_time(now)),
        ).fetchone()
        return None if row is None else Invite.from_row(row)

    def list_display_names(self, user_ids: Iterable[int]) -> dict[int, str]:
        """The names moderators were granted under, for the given users (those that have one)."""
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        rows = self._conn.execute(
            f"""SELECT user_id, display_name FROM moderators
                WHERE display_name IS NOT NULL AND user_id IN ({",".join("?" * len(ids))})
                ORDER BY granted_at""",
            ids,
        ).fetchall()
        return {row[0]: row[1] for row in rows}
