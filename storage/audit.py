"""Audit storage: the append-only log of moderators' and admins' actions."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime

from pydantic import Json

from storage.models import Row
from storage.repository import Repository
from storage.timefmt import db_time


class AuditEntry(Row):
    id: int
    at: datetime
    actor_id: int
    action: str
    target: str
    details: Json[dict[str, object]] | None


class Audit(Repository):
    """Audit repository over one transaction's connection."""

    __slots__ = ()

    def add_entry(
        self,
        *,
        actor_id: int,
        action: str,
        target: str,
        details: Mapping[str, object] | None,
        now: datetime,
    ) -> int:
        """Append one entry; return its id."""
        encoded = (
            None
            if details is None
            else json.dumps(dict(details), ensure_ascii=False, sort_keys=True, default=str)
        )
        row = self._conn.execute(
            """INSERT INTO audit_log (at, actor_id, action, target, details)
               VALUES (?, ?, ?, ?, ?) RETURNING id""",
            (db_time(now), actor_id, action, target, encoded),
        ).fetchone()
        return int(row[0])

    def count_entries(self) -> int:
        """Return how many entries the log holds."""
        return int(self._conn.execute("SELECT count(*) FROM audit_log").fetchone()[0])

    def list_entries(self, *, limit: int, offset: int = 0) -> list[AuditEntry]:
        """Entries newest first (by id, which is commit order)."""
        rows = self._conn.execute(
            "SELECT * FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset)
        ).fetchall()
        return [AuditEntry.from_row(row) for row in rows]

    def iter_entries(self) -> Iterator[AuditEntry]:
        """Every entry, newest first, without loading them all at once."""
        for row in self._conn.execute("SELECT * FROM audit_log ORDER BY id DESC"):
            yield AuditEntry.from_row(row)
