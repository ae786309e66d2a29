"""Meetings storage: sector meetings (occurrences) and their series."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from datetime import datetime

from storage.models import Meeting
from storage.timefmt import db_time


def get_meeting(conn: sqlite3.Connection, meeting_id: int) -> Meeting | None:
    """Return one meeting (any state)."""
    row = conn.execute("SELECT * FROM meetings WHERE id = ?", (meeting_id,)).fetchone()
    return None if row is None else Meeting.from_row(row)


def list_meetings(
    conn: sqlite3.Connection,
    *,
    team_ids: Collection[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    include_cancelled: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> list[Meeting]:
    """Meetings ordered by start, filtered by teams and a half-open start range [since, until)."""
    where = []
    params: list[object] = []
    if team_ids is not None:
        if not team_ids:
            return []
        where.append(f"team_id IN ({','.join('?' * len(team_ids))})")
        params.extend(team_ids)
    if since is not None:
        where.append("starts_at >= ?")
        params.append(db_time(since))
    if until is not None:
        where.append("starts_at < ?")
        params.append(db_time(until))
    if not include_cancelled:
        where.append("state = 'scheduled'")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        f"SELECT * FROM meetings {clause} ORDER BY starts_at, id LIMIT ? OFFSET ?",
        (*params, limit, offset),
    ).fetchall()
    return [Meeting.from_row(row) for row in rows]
