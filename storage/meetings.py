"""Meetings storage: sector meetings (occurrences) and their series."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import date, datetime

from storage.delivery import Recipient
from storage.models import Meeting
from storage.repository import Repository
from storage.timefmt import db_time


class Meetings(Repository):
    """Meetings repository over one transaction's connection."""

    __slots__ = ()

    def get_meeting(self, meeting_id: int) -> Meeting | None:
        """Return one meeting (any state)."""
        row = self._conn.execute("SELECT * FROM meetings WHERE id = ?", (meeting_id,)).fetchone()
        return None if row is None else Meeting.from_row(row)

    def list_meetings(
        self,
        *,
        team_ids: Collection[int] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_cancelled: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Meeting]:
        """Meetings ordered by start, filtered by teams and a half-open range [since, until)."""
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
        rows = self._conn.execute(
            f"SELECT * FROM meetings {clause} ORDER BY starts_at, id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        return [Meeting.from_row(row) for row in rows]

    def add_series(
        self,
        *,
        team_id: int,
        rule: str,
        interval_n: int,
        until_date: date,
        created_by: int,
        now: datetime,
    ) -> int:
        """Insert a recurring series; return its id."""
        row = self._conn.execute(
            """INSERT INTO meeting_series
                   (team_id, rule, interval_n, until_date, created_by, created_at)
               VALUES (?, ?, ?, ?, ?, ?) RETURNING id""",
            (team_id, rule, interval_n, until_date.isoformat(), created_by, db_time(now)),
        ).fetchone()
        return int(row[0])

    def add_meeting(
        self,
        *,
        team_id: int,
        series_id: int | None,
        title: str,
        starts_at: datetime,
        duration_minutes: int,
        place: str | None,
        online_url: str | None,
        agenda: str | None,
        capacity: int | None,
        reminder_minutes: Sequence[int],
        created_by: int,
        now: datetime,
    ) -> Meeting:
        """Insert one meeting (an occurrence) and return it."""
        row = self._conn.execute(
            """INSERT INTO meetings (team_id, series_id, title, starts_at, duration_minutes, place,
                   online_url, agenda, capacity, reminder_minutes, created_by, created_at,
                   updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *""",
            (
                team_id,
                series_id,
                title,
                db_time(starts_at),
                duration_minutes,
                place,
                online_url,
                agenda,
                capacity,
                json.dumps(list(reminder_minutes)),
                created_by,
                db_time(now),
                db_time(now),
            ),
        ).fetchone()
        return Meeting.from_row(row)

    def update_meeting(
        self,
        meeting_id: int,
        *,
        title: str,
        starts_at: datetime,
        duration_minutes: int,
        place: str | None,
        online_url: str | None,
        agenda: str | None,
        capacity: int | None,
        now: datetime,
    ) -> Meeting:
        """Replace the editable fields of a meeting and return it."""
        row = self._conn.execute(
            """UPDATE meetings SET title = ?, starts_at = ?, duration_minutes = ?, place = ?,
                   online_url = ?, agenda = ?, capacity = ?, updated_at = ?,
                   revision = revision + 1
               WHERE id = ? RETURNING *""",
            (
                title,
                db_time(starts_at),
                duration_minutes,
                place,
                online_url,
                agenda,
                capacity,
                db_time(now),
                meeting_id,
            ),
        ).fetchone()
        if row is None:
            raise LookupError(f"no meeting {meeting_id}")
        return Meeting.from_row(row)

    def update_meeting_cancelled(self, meeting_id: int, now: datetime) -> None:
        """Mark a meeting cancelled (it stays, for history and for whoever RSVPed)."""
        self._conn.execute(
            "UPDATE meetings SET state = 'cancelled', updated_at = ?, revision = revision + 1"
            " WHERE id = ?",
            (db_time(now), meeting_id),
        )

    def list_series_meetings(self, series_id: int, *, starting_from: datetime) -> list[Meeting]:
        """Scheduled occurrences of a series starting at or after an instant, in order."""
        rows = self._conn.execute(
            """SELECT * FROM meetings WHERE series_id = ? AND state = 'scheduled' AND starts_at >= ?
               ORDER BY starts_at, id""",
            (series_id, db_time(starting_from)),
        ).fetchall()
        return [Meeting.from_row(row) for row in rows]

    def list_notice_recipients(self, meeting_id: int) -> list[Recipient]:
        """The 'meeting' audience: the team's active consented subscribers plus whoever answered
        going or maybe, minus whoever answered not going."""
        rows = self._conn.execute(
            """SELECT u.id, u.language FROM users u
               WHERE u.active = 1 AND u.consent_at IS NOT NULL
                 AND (u.id IN (SELECT s.user_id FROM subscriptions s JOIN meetings m
                               ON m.team_id = s.team_id WHERE m.id = ?)
                      OR u.id IN (SELECT r.user_id FROM rsvps r
                                  WHERE r.meeting_id = ? AND r.answer IN ('going', 'maybe')))
                 AND u.id NOT IN (SELECT r.user_id FROM rsvps r
                                  WHERE r.meeting_id = ? AND r.answer = 'not_going')
               ORDER BY u.id""",
            (meeting_id, meeting_id, meeting_id),
        ).fetchall()
        return [(row[0], row[1]) for row in rows]
