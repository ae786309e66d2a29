"""Public site storage: the read-only queries behind the programme's pages and feeds."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Literal

from storage.delivery import Recipient
from storage.models import Meeting, Row
from storage.postulates import State
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

Publication = Literal["pending", "asked", "yes", "no"]


class PublicPostulate(Row):
    """A postulate as the public record shows it: no author, no attachment, no Telegram ids."""

    id: int
    reference: str
    team_id: int
    call_id: int | None
    # The organisation it was submitted for; None: a private person (never named).
    organisation_name: str | None
    title: str
    content: str
    state: State
    created_at: datetime
    updated_at: datetime


class PublicStep(Row):
    """One step of a postulate's public history; `note` only where it is a public answer."""

    at: datetime
    action: str
    to_state: str
    note: str | None


class Decision(Row):
    """A decision on a public postulate, for the activity feed."""

    history_id: int
    at: datetime
    action: str
    reference: str
    title: str
    team_id: int


class PublicationState(Row):
    """Who answers for a postulate's publication and where it stands."""

    id: int
    reference: str
    title: str
    author_id: int | None
    organisation_id: int | None
    publication: Publication
    hidden_at: datetime | None
    hidden_reason: str | None
    team_id: int


_PUBLIC_COLUMNS = (
    "p.id, p.reference, p.team_id, p.call_id, p.organisation_name, p.title, p.content,"
    " p.state, p.created_at, p.updated_at"
)
# What the public may see: agreed, not hidden, not withdrawn (the partial index's condition).
_PUBLIC = "p.publication = 'yes' AND p.hidden_at IS NULL AND p.state <> 'withdrawn'"
# Steps of the history shown in public, and those whose note is a public answer.
PUBLIC_ACTIONS = ("submit", "forward", "reject", "duplicate", "adopt", "not_adopt", "move")
PUBLIC_NOTES = ("reject", "adopt", "not_adopt")


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

    def get_schema_version(self) -> int:
        """Return the schema version (reading it proves the database answers)."""
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def list_public_postulates(
        self,
        *,
        team_id: int | None,
        state: str | None,
        call_id: int | None,
        offset: int,
        limit: int,
    ) -> list[PublicPostulate]:
        """Return public postulates, newest first, filtered by sector, state and call."""
        where = [_PUBLIC]
        params: list[object] = []
        for column, value in (("team_id", team_id), ("state", state), ("call_id", call_id)):
            if value is not None:
                where.append(f"p.{column} = ?")
                params.append(value)
        rows = self._conn.execute(
            f"""SELECT {_PUBLIC_COLUMNS} FROM postulates p INDEXED BY postulates_public
                WHERE {" AND ".join(where)}
                ORDER BY p.created_at DESC, p.id DESC LIMIT ? OFFSET ?""",
            (*params, limit, offset),
        ).fetchall()
        return [PublicPostulate.from_row(row) for row in rows]

    def get_public_postulate(self, reference: str) -> PublicPostulate | None:
        """Return a postulate by its reference if the public may see it."""
        row = self._conn.execute(
            f"SELECT {_PUBLIC_COLUMNS} FROM postulates p WHERE p.reference = ? AND {_PUBLIC}",
            (reference,),
        ).fetchone()
        return None if row is None else PublicPostulate.from_row(row)

    def list_public_history(self, postulate_id: int) -> list[PublicStep]:
        """Return the public steps of a postulate's history, oldest first (no actors)."""
        actions = ",".join("?" * len(PUBLIC_ACTIONS))
        notes = ",".join("?" * len(PUBLIC_NOTES))
        rows = self._conn.execute(
            f"""SELECT at, action, to_state,
                       CASE WHEN action IN ({notes}) THEN note END AS note
                FROM postulate_history WHERE postulate_id = ? AND action IN ({actions})
                ORDER BY id""",
            (*PUBLIC_NOTES, postulate_id, *PUBLIC_ACTIONS),
        ).fetchall()
        return [PublicStep.from_row(row) for row in rows]

    def list_supporting_organisations(self, postulate_id: int) -> list[str]:
        """Return the names of the organisations that support a postulate (people stay out)."""
        rows = self._conn.execute(
            """SELECT organisation_name FROM postulate_supports
               WHERE postulate_id = ? AND organisation_name IS NOT NULL
               ORDER BY created_at""",
            (postulate_id,),
        ).fetchall()
        return [str(row[0]) for row in rows]

    def list_decisions(self, limit: int) -> list[Decision]:
        """Return the newest decisions on public postulates."""
        rows = self._conn.execute(
            f"""SELECT h.id AS history_id, h.at, h.action, p.reference, p.title, p.team_id
                FROM postulate_history h INDEXED BY postulate_history_decisions
                JOIN postulates p ON p.id = h.postulate_id
                WHERE h.action IN ('adopt', 'not_adopt', 'reject') AND {_PUBLIC}
                ORDER BY h.at DESC, h.id DESC LIMIT ?""",
            (limit,),
        ).fetchall()
        return [Decision.from_row(row) for row in rows]

    def get_publication(self, postulate_id: int) -> PublicationState | None:
        """Return a postulate's publication state, author and organisation."""
        row = self._conn.execute(
            """SELECT id, reference, title, author_id, organisation_id, publication, hidden_at,
                      hidden_reason, team_id
               FROM postulates WHERE id = ?""",
            (postulate_id,),
        ).fetchone()
        return None if row is None else PublicationState.from_row(row)

    def list_pending_publication(self, limit: int) -> list[PublicationState]:
        """Return postulates whose author has not been asked about publication yet."""
        rows = self._conn.execute(
            """SELECT id, reference, title, author_id, organisation_id, publication, hidden_at,
                      hidden_reason, team_id
               FROM postulates INDEXED BY postulates_publication_pending
               WHERE publication = 'pending' ORDER BY id LIMIT ?""",
            (limit,),
        ).fetchall()
        return [PublicationState.from_row(row) for row in rows]

    def update_publication(
        self, postulate_id: int, publication: Publication, *, only_from: tuple[str, ...]
    ) -> bool:
        """Set the publication state if it is one of `only_from`; False when it was not."""
        marks = ",".join("?" * len(only_from))
        cursor = self._conn.execute(
            f"UPDATE postulates SET publication = ? WHERE id = ? AND publication IN ({marks})",
            (publication, postulate_id, *only_from),
        )
        return cursor.rowcount > 0

    def update_hidden(self, postulate_id: int, reason: str | None, now: datetime) -> bool:
        """Hide a postulate from the site (with a reason) or show it again (None)."""
        cursor = self._conn.execute(
            """UPDATE postulates SET hidden_at = ?, hidden_reason = ?
               WHERE id = ? AND (hidden_at IS NULL) = (? IS NOT NULL)""",
            (None if reason is None else db_time(now), reason, postulate_id, reason),
        )
        return cursor.rowcount > 0

    def list_owner_recipients(self, postulate_id: int) -> list[Recipient]:
        """Who answers for a postulate: its organisation's accepted representatives who can
        be reached, else (a private person's postulate) its author."""
        rows = self._conn.execute(
            """SELECT u.id, u.language FROM postulates p
               JOIN organisation_representatives r
                 ON r.organisation_id = p.organisation_id AND r.state = 'accepted'
               JOIN users u ON u.id = r.user_id
               WHERE p.id = ? AND u.active = 1 AND u.consent_at IS NOT NULL
               UNION
               SELECT u.id, u.language FROM postulates p JOIN users u ON u.id = p.author_id
               WHERE p.id = ? AND p.organisation_id IS NULL
                 AND u.active = 1 AND u.consent_at IS NOT NULL
               ORDER BY 1""",
            (postulate_id, postulate_id),
        ).fetchall()
        return [(row[0], row[1]) for row in rows]
