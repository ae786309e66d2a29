"""Processed updates: the ids of updates already taken, for at-most-once handling."""

from __future__ import annotations

from datetime import datetime

from storage.repository import Repository
from storage.timefmt import db_time


class Updates(Repository):
    """Updates repository over one transaction's connection."""

    __slots__ = ()

    def add_processed_update(self, update_id: int, now: datetime) -> bool:
        """Record that an update is being handled; False if it was recorded before."""
        cursor = self._conn.execute(
            "INSERT OR IGNORE INTO processed_updates (update_id, received_at) VALUES (?, ?)",
            (update_id, db_time(now)),
        )
        return cursor.rowcount == 1

    def delete_processed_updates_before(self, cutoff: datetime, limit: int = -1) -> int:
        """Forget the ids of updates received before `cutoff` (at most `limit`); return how many."""
        cursor = self._conn.execute(
            """DELETE FROM processed_updates WHERE update_id IN
                   (SELECT update_id FROM processed_updates WHERE received_at < ? LIMIT ?)""",
            (db_time(cutoff), limit),
        )
        return cursor.rowcount

    def count_processed_updates(self) -> int:
        """How many update ids are remembered."""
        # Tests and operators only; the bot never counts them.
        row = self._conn.execute(
            "SELECT count(*) FROM processed_updates /* reads all */"
        ).fetchone()
        return int(row[0])
