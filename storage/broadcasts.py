"""Broadcasts storage: one row per /broadcast; its parts are announcements about
'broadcast:<id>' (audience 'broadcast'), fanned out and sent by the delivery engine."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Literal

from pydantic import Json

from storage.models import Row
from storage.repository import Repository
from storage.timefmt import db_time

Recipient = tuple[int, Literal["pl", "en"]]


class Broadcast(Row):
    id: int
    created_by: int
    # None: every subscriber (admins only).
    team_ids: Json[list[int]] | None
    summary: str
    due_at: datetime
    state: Literal["active", "cancelled"]
    progress_chat_id: int | None
    progress_message_id: int | None
    progress_at: datetime | None
    progress_done: bool
    created_at: datetime


def subject(broadcast_id: int) -> str:
    """The announcements' subject of a broadcast."""
    return f"broadcast:{broadcast_id}"


def _team_filter(team_ids: Collection[int] | None) -> tuple[str, list[object]]:
    if team_ids is None:
        return "", []
    return " AND team_id IN (SELECT value FROM json_each(?))", [json.dumps(sorted(team_ids))]


class Broadcasts(Repository):
    """Broadcasts repository over one transaction's connection."""

    __slots__ = ()

    def add_broadcast(
        self,
        *,
        created_by: int,
        team_ids: Collection[int] | None,
        summary: str,
        due_at: datetime,
        progress_chat_id: int | None,
        progress_message_id: int | None,
        now: datetime,
    ) -> int:
        """Insert a broadcast; return its id."""
        row = self._conn.execute(
            """INSERT INTO broadcasts (created_by, team_ids, summary, due_at, progress_chat_id,
                   progress_message_id, progress_at, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
            (
                created_by,
                None if team_ids is None else json.dumps(sorted(team_ids)),
                summary,
                db_time(due_at),
                progress_chat_id,
                progress_message_id,
                db_time(now),
                db_time(now),
            ),
        ).fetchone()
        return int(row[0])

    def get_broadcast(self, broadcast_id: int) -> Broadcast | None:
        """One broadcast."""
        row = self._conn.execute(
            "SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,)
        ).fetchone()
        return None if row is None else Broadcast.from_row(row)

    def list_broadcasts(
        self, *, team_ids: Collection[int] | None, user_id: int, limit: int
    ) -> list[Broadcast]:
        """Newest first: every broadcast (team_ids None), or those the user sent or that went
        to one of `team_ids`."""
        if team_ids is None:
            rows = self._conn.execute(
                "SELECT * FROM broadcasts ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        else:
            rows = self._conn.execute(
                """SELECT * FROM broadcasts b
                   WHERE b.created_by = ? OR EXISTS (
                       SELECT 1 FROM json_each(b.team_ids) j
                       WHERE j.value IN (SELECT value FROM json_each(?)))
                   ORDER BY b.id DESC LIMIT ?""",
                (user_id, json.dumps(sorted(team_ids)), limit),
            ).fetchall()
        return [Broadcast.from_row(row) for row in rows]

    def list_scheduled_by(self, user_id: int) -> list[Broadcast]:
        """The user's broadcasts not cancelled with a part still waiting for its time."""
        rows = self._conn.execute(
            """SELECT * FROM broadcasts b
               WHERE b.created_by = ? AND b.state = 'active' AND EXISTS (
                   SELECT 1 FROM announcements a
                   WHERE a.subject = 'broadcast:' || b.id AND a.state = 'scheduled')
               ORDER BY b.id""",
            (user_id,),
        ).fetchall()
        return [Broadcast.from_row(row) for row in rows]

    def update_cancelled(self, broadcast_id: int) -> None:
        """Mark a broadcast cancelled."""
        self._conn.execute(
            "UPDATE broadcasts SET state = 'cancelled' WHERE id = ?", (broadcast_id,)
        )

    def list_open_progress(self) -> list[tuple[Broadcast, str]]:
        """Broadcasts whose progress message is still followed, with their author's language."""
        rows = self._conn.execute(
            """SELECT b.*, coalesce(u.language, 'pl') AS author_language
               FROM broadcasts b LEFT JOIN users u ON u.id = b.created_by
               WHERE b.progress_done = 0 AND b.progress_message_id IS NOT NULL
               ORDER BY b.id"""
        ).fetchall()
        return [(Broadcast.from_row(row), str(row["author_language"])) for row in rows]

    def update_progress(self, items: Iterable[tuple[int, bool]], now: datetime) -> None:
        """Record that progress messages were edited now (and which are final)."""
        self._conn.executemany(
            "UPDATE broadcasts SET progress_at = ?, progress_done = ? WHERE id = ?",
            [(db_time(now), int(done), broadcast_id) for broadcast_id, done in items],
        )

    def list_part_states(self, broadcast_id: int) -> list[tuple[int, str]]:
        """(announcement id, state) of a broadcast's parts, in sending order."""
        rows = self._conn.execute(
            "SELECT id, state FROM announcements WHERE subject = ? ORDER BY id",
            (subject(broadcast_id),),
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def list_recipients(self, team_ids: Collection[int] | None) -> list[Recipient]:
        """Who a broadcast reaches: each active, consented subscriber of any chosen sector once
        (every subscriber when team_ids is None), then the groups linked to those sectors."""
        clause, params = _team_filter(team_ids)
        # A broadcast to everyone reads every subscription: that is its audience.
        marker = " /* reads all */" if team_ids is None else ""
        people = self._conn.execute(
            f"""SELECT u.id, u.language FROM users u{marker}
                WHERE u.active = 1 AND u.consent_at IS NOT NULL
                  AND u.id IN (SELECT user_id FROM subscriptions WHERE 1 = 1{clause})
                ORDER BY u.id""",
            params,
        ).fetchall()
        groups = self._conn.execute(
            f"SELECT chat_id, language FROM group_links WHERE 1 = 1{clause} ORDER BY chat_id",
            params,
        ).fetchall()
        return [(row[0], row[1]) for row in [*people, *groups]]

    def list_recipients_page(
        self, team_ids: Collection[int] | None, after: int, limit: int
    ) -> list[Recipient]:
        """One page of `list_recipients` in chat id order: up to `limit` chats after `after`.

        Groups have negative ids, so they come first; each page is an index range, never a
        read of the whole audience (fan-out in bounded units, issue 12).
        """
        clause, params = _team_filter(team_ids)
        groups = self._conn.execute(
            f"""SELECT DISTINCT chat_id, language FROM group_links
                WHERE chat_id > ?{clause} ORDER BY chat_id LIMIT ?""",
            [after, *params, limit],
        ).fetchall()
        people = self._conn.execute(
            f"""SELECT u.id, u.language FROM users u
                WHERE u.id > ? AND u.active = 1 AND u.consent_at IS NOT NULL
                  AND EXISTS (SELECT 1 FROM subscriptions WHERE user_id = u.id{clause})
                ORDER BY u.id LIMIT ?""",
            [after, *params, limit - len(groups)],
        ).fetchall()
        return [(row[0], row[1]) for row in [*groups, *people]]

    def count_recipients(self, team_ids: Collection[int] | None) -> tuple[int, int]:
        """How many people and groups `list_recipients` would return, counted, not listed."""
        clause, params = _team_filter(team_ids)
        if team_ids is None:
            # Everyone: each member looked up in the subscriptions' primary key. The IN form
            # built a list of all ~180,000 subscriptions first: 1.1-1.8 s at 50,000 members
            # on a loaded machine, this ~13-50 ms (bench/scale.py).
            query = """SELECT count(*) FROM users u /* reads all */
                WHERE u.active = 1 AND u.consent_at IS NOT NULL
                  AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = u.id)"""
        else:
            # Chosen sectors: only their subscriptions (an index range each), then the people.
            query = f"""SELECT count(*) FROM users u
                WHERE u.active = 1 AND u.consent_at IS NOT NULL
                  AND u.id IN (SELECT user_id FROM subscriptions WHERE 1 = 1{clause})"""
        people = self._conn.execute(query, params).fetchone()[0]
        groups = self._conn.execute(
            f"SELECT count(DISTINCT chat_id) FROM group_links WHERE 1 = 1{clause}", params
        ).fetchone()[0]
        return int(people), int(groups)

    def list_broadcast_recipients(self, broadcast_id: int) -> list[Recipient]:
        """The 'broadcast' audience (audience_id = the broadcast's id)."""
        found = self.get_broadcast(broadcast_id)
        if found is None or found.state == "cancelled":
            return []
        return self.list_recipients(found.team_ids)

    def list_all_recipients(self, _unused: int = 0) -> list[Recipient]:
        """The 'all' audience: every active, consented subscriber and every linked group."""
        return self.list_recipients(None)
