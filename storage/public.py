"""Public site storage: the read-only queries behind the programme's pages and feeds."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Literal

from storage.models import Meeting, Row
from storage.repository import Repository
from storage.timefmt import db_time


class PublicCall(Row):
    """A call for postulates as the public sees it (who opened it stays private)."""

    id: int
    team_id: int
    title: str
    deadline: datetime
    state: Literal["open", "closed"]
    created_at: datetime


_CALL_COLUMNS = "id, team_id, title, deadline, state, created_at"


class Public(Repository):
    """Public repository over one transaction's connection."""

    __slots__ = ()

    def count_subscribers(self) -> dict[int, int]:
        """Return the number of subscribers per team id."""
        rows = self._conn.execute(
            # Every subscription, by design: a count per team. On the site's read-only
            # connection it never holds up the writer, and the covering index keeps it small.
            "SELECT team_id, count(*) FROM subscriptions /* reads all */ GROUP BY team_id"
        ).fetchall()
        return {int(row[0]): int(row[1]) for row in rows}

    def get_next_meeting(self, team_id: int, now: datetime) -> Meeting | None:
        """Return the team's next scheduled meeting that has not started yet."""
        row = self._conn.execute(
            """SELECT * FROM meetings WHERE team_id = ? AND starts_at >= ? AND state = 'scheduled'
               ORDER BY starts_at, id LIMIT 1""",
            (team_id, db_time(now)),
        ).fetchone()
        return None if row is None else Meeting.from_row(row)

    def list_team_meetings(
        self, team_id: int, now: datetime, *, upcoming: bool, limit: int
    ) -> list[Meeting]:
        """Return a team's meetings from now on (soonest first) or before now (latest first)."""
        if upcoming:
            sql = """SELECT * FROM meetings WHERE team_id = ? AND starts_at >= ?
                     ORDER BY starts_at, id LIMIT ?"""
        else:
            sql = """SELECT * FROM meetings WHERE team_id = ? AND starts_at < ?
                     ORDER BY starts_at DESC, id DESC LIMIT ?"""
        rows = self._conn.execute(sql, (team_id, db_time(now), limit)).fetchall()
        return [Meeting.from_row(row) for row in rows]

    def count_going(self, meeting_ids: Collection[int]) -> dict[int, int]:
        """Return how many people hold a place (going, not waiting) per meeting id."""
        if not meeting_ids:
            return {}
        marks = ",".join("?" * len(meeting_ids))
        rows = self._conn.execute(
            f"""SELECT meeting_id, count(*) FROM rsvps
                WHERE meeting_id IN ({marks}) AND answer = 'going' AND waitlist_position IS NULL
                GROUP BY meeting_id""",
            tuple(meeting_ids),
        ).fetchall()
        return {int(row[0]): int(row[1]) for row in rows}

    def list_calls(
        self,
        *,
        team_id: int | None = None,
        open_at: datetime | None = None,
        limit: int = 50,
    ) -> list[PublicCall]:
        """Return calls for postulates, newest deadline first; `open_at`: only those still open."""
        where = []
        params: list[object] = []
        if team_id is not None:
            where.append("team_id = ?")
            params.append(team_id)
        if open_at is not None:
            where.append("state = 'open' AND deadline >= ?")
            params.append(db_time(open_at))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._conn.execute(
            f"SELECT {_CALL_COLUMNS} FROM postulate_calls {clause} ORDER BY deadline DESC, id DESC"
            " LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [PublicCall.from_row(row) for row in rows]

    def list_feed_meetings(
        self,
        *,
        team_id: int | None,
        since: datetime,
        cancelled_since: datetime,
        limit: int,
    ) -> list[Meeting]:
        """Meetings for a calendar feed: scheduled from `since`, cancelled ones changed lately."""
        team_clause = "AND team_id = ?" if team_id is not None else ""
        team_params: tuple[object, ...] = (team_id,) if team_id is not None else ()
        rows = self._conn.execute(
            f"""SELECT * FROM meetings
                WHERE starts_at >= ? {team_clause}
                  AND (state = 'scheduled' OR updated_at >= ?)
                ORDER BY starts_at, id LIMIT ?""",
            (db_time(since), *team_params, db_time(cancelled_since), limit),
        ).fetchall()
        return [Meeting.from_row(row) for row in rows]

    def list_changed_meetings(self, limit: int) -> list[Meeting]:
        """Return the meetings changed most recently (published, edited or cancelled)."""
        rows = self._conn.execute(
            "SELECT * FROM meetings ORDER BY updated_at DESC, id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [Meeting.from_row(row) for row in rows]

    def list_new_calls(self, limit: int) -> list[PublicCall]:
        """Return the calls for postulates opened most recently."""
        rows = self._conn.execute(
            f"SELECT {_CALL_COLUMNS} FROM postulate_calls"
            " ORDER BY created_at DESC, id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [PublicCall.from_row(row) for row in rows]

    def get_health(self) -> tuple[int, str | None]:
        """Return the schema version and when the delivery engine last settled a delivery."""
        version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        row = self._conn.execute(
            # Bounded to the newest ids (a rowid range, found without reading the table): a
            # full scan would grow with every notice ever sent.
            """SELECT max(updated_at) FROM deliveries
               WHERE id > (SELECT max(id) FROM deliveries) - 1000 AND state <> 'pending'"""
        ).fetchone()
        return version, None if row is None else row[0]
