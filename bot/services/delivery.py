"""The delivery engine's service side: queue notices inside a business transaction, count them.

Every notice that is not a direct reply is written here first (an announcement, in the same
transaction as the change that causes it) and sent later by bot.dispatcher. The functions
taking a `conn` are called inside the caller's own `db.run` unit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.config import LANGUAGES, Language
from storage import delivery as storage
from storage.database import Database

Resolver = Callable[[sqlite3.Connection, int], list[tuple[int, Language]]]
Recipient = tuple[int, Language]

# What each kind of notice is, for the recipients' /settings (the one place that says it):
# - news can be muted per sector, is held during quiet hours and goes into the daily digest;
# - reminders skip whoever turned that lead time off, and ignore quiet hours;
# - transactional notices (about my RSVP, my postulate, my role, ...) always arrive at once.
# A kind not listed here is transactional: never muted, never held.
NoticeClass = Literal["news", "reminder", "transactional"]
NEWS_KINDS = frozenset(
    {"meeting-notice", "meeting-change", "meeting-cancelled", "broadcast", "call-opened", "digest"}
)
REMINDER_KINDS = frozenset({"meeting-reminder", "call-reminder"})


def notice_class(kind: str) -> NoticeClass:
    """Classify a kind of notice (see NEWS_KINDS, REMINDER_KINDS)."""
    if kind in NEWS_KINDS:
        return "news"
    if kind in REMINDER_KINDS:
        return "reminder"
    return "transactional"


class Screened(BaseModel):
    """Recipients left after their settings, and copies held until a later instant."""

    model_config = ConfigDict(frozen=True)

    recipients: list[Recipient]
    held: dict[int, datetime] = {}


# Per-recipient notification settings, installed by bot.services.settings when imported (the
# dispatcher imports it): drops, collects or holds copies of news and reminders.
Screen = Callable[
    [sqlite3.Connection, storage.Announcement, NoticeClass, list[Recipient], datetime, ZoneInfo],
    Screened,
]
screen: Screen | None = None


class OutgoingMessage(BaseModel):
    """One rendered notice in one language (Telegram HTML)."""

    model_config = ConfigDict(frozen=True)

    text: str
    reply_markup: dict[str, Any] | None = None
    # A photo or a document (Telegram file ids) sent with `text` as its caption (<= 1,024).
    photo_file_id: str | None = None
    document_file_id: str | None = None


Messages = Mapping[Language, OutgoingMessage]

# Who gets a notice: a resolver name -> (chat_id, language) of every recipient, read at
# fan-out time. Features add theirs when their service module is imported, e.g.
# `delivery.AUDIENCES["meeting"] = meetings_storage.list_notice_recipients`.
# Group chats (issue 5) fit the same shape: a resolver returning the group's chat id.
AUDIENCES: dict[str, Resolver] = {
    "user": storage.list_user_recipients,
    "team": storage.list_team_recipients,
}


class DeliveryCounts(BaseModel):
    """How the copies of one announcement fared (what moderators see)."""

    model_config = ConfigDict(frozen=True)

    sent: int = 0
    failed: int = 0
    blocked: int = 0
    unknown: int = 0
    pending: int = 0
    expired: int = 0
    # Claimed and being sent right now (becomes unknown if the process dies meanwhile).
    sending: int = 0

    @property
    def total(self) -> int:
        return (
            self.sent
            + self.failed
            + self.blocked
            + self.unknown
            + self.pending
            + self.expired
            + self.sending
        )


def messages_for(build: Callable[[Language], OutgoingMessage]) -> dict[Language, OutgoingMessage]:
    """Render a notice in every language."""
    return {language: build(language) for language in LANGUAGES}


def announce(
    conn: sqlite3.Connection,
    *,
    kind: str,
    audience: str,
    audience_id: int,
    messages: Messages,
    now: datetime,
    due_at: datetime | None = None,
    expires_at: datetime | None = None,
    subject: str | None = None,
    created_by: int | None = None,
    lead_minutes: int | None = None,
) -> int:
    """Queue a notice; due_at None = now. Returns the announcement id.

    `lead_minutes`: a reminder's lead time, so that users who turned it off are skipped.
    """
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}; register its resolver in AUDIENCES")
    missing = [language for language in LANGUAGES if language not in messages]
    if missing:
        raise ValueError(f"notice {kind!r} has no text in {', '.join(missing)}")
    payload: dict[str, dict[str, Any]] = {
        language: messages[language].model_dump() for language in LANGUAGES
    }
    return storage.add_announcement(
        conn,
        kind=kind,
        audience=audience,
        audience_id=audience_id,
        payload=payload,
        due_at=now if due_at is None else due_at,
        expires_at=expires_at,
        subject=subject,
        created_by=created_by,
        now=now,
        lead_minutes=lead_minutes,
    )


def cancel_pending(
    conn: sqlite3.Connection, *, subject: str, now: datetime, kinds: Collection[str] | None = None
) -> int:
    """Cancel not-yet-sent notices about `subject` (e.g. 'meeting:42'); return how many.

    Scheduled announcements become cancelled; copies of fanned-out ones still waiting
    become expired. What is already being sent or sent stays as it is.
    """
    return storage.update_cancel_by_subject(conn, subject, now, kinds)


def get_counts(conn: sqlite3.Connection, announcement_id: int) -> DeliveryCounts:
    """Count the copies of an announcement by state."""
    return DeliveryCounts(**storage.list_delivery_counts(conn, announcement_id))


def fan_out(
    conn: sqlite3.Connection,
    announcement: storage.Announcement,
    now: datetime,
    zone: ZoneInfo | None = None,
) -> int:
    """Create the deliveries of an announcement (idempotent); return how many are new.

    With `zone` (the deployment's), the recipients' notification settings apply.
    """
    resolver = AUDIENCES.get(announcement.audience)
    if resolver is None:
        raise LookupError(f"no resolver for audience {announcement.audience!r}")
    recipients = resolver(conn, announcement.audience_id)
    held: dict[int, datetime] = {}
    category = notice_class(announcement.kind)
    if screen is not None and zone is not None and category != "transactional" and recipients:
        screened = screen(conn, announcement, category, recipients, now, zone)
        recipients, held = screened.recipients, screened.held
    created = storage.add_deliveries(conn, announcement, recipients, now)
    if held:
        storage.update_held(conn, announcement.id, held)
    storage.update_announcement_fanned_out(conn, announcement.id)
    return created


def forget_chat(conn: sqlite3.Connection, chat_id: int) -> int:
    """Erase a chat's deliveries (GDPR erasure): nothing still pending reaches it later."""
    return storage.delete_chat_deliveries(conn, chat_id)


async def recover(db: Database, now: datetime) -> int:
    """At start: sends interrupted by a crash may have arrived, so they become `unknown`."""
    return await db.run(storage.update_interrupted, now)
