"""Sector groups storage: Telegram groups linked to a sector team."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from storage.models import Row
from storage.repository import Repository
from storage.timefmt import db_time


class GroupLink(Row):
    chat_id: int
    team_id: int
    language: Literal["pl", "en"]
    title: str | None
    linked_by: int
    linked_at: datetime


class Groups(Repository):
    """Groups repository over one transaction's connection."""

    __slots__ = ()

    def get_link(self, chat_id: int) -> GroupLink | None:
        """The link of a group chat, if any."""
        row = self._conn.execute(
            "SELECT * FROM group_links WHERE chat_id = ?", (chat_id,)
        ).fetchone()
        return None if row is None else GroupLink.from_row(row)

    def list_team_links(self, team_id: int) -> list[GroupLink]:
        """The groups linked to a team."""
        rows = self._conn.execute(
            "SELECT * FROM group_links WHERE team_id = ? ORDER BY chat_id", (team_id,)
        ).fetchall()
        return [GroupLink.from_row(row) for row in rows]

    def upsert_link(
        self,
        *,
        chat_id: int,
        team_id: int,
        language: str,
        title: str | None,
        linked_by: int,
        now: datetime,
    ) -> None:
        """Link a group to a team (a group follows one team: linking again moves it)."""
        self._conn.execute(
            """INSERT INTO group_links (chat_id, team_id, language, title, linked_by, linked_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (chat_id) DO UPDATE SET team_id = excluded.team_id,
                   language = excluded.language, title = excluded.title,
                   linked_by = excluded.linked_by, linked_at = excluded.linked_at""",
            (chat_id, team_id, language, title, linked_by, db_time(now)),
        )

    def delete_link(self, chat_id: int, now: datetime) -> GroupLink | None:
        """Unlink a group; its copies still waiting expire. Returns the removed link."""
        link = self.get_link(chat_id)
        if link is None:
            return None
        self._conn.execute("DELETE FROM group_links WHERE chat_id = ?", (chat_id,))
        self._conn.execute(
            """UPDATE deliveries SET state = 'expired', error = 'group unlinked', updated_at = ?
               WHERE chat_id = ? AND state = 'pending'""",
            (db_time(now), chat_id),
        )
        return link

    def update_chat_id(self, old_chat_id: int, new_chat_id: int) -> bool:
        """A group became a supergroup: keep its link, and its waiting copies, under the new id.

        Returns whether a link moved. Copies being sent move too, so that their settlement
        (by delivery id) records the chat they were finally sent to.
        """
        moved = self._conn.execute(
            """UPDATE OR IGNORE group_links SET chat_id = ? WHERE chat_id = ?""",
            (new_chat_id, old_chat_id),
        ).rowcount
        self._conn.execute("DELETE FROM group_links WHERE chat_id = ?", (old_chat_id,))
        self._conn.execute(
            """UPDATE OR IGNORE deliveries SET chat_id = ?
               WHERE chat_id = ? AND state IN ('pending', 'sending')""",
            (new_chat_id, old_chat_id),
        )
        return moved > 0

    def list_meeting_groups(self, meeting_id: int) -> list[tuple[int, str]]:
        """The groups linked to a meeting's sector team: (chat id, language)."""
        rows = self._conn.execute(
            """SELECT g.chat_id, g.language
               FROM group_links g JOIN meetings m ON m.team_id = g.team_id
               WHERE m.id = ? ORDER BY g.chat_id""",
            (meeting_id,),
        ).fetchall()
        return [(row[0], row[1]) for row in rows]
