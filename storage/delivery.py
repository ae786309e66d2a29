"""Delivery storage: announcements, their fan-out into deliveries, claims and settlements.

Every function runs inside the caller's transaction (one `Database.run` unit) and works on
whole batches with `executemany`: one transaction per batch, never one per message.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from storage.models import Row
from storage.repository import Repository
from storage.timefmt import db_time

Language = Literal["pl", "en"]
Recipient = tuple[int, Language]
Resolver = Callable[[sqlite3.Connection, int], list[Recipient]]
DeliveryState = Literal["pending", "sending", "sent", "failed", "blocked", "unknown", "expired"]
# Longest error reason kept on a delivery row (Telegram's descriptions are short).
MAX_ERROR = 500


class Announcement(Row):
    id: int
    kind: str
    audience: str
    audience_id: int
    subject: str | None
    payload: str
    due_at: datetime
    expires_at: datetime | None
    state: Literal["scheduled", "fanned_out", "cancelled"]
    created_by: int | None
    created_at: datetime
    # A reminder's lead time in minutes (notification settings skip unwanted ones).
    lead_minutes: int | None = None
    # The last chat id fanned out so far (pages go in chat id order); None = not begun.
    fanned_through: int | None = None


class Delivery(Row):
    id: int
    announcement_id: int
    chat_id: int
    language: Language
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    message_id: int | None
    error: str | None
    updated_at: datetime


class Claimed(BaseModel):
    """A delivery committed as `sending`, with what to send."""

    model_config = ConfigDict(frozen=True)

    id: int
    announcement_id: int
    chat_id: int
    language: Language
    attempts: int
    payload: str


class Claim(BaseModel):
    """What one claim found: the batch to send, what it expired, or the pause in force."""

    model_config = ConfigDict(frozen=True)

    batch: list[Claimed] = []
    expired: int = 0
    # Settled without a send: expired, or the recipient is no longer reachable.
    dropped: int = 0
    paused_until: datetime | None = None


class Settlement(BaseModel):
    """The outcome of one send, to be written back."""

    model_config = ConfigDict(frozen=True)

    delivery_id: int
    chat_id: int
    state: Literal["pending", "sent", "failed", "blocked", "unknown"]
    at: datetime
    message_id: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    # False: the send was never attempted (returned after a 429), so it does not count.
    counts: bool = True


def _json(payload: Mapping[str, Mapping[str, Any]]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class Deliveries(Repository):
    """Delivery repository over one transaction's connection."""

    __slots__ = ()

    def add_announcement(
        self,
        *,
        kind: str,
        audience: str,
        audience_id: int,
        payload: Mapping[str, Mapping[str, Any]],
        due_at: datetime,
        expires_at: datetime | None,
        subject: str | None,
        created_by: int | None,
        now: datetime,
        lead_minutes: int | None = None,
    ) -> int:
        """Insert a scheduled announcement; return its id."""
        cursor = self._conn.execute(
            """INSERT INTO announcements
               (kind, audience, audience_id, subject, payload, due_at, expires_at, created_by,
                created_at, lead_minutes)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                kind,
                audience,
                audience_id,
                subject,
                _json(payload),
                db_time(due_at),
                None if expires_at is None else db_time(expires_at),
                created_by,
                db_time(now),
                lead_minutes,
            ),
        )
        announcement_id = cursor.lastrowid
        if announcement_id is None:  # pragma: no cover - INSERT always sets it
            raise RuntimeError("no id for the new announcement")
        return announcement_id

    def get_announcement(self, announcement_id: int) -> Announcement | None:
        """Return one announcement."""
        row = self._conn.execute(
            "SELECT * FROM announcements WHERE id = ?", (announcement_id,)
        ).fetchone()
        return None if row is None else Announcement.from_row(row)

    def list_due_announcements(self, now: datetime, limit: int) -> list[Announcement]:
        """Scheduled announcements whose time has come, oldest first (index announcements_due)."""
        rows = self._conn.execute(
            """SELECT * FROM announcements WHERE state = 'scheduled' AND due_at <= ?
               ORDER BY due_at, id LIMIT ?""",
            (db_time(now), limit),
        ).fetchall()
        return [Announcement.from_row(row) for row in rows]

    def add_deliveries(
        self,
        announcement: Announcement,
        recipients: Iterable[Recipient],
        now: datetime,
    ) -> int:
        """Create one delivery per recipient chat, idempotently; return how many are new.

        A copy that is already useless when it is created (the meeting has started) is written
        as `expired`, so that it is counted instead of vanishing.
        """
        expired = announcement.expires_at is not None and announcement.expires_at <= now
        state = "expired" if expired else "pending"
        when = db_time(now)
        due = db_time(announcement.due_at)
        before = self._conn.total_changes
        self._conn.executemany(
            """INSERT INTO deliveries
               (announcement_id, chat_id, language, state, next_attempt_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (announcement_id, chat_id) DO NOTHING""",
            [(announcement.id, chat_id, lang, state, due, when) for chat_id, lang in recipients],
        )
        return self._conn.total_changes - before

    def update_held(self, announcement_id: int, until: Mapping[int, datetime]) -> None:
        """Hold pending copies of an announcement until a later instant, per chat (quiet hours)."""
        self._conn.executemany(
            """UPDATE deliveries SET next_attempt_at = ?
               WHERE announcement_id = ? AND chat_id = ? AND state = 'pending'""",
            [(db_time(at), announcement_id, chat_id) for chat_id, at in until.items()],
        )

    def update_announcement_fanned_out(self, announcement_id: int) -> None:
        """Mark an announcement as turned into deliveries."""
        self._conn.execute(
            "UPDATE announcements SET state = 'fanned_out' WHERE id = ? AND state = 'scheduled'",
            (announcement_id,),
        )

    def update_fan_out_cursor(self, announcement_id: int, chat_id: int) -> None:
        """Record that an announcement's recipients up to `chat_id` have their deliveries."""
        self._conn.execute(
            "UPDATE announcements SET fanned_through = ? WHERE id = ? AND state = 'scheduled'",
            (chat_id, announcement_id),
        )

    def update_announcement_cancelled(self, announcement_id: int) -> None:
        """Cancel one scheduled announcement."""
        self._conn.execute(
            "UPDATE announcements SET state = 'cancelled' WHERE id = ? AND state = 'scheduled'",
            (announcement_id,),
        )

    def update_cancel_by_subject(
        self, subject: str, now: datetime, kinds: Collection[str] | None
    ) -> int:
        """Cancel scheduled announcements about `subject`, expire their pending copies.

        Returns the number of announcements touched (cancelled, or with copies expired).
        """
        params: list[object] = [subject]
        kind_clause = ""
        if kinds is not None:
            if not kinds:
                return 0
            kind_clause = f" AND kind IN ({','.join('?' * len(kinds))})"
            params.extend(kinds)
        rows = self._conn.execute(
            f"""SELECT id, state, fanned_through FROM announcements
                WHERE subject = ? AND state != 'cancelled'{kind_clause}""",
            params,
        ).fetchall()
        touched: set[int] = set()
        scheduled = [(row[0],) for row in rows if row[1] == "scheduled"]
        if scheduled:
            self._conn.executemany(
                "UPDATE announcements SET state = 'cancelled' WHERE id = ? AND state = 'scheduled'",
                scheduled,
            )
            touched.update(item[0] for item in scheduled)
        # One cancelled half-way through its fan-out has copies waiting too.
        fanned = [row[0] for row in rows if row[1] == "fanned_out" or row[2] is not None]
        when = db_time(now)
        for announcement_id in fanned:
            cursor = self._conn.execute(
                """UPDATE deliveries SET state = 'expired', error = 'cancelled', updated_at = ?
                   WHERE announcement_id = ? AND state = 'pending'""",
                (when, announcement_id),
            )
            if cursor.rowcount > 0:
                touched.add(announcement_id)
        return len(touched)

    def get_pause(self) -> datetime | None:
        """Return the instant until which Telegram asked us to send nothing (429), if any."""
        row = self._conn.execute("SELECT until FROM delivery_pause WHERE id = 1").fetchone()
        return None if row is None else datetime.fromisoformat(row[0])

    def update_pause(self, until: datetime) -> None:
        """Pause all sending until `until` (never shortens a longer pause)."""
        self._conn.execute(
            """INSERT INTO delivery_pause (id, until) VALUES (1, ?)
               ON CONFLICT (id) DO UPDATE SET until = max(until, excluded.until)""",
            (db_time(until),),
        )

    def claim_deliveries(self, now: datetime, limit: int) -> Claim:
        """Settle what is no longer worth sending and mark up to `limit` due copies `sending`.

        Copies past their announcement's `expires_at` become `expired`; copies for a person who
        has since become inactive (blocked the bot) become `blocked`, for one who was erased or
        withdrew consent `failed`: nothing goes out to them after that. The claim is committed
        before any send, so a crash leaves the row `sending`, which the next start turns into
        `unknown`: at most once.
        """
        paused = self.get_pause()
        if paused is not None and paused > now:
            return Claim(paused_until=paused)
        when = db_time(now)
        # Group chats (negative ids) have no user row; a private chat's id is its user's id.
        rows = self._conn.execute(
            """SELECT d.id, d.announcement_id, d.chat_id, d.language, d.attempts, a.payload,
                      CASE WHEN a.expires_at IS NOT NULL AND a.expires_at <= ? THEN 'expired'
                           WHEN d.chat_id < 0 THEN 'ok'
                           WHEN u.id IS NULL OR u.consent_at IS NULL THEN 'failed'
                           WHEN u.active = 0 THEN 'blocked'
                           ELSE 'ok' END AS verdict
               FROM deliveries d JOIN announcements a ON a.id = d.announcement_id
               LEFT JOIN users u ON u.id = d.chat_id
               WHERE d.state = 'pending' AND d.next_attempt_at <= ?
               ORDER BY d.next_attempt_at, d.id LIMIT ?""",
            (when, when, limit),
        ).fetchall()
        reasons = {
            "expired": "too late",
            "failed": "recipient erased or without consent",
            "blocked": "recipient inactive",
        }
        dropped = [(row[6], reasons[row[6]], when, row[0]) for row in rows if row[6] != "ok"]
        batch = [
            Claimed(
                id=row[0],
                announcement_id=row[1],
                chat_id=row[2],
                language=row[3],
                attempts=row[4] + 1,
                payload=row[5],
            )
            for row in rows
            if row[6] == "ok"
        ]
        if dropped:
            self._conn.executemany(
                "UPDATE deliveries SET state = ?, error = ?, updated_at = ? WHERE id = ?", dropped
            )
        if batch:
            self._conn.executemany(
                """UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = ?
                   WHERE id = ? AND state = 'pending'""",
                [(when, item.id) for item in batch],
            )
        return Claim(
            batch=batch,
            expired=sum(1 for item in dropped if item[0] == "expired"),
            dropped=len(dropped),
        )

    def update_settled(self, outcomes: Iterable[Settlement]) -> None:
        """Write the outcomes of one batch of sends (only rows still `sending` change)."""
        rows = [
            (
                item.state,
                item.message_id,
                None if item.error is None else item.error[:MAX_ERROR],
                db_time(item.next_attempt_at or item.at),
                db_time(item.at),
                0 if item.counts else 1,
                item.delivery_id,
            )
            for item in outcomes
        ]
        self._conn.executemany(
            """UPDATE deliveries
               SET state = ?, message_id = ?, error = ?, next_attempt_at = ?, updated_at = ?,
                   attempts = attempts - ?
               WHERE id = ? AND state = 'sending'""",
            rows,
        )

    def update_interrupted(self, now: datetime) -> int:
        """After a crash: deliveries left `sending` may have arrived, so they become `unknown`."""
        cursor = self._conn.execute(
            """UPDATE deliveries SET state = 'unknown', error = 'interrupted during the send',
               updated_at = ? WHERE state = 'sending'""",
            (db_time(now),),
        )
        return cursor.rowcount

    def list_delivery_counts(self, announcement_id: int) -> dict[str, int]:
        """Number of deliveries of an announcement in each state."""
        rows = self._conn.execute(
            "SELECT state, count(*) FROM deliveries WHERE announcement_id = ? GROUP BY state",
            (announcement_id,),
        ).fetchall()
        return {row[0]: row[1] for row in rows}

    def list_deliveries(self, announcement_id: int) -> list[Delivery]:
        """Every delivery of an announcement, by chat."""
        rows = self._conn.execute(
            "SELECT * FROM deliveries WHERE announcement_id = ? ORDER BY chat_id",
            (announcement_id,),
        ).fetchall()
        return [Delivery.from_row(row) for row in rows]

    def delete_chat_deliveries(self, chat_id: int) -> int:
        """Erase every delivery row of a chat (GDPR erasure); nothing pending is sent after."""
        cursor = self._conn.execute("DELETE FROM deliveries WHERE chat_id = ?", (chat_id,))
        return cursor.rowcount

    def list_user_recipients(self, user_id: int) -> list[Recipient]:
        """The 'user' audience: that user's private chat, if active and consented."""
        rows = self._conn.execute(
            """SELECT id, language FROM users
               WHERE id = ? AND active = 1 AND consent_at IS NOT NULL""",
            (user_id,),
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def list_team_recipients_page(self, team_id: int, after: int, limit: int) -> list[Recipient]:
        """One page of `list_team_recipients` in chat id order (groups first): up to `limit`
        chats after `after`."""
        groups = self._conn.execute(
            """SELECT chat_id, language FROM group_links
               WHERE team_id = ? AND chat_id > ? ORDER BY chat_id LIMIT ?""",
            (team_id, after, limit),
        ).fetchall()
        people = self._conn.execute(
            """SELECT u.id, u.language FROM subscriptions s JOIN users u ON u.id = s.user_id
               WHERE s.team_id = ? AND s.user_id > ? AND u.active = 1
                 AND u.consent_at IS NOT NULL
               ORDER BY s.user_id LIMIT ?""",
            (team_id, after, limit - len(groups)),
        ).fetchall()
        return [(row[0], row[1]) for row in [*groups, *people]]

    def list_team_recipients(self, team_id: int) -> list[Recipient]:
        """The 'team' audience: active, consented subscribers of a sector team, then the
        groups linked to it (/link_group; a group's language is stored with its link)."""
        rows = self._conn.execute(
            """SELECT u.id, u.language FROM subscriptions s JOIN users u ON u.id = s.user_id
               WHERE s.team_id = ? AND u.active = 1 AND u.consent_at IS NOT NULL
               ORDER BY u.id""",
            (team_id,),
        ).fetchall()
        rows += self._conn.execute(
            "SELECT chat_id, language FROM group_links WHERE team_id = ? ORDER BY chat_id",
            (team_id,),
        ).fetchall()
        return [(row[0], row[1]) for row in rows]
