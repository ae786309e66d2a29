"""Postulates storage: postulates, state history, supports, calls, audiences, personal data.

`unit.postulates` is one repository; its drafts and prompts (postulate_drafts.py) and the
similar search (postulate_search.py) are its parts in their own modules, the records in
postulate_models.py.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from storage.postulate_drafts import DraftsAndPrompts
from storage.postulate_models import (
    POSTULATE_COLUMNS,
    POSTULATE_SELECT,
)
from storage.postulate_models import (
    AttachmentType as AttachmentType,
)
from storage.postulate_models import (
    Call as Call,
)
from storage.postulate_models import (
    Draft as Draft,
)
from storage.postulate_models import (
    HistoryEntry as HistoryEntry,
)
from storage.postulate_models import (
    Postulate as Postulate,
)
from storage.postulate_models import (
    Prompt as Prompt,
)
from storage.postulate_models import (
    PromptAction as PromptAction,
)
from storage.postulate_models import (
    State as State,
)
from storage.postulate_models import (
    Step as Step,
)
from storage.postulate_models import (
    Support as Support,
)
from storage.postulate_search import Similarity
from storage.timefmt import db_time


class Postulates(DraftsAndPrompts, Similarity):
    """Postulates repository over one transaction's connection."""

    __slots__ = ()

    def next_reference(self, year: int) -> str:
        """Take the next number of the year's sequence: P-2026-0042."""
        row = self._conn.execute(
            """INSERT INTO postulate_counters (year, last) VALUES (?, 1)
               ON CONFLICT (year) DO UPDATE SET last = last + 1 RETURNING last""",
            (year,),
        ).fetchone()
        return f"P-{year}-{row[0]:04d}"

    def add_postulate(
        self,
        *,
        reference: str,
        draft_id: int,
        team_id: int,
        author_id: int,
        organisation_id: int | None,
        organisation_name: str | None,
        call_id: int | None,
        title: str,
        content: str,
        attachment_type: str | None,
        attachment_file_id: str | None,
        now: datetime,
    ) -> Postulate:
        """Insert a submitted postulate."""
        row = self._conn.execute(
            """INSERT INTO postulates (reference, draft_id, team_id, author_id, organisation_id,
                   organisation_name, call_id, title, content, attachment_type, attachment_file_id,
                   created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
            (
                reference,
                draft_id,
                team_id,
                author_id,
                organisation_id,
                organisation_name,
                call_id,
                title,
                content,
                attachment_type,
                attachment_file_id,
                db_time(now),
                db_time(now),
            ),
        ).fetchone()
        postulate = self.get_postulate(row[0])
        assert postulate is not None
        return postulate

    def get_postulate(self, postulate_id: int) -> Postulate | None:
        """Return one postulate with its support count."""
        row = self._conn.execute(f"{POSTULATE_SELECT} WHERE p.id = ?", (postulate_id,)).fetchone()
        return None if row is None else Postulate.from_row(row)

    def get_postulate_by_reference(self, reference: str) -> Postulate | None:
        """Return one postulate by its reference (case-insensitive)."""
        row = self._conn.execute(
            f"{POSTULATE_SELECT} WHERE p.reference = ?", (reference.upper(),)
        ).fetchone()
        return None if row is None else Postulate.from_row(row)

    def get_postulate_by_draft(self, draft_id: int) -> Postulate | None:
        """Return the postulate submitted from a draft."""
        row = self._conn.execute(f"{POSTULATE_SELECT} WHERE p.draft_id = ?", (draft_id,)).fetchone()
        return None if row is None else Postulate.from_row(row)

    def update_postulate(
        self,
        postulate_id: int,
        now: datetime,
        *,
        state: str | None = None,
        answer: str | None = None,
        team_id: int | None = None,
        duplicate_of: int | None = None,
    ) -> None:
        """Change the state, last answer, sector or duplicate link of a postulate."""
        self._conn.execute(
            """UPDATE postulates SET state = coalesce(?, state), answer = coalesce(?, answer),
                   team_id = coalesce(?, team_id), duplicate_of = coalesce(?, duplicate_of),
                   updated_at = ?
               WHERE id = ?""",
            (state, answer, team_id, duplicate_of, db_time(now), postulate_id),
        )

    def list_postulates(
        self,
        *,
        team_ids: list[int] | None = None,
        states: list[str] | None = None,
        author_id: int | None = None,
        not_author_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[Postulate]:
        """Return postulates matching every given filter, oldest first."""
        where, params = _filters(team_ids, states, author_id, not_author_id, since, until)
        sql = POSTULATE_SELECT + where + " ORDER BY p.created_at, p.id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [Postulate.from_row(row) for row in self._conn.execute(sql, params).fetchall()]

    def list_postulate_ids(
        self,
        *,
        team_ids: list[int] | None = None,
        states: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[int]:
        """The ids of the postulates `list_postulates` would return, in its order.

        An export reads them first and then the postulates a page at a time
        (`list_postulates_by_ids`), so 20,000 postulates are never all in memory at once.
        """
        where, params = _filters(team_ids, states, None, None, since, until)
        sql = "SELECT p.id FROM postulates p" + where + " ORDER BY p.created_at, p.id"
        return [row[0] for row in self._conn.execute(sql, params).fetchall()]

    def list_postulates_by_ids(self, postulate_ids: list[int]) -> list[Postulate]:
        """These postulates, in the order of `postulate_ids` (an id not found is left out)."""
        rows = self._conn.execute(
            # CROSS JOIN keeps the ids outermost: a lookup by primary key each, no scan.
            f"""{POSTULATE_COLUMNS} FROM json_each(?) j
                CROSS JOIN postulates p ON p.id = j.value ORDER BY j.key""",
            (json.dumps(postulate_ids),),
        ).fetchall()
        return [Postulate.from_row(row) for row in rows]

    def count_by_state(self, team_ids: list[int]) -> dict[str, int]:
        """Count postulates per state over the given teams."""
        rows = self._conn.execute(
            f"""SELECT state, count(*) FROM postulates
                WHERE team_id IN ({", ".join("?" * len(team_ids)) or "NULL"}) GROUP BY state""",
            team_ids,
        ).fetchall()
        return {row[0]: row[1] for row in rows}

    def add_history(
        self,
        postulate_id: int,
        *,
        actor_id: int | None,
        action: str,
        from_state: str | None,
        to_state: str,
        note: str | None,
        now: datetime,
    ) -> None:
        """Record one step of a postulate's life."""
        self._conn.execute(
            """INSERT INTO postulate_history
                   (postulate_id, at, actor_id, action, from_state, to_state, note)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (postulate_id, db_time(now), actor_id, action, from_state, to_state, note),
        )

    def list_history(self, postulate_id: int) -> list[HistoryEntry]:
        """Return a postulate's history, oldest first."""
        rows = self._conn.execute(
            "SELECT * FROM postulate_history WHERE postulate_id = ? ORDER BY id", (postulate_id,)
        ).fetchall()
        return [HistoryEntry.from_row(row) for row in rows]

    def list_history_of(self, postulate_ids: list[int]) -> list[HistoryEntry]:
        """The histories of many postulates in one query, by postulate then oldest first."""
        rows = self._conn.execute(
            """SELECT h.* FROM json_each(?) j
               JOIN postulate_history h ON h.postulate_id = j.value
               ORDER BY h.postulate_id, h.id""",
            (json.dumps(postulate_ids),),
        ).fetchall()
        return [HistoryEntry.from_row(row) for row in rows]

    def add_support(
        self,
        postulate_id: int,
        *,
        user_id: int,
        organisation_id: int | None,
        organisation_name: str | None,
        now: datetime,
    ) -> bool:
        """Co-sign; return False when this organisation (or person) already did."""
        key = f"o{organisation_id}" if organisation_id is not None else f"u{user_id}"
        cursor = self._conn.execute(
            """INSERT INTO postulate_supports (postulate_id, user_id, organisation_id,
                   organisation_name, supporter_key, created_at)
               VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
            (postulate_id, user_id, organisation_id, organisation_name, key, db_time(now)),
        )
        return cursor.rowcount > 0

    def list_supports(self, postulate_id: int) -> list[Support]:
        """Return the supports of a postulate, oldest first."""
        rows = self._conn.execute(
            "SELECT * FROM postulate_supports WHERE postulate_id = ? ORDER BY created_at",
            (postulate_id,),
        ).fetchall()
        return [Support.from_row(row) for row in rows]

    def list_supports_of(self, postulate_ids: list[int]) -> list[Support]:
        """The supports of many postulates in one query, by postulate then oldest first."""
        rows = self._conn.execute(
            """SELECT s.* FROM json_each(?) j
               JOIN postulate_supports s ON s.postulate_id = j.value
               ORDER BY s.postulate_id, s.created_at""",
            (json.dumps(postulate_ids),),
        ).fetchall()
        return [Support.from_row(row) for row in rows]

    def list_references(self, postulate_ids: list[int]) -> dict[int, str]:
        """The references of the given postulates."""
        rows = self._conn.execute(
            """SELECT p.id, p.reference FROM json_each(?) j JOIN postulates p ON p.id = j.value""",
            (json.dumps(postulate_ids),),
        ).fetchall()
        return {row[0]: row[1] for row in rows}

    def add_call(
        self,
        *,
        team_id: int,
        title: str,
        deadline: datetime,
        opened_by: int,
        now: datetime,
    ) -> Call:
        """Open a call for postulates."""
        row = self._conn.execute(
            """INSERT INTO postulate_calls (team_id, title, deadline, opened_by, created_at)
               VALUES (?, ?, ?, ?, ?) RETURNING *""",
            (team_id, title, db_time(deadline), opened_by, db_time(now)),
        ).fetchone()
        return Call.from_row(row)

    def get_open_call(self, team_id: int, now: datetime) -> Call | None:
        """Return the sector's open call whose deadline has not passed (the nearest one)."""
        row = self._conn.execute(
            """SELECT * FROM postulate_calls WHERE team_id = ? AND state = 'open' AND deadline > ?
               ORDER BY deadline LIMIT 1""",
            (team_id, db_time(now)),
        ).fetchone()
        return None if row is None else Call.from_row(row)

    def list_open_calls(self, now: datetime) -> list[Call]:
        """Return every call still open, nearest deadline first."""
        rows = self._conn.execute(
            "SELECT * FROM postulate_calls WHERE state = 'open' AND deadline > ? ORDER BY deadline",
            (db_time(now),),
        ).fetchall()
        return [Call.from_row(row) for row in rows]

    def list_team_moderator_recipients(self, team_id: int) -> list[tuple[int, str]]:
        """Moderators of a sector team and the admins who have a chat with the bot."""
        rows = self._conn.execute(
            """SELECT u.id, u.language FROM users u
               WHERE u.active = 1 AND u.consent_at IS NOT NULL
                 AND (u.id IN (SELECT user_id FROM moderators WHERE team_id = ?)
                      OR u.id IN (SELECT user_id FROM admins))
               ORDER BY u.id""",
            (team_id,),
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def get_organisation_name(self, organisation_id: int) -> str | None:
        """Return an organisation's name."""
        row = self._conn.execute(
            "SELECT name FROM organisations WHERE id = ?", (organisation_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def update_anonymise_author(self, user_id: int) -> int:
        """Erase a user from postulates (GDPR): submitted ones stay, without their author.

        Drafts and waiting prompts go; supports keep only the organisation. Returns how many
        postulates were anonymised.
        """
        self._conn.execute("DELETE FROM postulate_drafts WHERE user_id = ?", (user_id,))
        self._conn.execute("DELETE FROM postulate_prompts WHERE user_id = ?", (user_id,))
        self._conn.execute(
            "UPDATE postulate_supports SET user_id = NULL WHERE user_id = ?", (user_id,)
        )
        self._conn.execute(
            "UPDATE postulate_history SET actor_id = NULL WHERE actor_id = ?", (user_id,)
        )
        cursor = self._conn.execute(
            "UPDATE postulates SET author_id = NULL WHERE author_id = ?", (user_id,)
        )
        return cursor.rowcount

    def list_personal_data(self, user_id: int) -> dict[str, Any]:
        """Everything postulates hold about a user, for /mydata."""
        draft = self.get_draft(user_id)
        return {
            "postulates": [
                p.model_dump(mode="json") for p in self.list_postulates(author_id=user_id)
            ],
            "supports": [
                dict(row)
                for row in self._conn.execute(
                    """SELECT p.reference, s.organisation_name, s.created_at
                       FROM postulate_supports s JOIN postulates p ON p.id = s.postulate_id
                       WHERE s.user_id = ? ORDER BY s.created_at""",
                    (user_id,),
                ).fetchall()
            ],
            "draft": draft.model_dump(mode="json") if draft is not None else None,
        }


def _filters(
    team_ids: list[int] | None,
    states: list[str] | None,
    author_id: int | None,
    not_author_id: int | None,
    since: datetime | None,
    until: datetime | None,
) -> tuple[str, list[Any]]:
    """The WHERE clause (with its leading space) and parameters of a postulate listing."""
    where: list[str] = []
    params: list[Any] = []
    if team_ids is not None:
        where.append(f"p.team_id IN ({', '.join('?' * len(team_ids)) or 'NULL'})")
        params.extend(team_ids)
    if states is not None:
        where.append(f"p.state IN ({', '.join('?' * len(states)) or 'NULL'})")
        params.extend(states)
    if author_id is not None:
        where.append("p.author_id = ?")
        params.append(author_id)
    if not_author_id is not None:
        # An anonymised author (NULL) is nobody's own postulate.
        where.append("p.author_id IS NOT ?")
        params.append(not_author_id)
    if since is not None:
        where.append("p.created_at >= ?")
        params.append(db_time(since))
    if until is not None:
        where.append("p.created_at < ?")
        params.append(db_time(until))
    if not where:
        # Without a narrowing filter this reads every postulate: only exports do, on the
        # read-only connection (the marker tells tests/query_plans.py it is meant).
        return " /* reads all */", params
    return " WHERE " + " AND ".join(where), params
