"""Consultations storage: drafts of the programme, their sections, comments and answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from storage.models import Row
from storage.repository import Repository
from storage.timefmt import db_time

Answer = Literal["accepted", "partly", "rejected"]


class Consultation(Row):
    id: int
    title: str
    state: Literal["draft", "published"]
    opens_at: datetime
    closes_at: datetime
    all_sectors: bool
    file_name: str
    created_by: int
    created_at: datetime
    published_at: datetime | None
    report_published_at: datetime | None


class Section(Row):
    id: int
    consultation_id: int
    number: int
    title: str
    body: str


class SectionSummary(Row):
    id: int
    number: int
    title: str
    length: int
    comments: int


class Comment(Row):
    id: int
    consultation_id: int
    section_id: int
    section_number: int
    section_title: str
    user_id: int | None
    organisation_id: int | None
    organisation_name: str | None
    body: str
    wording: str | None
    created_at: datetime
    answer: Answer | None
    justification: str | None
    answered_by: int | None
    answered_at: datetime | None


_COMMENT = """SELECT c.*, s.number AS section_number, s.title AS section_title,
                     o.name AS organisation_name
              FROM consultation_comments c
              JOIN consultation_sections s ON s.id = c.section_id
              LEFT JOIN organisations o ON o.id = c.organisation_id"""


class Consultations(Repository):
    """Consultations repository over one transaction's connection."""

    __slots__ = ()

    def add_consultation(
        self,
        *,
        title: str,
        opens_at: datetime,
        closes_at: datetime,
        team_ids: Sequence[int],
        all_sectors: bool,
        file_name: str,
        sections: Sequence[tuple[str, str]],
        created_by: int,
        now: datetime,
    ) -> int:
        """Store a consultation as a draft with its sections and audience; return its id."""
        cursor = self._conn.execute(
            """INSERT INTO consultations
               (title, opens_at, closes_at, all_sectors, file_name, created_by, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (
                title,
                db_time(opens_at),
                db_time(closes_at),
                int(all_sectors),
                file_name,
                created_by,
                db_time(now),
            ),
        )
        consultation_id = int(cursor.lastrowid or 0)
        self._conn.executemany(
            "INSERT INTO consultation_sectors (consultation_id, team_id) VALUES (?, ?)",
            [(consultation_id, team_id) for team_id in team_ids],
        )
        self._conn.executemany(
            """INSERT INTO consultation_sections (consultation_id, number, title, body)
               VALUES (?, ?, ?, ?)""",
            [
                (consultation_id, number, title, body)
                for number, (title, body) in enumerate(sections, start=1)
            ],
        )
        return consultation_id

    def get_consultation(self, consultation_id: int) -> Consultation | None:
        """One consultation (draft or published)."""
        row = self._conn.execute(
            "SELECT * FROM consultations WHERE id = ?", (consultation_id,)
        ).fetchone()
        return None if row is None else Consultation.from_row(row)

    def list_consultations(self, *, published_only: bool, limit: int = 50) -> list[Consultation]:
        """Consultations, newest first."""
        where = "WHERE state = 'published'" if published_only else ""
        rows = self._conn.execute(
            f"SELECT * FROM consultations {where} ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [Consultation.from_row(row) for row in rows]

    def list_team_ids(self, consultation_id: int) -> list[int]:
        """The sector teams whose subscribers a consultation addresses."""
        rows = self._conn.execute(
            "SELECT team_id FROM consultation_sectors WHERE consultation_id = ? ORDER BY team_id",
            (consultation_id,),
        ).fetchall()
        return [int(row[0]) for row in rows]

    def update_published(self, consultation_id: int, now: datetime) -> bool:
        """Publish a draft; False if it was published already."""
        return (
            self._conn.execute(
                """UPDATE consultations SET state = 'published', published_at = ?
                   WHERE id = ? AND state = 'draft'""",
                (db_time(now), consultation_id),
            ).rowcount
            > 0
        )

    def delete_draft(self, consultation_id: int) -> bool:
        """Drop an unpublished draft (its sections and audience go with it)."""
        return (
            self._conn.execute(
                "DELETE FROM consultations WHERE id = ? AND state = 'draft'", (consultation_id,)
            ).rowcount
            > 0
        )

    def update_report_published(self, consultation_id: int, now: datetime) -> None:
        """Mark the report published (the answers are final from now on)."""
        self._conn.execute(
            """UPDATE consultations SET report_published_at = ?
               WHERE id = ? AND report_published_at IS NULL""",
            (db_time(now), consultation_id),
        )

    def list_sections(self, consultation_id: int) -> list[SectionSummary]:
        """The table of contents: each section's number, title, length and comment count."""
        rows = self._conn.execute(
            """SELECT s.id, s.number, s.title, length(s.body) AS length,
                      (SELECT count(*) FROM consultation_comments c WHERE c.section_id = s.id)
                        AS comments
               FROM consultation_sections s WHERE s.consultation_id = ? ORDER BY s.number""",
            (consultation_id,),
        ).fetchall()
        return [SectionSummary.from_row(row) for row in rows]

    def get_section(self, section_id: int) -> Section | None:
        """One section with its text."""
        row = self._conn.execute(
            "SELECT * FROM consultation_sections WHERE id = ?", (section_id,)
        ).fetchone()
        return None if row is None else Section.from_row(row)

    def list_section_bodies(self, consultation_id: int) -> list[Section]:
        """Every section with its text, in order."""
        rows = self._conn.execute(
            "SELECT * FROM consultation_sections WHERE consultation_id = ? ORDER BY number",
            (consultation_id,),
        ).fetchall()
        return [Section.from_row(row) for row in rows]

    def add_comment(
        self,
        *,
        consultation_id: int,
        section_id: int,
        user_id: int,
        organisation_id: int | None,
        body: str,
        wording: str | None,
        now: datetime,
    ) -> int:
        """Store a comment on a section; return its id."""
        cursor = self._conn.execute(
            """INSERT INTO consultation_comments
               (consultation_id, section_id, user_id, organisation_id, body, wording, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (consultation_id, section_id, user_id, organisation_id, body, wording, db_time(now)),
        )
        return int(cursor.lastrowid or 0)

    def get_comment(self, comment_id: int) -> Comment | None:
        """One comment with its section and organisation."""
        row = self._conn.execute(f"{_COMMENT} WHERE c.id = ?", (comment_id,)).fetchone()
        return None if row is None else Comment.from_row(row)

    def list_section_comments(self, section_id: int, limit: int) -> list[Comment]:
        """A section's comments, oldest first."""
        rows = self._conn.execute(
            f"{_COMMENT} WHERE c.section_id = ? ORDER BY c.id LIMIT ?", (section_id, limit)
        ).fetchall()
        return [Comment.from_row(row) for row in rows]

    def list_comments(self, consultation_id: int) -> list[Comment]:
        """Every comment of a consultation, by section then arrival."""
        rows = self._conn.execute(
            f"{_COMMENT} WHERE c.consultation_id = ? ORDER BY s.number, c.id",
            (consultation_id,),
        ).fetchall()
        return [Comment.from_row(row) for row in rows]

    def list_unanswered(self, consultation_id: int, limit: int) -> list[Comment]:
        """Comments still without an answer, oldest first."""
        rows = self._conn.execute(
            f"""{_COMMENT} WHERE c.consultation_id = ? AND c.answer IS NULL
                ORDER BY c.id LIMIT ?""",
            (consultation_id, limit),
        ).fetchall()
        return [Comment.from_row(row) for row in rows]

    def list_user_comments(self, user_id: int) -> list[Comment]:
        """The comments a user made (for /my_comments and /mydata)."""
        rows = self._conn.execute(
            f"{_COMMENT} WHERE c.user_id = ? ORDER BY c.id", (user_id,)
        ).fetchall()
        return [Comment.from_row(row) for row in rows]

    def update_answer(
        self, comment_id: int, *, answer: Answer, justification: str, by: int, now: datetime
    ) -> None:
        """Answer a comment (or change its answer), keeping every answer given."""
        self._conn.execute(
            """UPDATE consultation_comments
               SET answer = ?, justification = ?, answered_by = ?, answered_at = ?
               WHERE id = ?""",
            (answer, justification, by, db_time(now), comment_id),
        )
        self._conn.execute(
            """INSERT INTO consultation_answers
               (comment_id, answer, justification, answered_by, answered_at)
               VALUES (?, ?, ?, ?, ?)""",
            (comment_id, answer, justification, by, db_time(now)),
        )

    def update_anonymise_comments(self, user_id: int) -> int:
        """Erasure: the user's comments stay, as a private person's; return how many."""
        return self._conn.execute(
            "UPDATE consultation_comments SET user_id = NULL WHERE user_id = ?", (user_id,)
        ).rowcount

    def list_audience(self, consultation_id: int) -> list[tuple[int, str]]:
        """The 'consultation' audience: each active, consented subscriber of its sectors once."""
        rows = self._conn.execute(
            """SELECT DISTINCT u.id, u.language
               FROM consultation_sectors cs
               JOIN subscriptions s ON s.team_id = cs.team_id
               JOIN users u ON u.id = s.user_id
               WHERE cs.consultation_id = ? AND u.active = 1 AND u.consent_at IS NOT NULL
               ORDER BY u.id""",
            (consultation_id,),
        ).fetchall()
        return [(int(row[0]), str(row[1])) for row in rows]

    def count_commenters(self, consultation_id: int) -> tuple[int, int]:
        """How many organisations and how many individuals commented."""
        row = self._conn.execute(
            """SELECT count(DISTINCT organisation_id),
                      count(DISTINCT CASE WHEN organisation_id IS NULL
                                          THEN coalesce(user_id, -id) END)
               FROM consultation_comments WHERE consultation_id = ?""",
            (consultation_id,),
        ).fetchone()
        return int(row[0]), int(row[1])
