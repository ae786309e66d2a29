"""RSVPs storage: members' answers to sector meetings and the waiting list."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Literal

from storage.models import Row
from storage.repository import Repository
from storage.timefmt import db_time

Answer = Literal["going", "maybe", "not_going"]
ANSWERS: tuple[Answer, ...] = ("going", "maybe", "not_going")


class Rsvp(Row):
    meeting_id: int
    user_id: int
    answer: Answer
    waitlist_position: int | None
    answered_at: datetime

    @property
    def waiting(self) -> bool:
        return self.waitlist_position is not None


class RsvpCounts(Row):
    """How many answered what; `going` counts confirmed places only, `waiting` the list."""

    going: int = 0
    waiting: int = 0
    maybe: int = 0
    not_going: int = 0


class Attendee(Row):
    """One line of the attendee export."""

    user_id: int
    first_name: str | None
    last_name: str | None
    username: str | None
    organisation: str | None
    answer: Answer
    waitlist_position: int | None
    answered_at: datetime


class Rsvps(Repository):
    """Rsvps repository over one transaction's connection."""

    __slots__ = ()

    def get_rsvp(self, meeting_id: int, user_id: int) -> Rsvp | None:
        """Return one member's answer to one meeting."""
        row = self._conn.execute(
            "SELECT * FROM rsvps WHERE meeting_id = ? AND user_id = ?", (meeting_id, user_id)
        ).fetchone()
        return None if row is None else Rsvp.from_row(row)

    def upsert_rsvp(
        self,
        meeting_id: int,
        user_id: int,
        answer: Answer,
        waitlist_position: int | None,
        now: datetime,
    ) -> Rsvp:
        """Insert or replace a member's answer."""
        row = self._conn.execute(
            """INSERT INTO rsvps (meeting_id, user_id, answer, waitlist_position, answered_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (meeting_id, user_id) DO UPDATE SET answer = excluded.answer,
                   waitlist_position = excluded.waitlist_position,
                   answered_at = excluded.answered_at
               RETURNING *""",
            (meeting_id, user_id, answer, waitlist_position, db_time(now)),
        ).fetchone()
        return Rsvp.from_row(row)

    def update_waitlist_position(self, meeting_id: int, user_id: int, position: int | None) -> None:
        """Move a waiting member (None = they got a place)."""
        self._conn.execute(
            "UPDATE rsvps SET waitlist_position = ? WHERE meeting_id = ? AND user_id = ?",
            (position, meeting_id, user_id),
        )

    def get_next_waitlist_position(self, meeting_id: int) -> int:
        """The position a new member joins the waiting list at (positions only grow)."""
        row = self._conn.execute(
            "SELECT coalesce(max(waitlist_position), 0) + 1 FROM rsvps WHERE meeting_id = ?",
            (meeting_id,),
        ).fetchone()
        return int(row[0])

    def get_first_waiting(self, meeting_id: int) -> Rsvp | None:
        """The member waiting longest for a place."""
        row = self._conn.execute(
            """SELECT * FROM rsvps WHERE meeting_id = ? AND waitlist_position IS NOT NULL
               ORDER BY waitlist_position LIMIT 1""",
            (meeting_id,),
        ).fetchone()
        return None if row is None else Rsvp.from_row(row)

    def get_waiting_rank(self, meeting_id: int, position: int) -> int:
        """Where a waiting member stands now: 1 + how many wait before them."""
        row = self._conn.execute(
            """SELECT count(*) FROM rsvps
               WHERE meeting_id = ? AND waitlist_position IS NOT NULL AND waitlist_position < ?""",
            (meeting_id, position),
        ).fetchone()
        return int(row[0]) + 1

    def get_counts(self, meeting_id: int) -> RsvpCounts:
        """Count the answers to one meeting."""
        return self.list_counts([meeting_id]).get(meeting_id, RsvpCounts())

    def list_counts(self, meeting_ids: Collection[int]) -> dict[int, RsvpCounts]:
        """Count the answers to several meetings in one query."""
        if not meeting_ids:
            return {}
        marks = ",".join("?" * len(meeting_ids))
        rows = self._conn.execute(
            f"""SELECT meeting_id,
                       sum(answer = 'going' AND waitlist_position IS NULL) AS going,
                       sum(waitlist_position IS NOT NULL) AS waiting,
                       sum(answer = 'maybe') AS maybe,
                       sum(answer = 'not_going') AS not_going
                FROM rsvps WHERE meeting_id IN ({marks}) GROUP BY meeting_id""",
            tuple(meeting_ids),
        ).fetchall()
        return {row["meeting_id"]: RsvpCounts.from_row(row) for row in rows}

    def list_user_rsvps(self, user_id: int, meeting_ids: Collection[int]) -> dict[int, Rsvp]:
        """One member's answers to the given meetings, by meeting id."""
        if not meeting_ids:
            return {}
        marks = ",".join("?" * len(meeting_ids))
        rows = self._conn.execute(
            f"SELECT * FROM rsvps WHERE user_id = ? AND meeting_id IN ({marks})",
            (user_id, *meeting_ids),
        ).fetchall()
        return {row["meeting_id"]: Rsvp.from_row(row) for row in rows}

    def list_rsvp_user_ids(
        self, meeting_id: int, answers: Collection[Answer] = ANSWERS
    ) -> list[int]:
        """Ids of the members who gave one of `answers` (e.g. everyone but 'not_going')."""
        if not answers:
            return []
        marks = ",".join("?" * len(answers))
        rows = self._conn.execute(
            f"""SELECT user_id FROM rsvps WHERE meeting_id = ? AND answer IN ({marks})
                ORDER BY user_id""",
            (meeting_id, *answers),
        ).fetchall()
        return [row[0] for row in rows]

    def list_attendees(self, meeting_id: int) -> list[Attendee]:
        """Everyone who answered, with their names and organisation: going, waiting, maybe,
        not going."""
        rows = self._conn.execute(
            """SELECT r.user_id, u.first_name, u.last_name, u.username, o.name AS organisation,
                      r.answer, r.waitlist_position,
                      r.answered_at
               FROM rsvps r
               LEFT JOIN users u ON u.id = r.user_id
               LEFT JOIN organisations o ON o.id = u.organisation_id
               WHERE r.meeting_id = ?
               ORDER BY CASE WHEN r.answer = 'going' AND r.waitlist_position IS NULL THEN 0
                             WHEN r.waitlist_position IS NOT NULL THEN 1
                             WHEN r.answer = 'maybe' THEN 2 ELSE 3 END,
                        r.waitlist_position, r.answered_at, r.user_id""",
            (meeting_id,),
        ).fetchall()
        return [Attendee.from_row(row) for row in rows]

    def list_user_answers(self, user_id: int) -> list[Rsvp]:
        """Every answer one member gave (for their data export), oldest meeting first."""
        rows = self._conn.execute(
            """SELECT r.* FROM rsvps r JOIN meetings m ON m.id = r.meeting_id
               WHERE r.user_id = ? ORDER BY m.starts_at, m.id""",
            (user_id,),
        ).fetchall()
        return [Rsvp.from_row(row) for row in rows]
