"""Notification settings storage: muted sectors, reminder lead times, quiet hours, digest."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from datetime import datetime

from pydantic import Json

from storage.models import Row
from storage.repository import Repository
from storage.timefmt import db_time


class NotificationSettings(Row):
    user_id: int
    reminders_off: Json[list[int]]
    quiet_start: int | None
    quiet_end: int | None
    digest: bool
    digest_sent_on: str | None
    updated_at: datetime


class DigestItem(Row):
    announcement_id: int
    kind: str
    payload: str
    expires_at: datetime | None
    created_at: datetime


class Settings(Repository):
    """Settings repository over one transaction's connection."""

    __slots__ = ()

    def get_settings(self, user_id: int) -> NotificationSettings | None:
        """Return a user's settings row (None: the defaults)."""
        row = self._conn.execute(
            "SELECT * FROM notification_settings WHERE user_id = ?", (user_id,)
        ).fetchone()
        return None if row is None else NotificationSettings.from_row(row)

    def list_settings(
        self, user_ids: Iterable[int] | None = None
    ) -> dict[int, NotificationSettings]:
        """Every settings row (only users who changed something have one), by user."""
        # Only members who changed something have a row, and a fan-out asks for most of them:
        # one pass over the table beats a lookup per recipient.
        rows = self._conn.execute("SELECT * FROM notification_settings /* reads all */").fetchall()
        settings = (NotificationSettings.from_row(row) for row in rows)
        if user_ids is None:
            return {item.user_id: item for item in settings}
        wanted = set(user_ids)
        return {item.user_id: item for item in settings if item.user_id in wanted}

    def update_settings(
        self,
        user_id: int,
        *,
        reminders_off: list[int],
        quiet_start: int | None,
        quiet_end: int | None,
        digest: bool,
        now: datetime,
    ) -> None:
        """Write a user's settings (insert or replace; the digest date is kept)."""
        self._conn.execute(
            """INSERT INTO notification_settings
               (user_id, reminders_off, quiet_start, quiet_end, digest, updated_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (user_id) DO UPDATE SET
                   reminders_off = excluded.reminders_off, quiet_start = excluded.quiet_start,
                   quiet_end = excluded.quiet_end, digest = excluded.digest,
                   updated_at = excluded.updated_at""",
            (
                user_id,
                json.dumps(sorted(set(reminders_off))),
                quiet_start,
                quiet_end,
                1 if digest else 0,
                db_time(now),
            ),
        )

    def list_muted_team_ids(self, user_id: int) -> set[int]:
        """The sector teams whose news the user muted."""
        rows = self._conn.execute(
            "SELECT team_id FROM muted_teams WHERE user_id = ?", (user_id,)
        ).fetchall()
        return {row[0] for row in rows}

    def list_fully_muted_user_ids(self, team_ids: Collection[int]) -> set[int]:
        """Users who muted every one of `team_ids` that they subscribe to (and at least one)."""
        if not team_ids:
            return set()
        marks = ",".join("?" * len(team_ids))
        rows = self._conn.execute(
            f"""SELECT m.user_id FROM muted_teams m
                JOIN subscriptions s ON s.user_id = m.user_id AND s.team_id = m.team_id
                WHERE m.team_id IN ({marks})
                GROUP BY m.user_id
                HAVING count(*) = (SELECT count(*) FROM subscriptions t
                                   WHERE t.user_id = m.user_id AND t.team_id IN ({marks}))""",
            [*team_ids, *team_ids],
        ).fetchall()
        return {row[0] for row in rows}

    def get_broadcast_team_ids(self, broadcast_id: int) -> list[int] | None:
        """The sector teams a broadcast goes to; None = every subscriber (or no such broadcast:
        an empty list)."""
        row = self._conn.execute(
            "SELECT team_ids FROM broadcasts WHERE id = ?", (broadcast_id,)
        ).fetchone()
        if row is None:
            return []
        return None if row[0] is None else [int(team_id) for team_id in json.loads(row[0])]

    def add_muted_team(self, user_id: int, team_id: int, now: datetime) -> bool:
        """Mute a sector's news; False when it was muted already."""
        cursor = self._conn.execute(
            """INSERT INTO muted_teams (user_id, team_id, created_at) VALUES (?, ?, ?)
               ON CONFLICT DO NOTHING""",
            (user_id, team_id, db_time(now)),
        )
        return cursor.rowcount > 0

    def delete_muted_team(self, user_id: int, team_id: int) -> bool:
        """Unmute a sector's news; False when it was not muted."""
        cursor = self._conn.execute(
            "DELETE FROM muted_teams WHERE user_id = ? AND team_id = ?", (user_id, team_id)
        )
        return cursor.rowcount > 0

    def add_digest_items(
        self, announcement_id: int, user_ids: Iterable[int], now: datetime
    ) -> None:
        """Keep an announcement for the next digest of each user (idempotent)."""
        when = db_time(now)
        self._conn.executemany(
            """INSERT INTO digest_items (user_id, announcement_id, created_at) VALUES (?, ?, ?)
               ON CONFLICT DO NOTHING""",
            [(user_id, announcement_id, when) for user_id in user_ids],
        )

    def list_digest_due(self, today: str, cutoff: datetime) -> list[tuple[int, str]]:
        """(user id, language) of active consented users with news held from before `cutoff`
        and no digest on the local date `today` yet."""
        rows = self._conn.execute(
            """SELECT u.id, u.language FROM users u
               LEFT JOIN notification_settings s ON s.user_id = u.id
               WHERE u.id IN (SELECT user_id FROM digest_items WHERE created_at < ?)
                 AND u.active = 1 AND u.consent_at IS NOT NULL
                 AND (s.digest_sent_on IS NULL OR s.digest_sent_on < ?)
               ORDER BY u.id""",
            (db_time(cutoff), today),
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def list_digest_items(self, user_id: int, cutoff: datetime) -> list[DigestItem]:
        """The news held for a user from before `cutoff`, oldest first."""
        rows = self._conn.execute(
            """SELECT i.announcement_id, a.kind, a.payload, a.expires_at, i.created_at
               FROM digest_items i JOIN announcements a ON a.id = i.announcement_id
               WHERE i.user_id = ? AND i.created_at < ?
               ORDER BY i.created_at, i.announcement_id""",
            (user_id, db_time(cutoff)),
        ).fetchall()
        return [DigestItem.from_row(row) for row in rows]

    def delete_digest_items(self, user_id: int, cutoff: datetime) -> int:
        """Forget the news held for a user from before `cutoff` (their digest was queued)."""
        cursor = self._conn.execute(
            "DELETE FROM digest_items WHERE user_id = ? AND created_at < ?",
            (user_id, db_time(cutoff)),
        )
        return cursor.rowcount

    def update_digest_sent_on(self, user_id: int, day: str, now: datetime) -> None:
        """Remember the local date of the user's last digest."""
        self._conn.execute(
            """INSERT INTO notification_settings (user_id, digest_sent_on, updated_at)
               VALUES (?, ?, ?)
               ON CONFLICT (user_id) DO UPDATE SET digest_sent_on = excluded.digest_sent_on""",
            (user_id, day, db_time(now)),
        )
