"""Subscriptions storage: which sector teams a user follows."""

from __future__ import annotations

from datetime import datetime

from storage.repository import Repository
from storage.timefmt import db_time


class Subscriptions(Repository):
    """Subscriptions repository over one transaction's connection."""

    __slots__ = ()

    def list_subscribed_team_ids(self, user_id: int) -> set[int]:
        """Return the ids of the teams the user subscribes to."""
        rows = self._conn.execute(
            "SELECT team_id FROM subscriptions WHERE user_id = ?", (user_id,)
        ).fetchall()
        return {row[0] for row in rows}

    def add_subscription(self, user_id: int, team_id: int, now: datetime) -> bool:
        """Subscribe; return False when the subscription already existed."""
        cursor = self._conn.execute(
            """INSERT INTO subscriptions (user_id, team_id, created_at) VALUES (?, ?, ?)
               ON CONFLICT DO NOTHING""",
            (user_id, team_id, db_time(now)),
        )
        return cursor.rowcount > 0

    def delete_subscription(self, user_id: int, team_id: int) -> bool:
        """Unsubscribe; return False when there was nothing to remove."""
        cursor = self._conn.execute(
            "DELETE FROM subscriptions WHERE user_id = ? AND team_id = ?", (user_id, team_id)
        )
        return cursor.rowcount > 0

    def list_subscriber_ids(self, team_id: int) -> list[int]:
        """Return the active, consented subscribers of a team."""
        rows = self._conn.execute(
            """SELECT s.user_id FROM subscriptions s JOIN users u ON u.id = s.user_id
               WHERE s.team_id = ? AND u.active = 1 AND u.consent_at IS NOT NULL
               ORDER BY s.user_id""",
            (team_id,),
        ).fetchall()
        return [row[0] for row in rows]
