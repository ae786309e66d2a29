"""The delivery engine's service side: queue notices inside a business transaction, count them,
and the registry of audiences and notice kinds that fan-out reads.

Every notice that is not a direct reply is written here first (an announcement, in the same
transaction as the change that causes it) and sent later by bot.dispatcher. The functions
taking a `unit` are called inside the caller's own `db.run` unit. Nothing here is filled at
import: each feature's `register(registry)` names its audiences, kinds and screen, called by
bot.engine.build_engine.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.config import LANGUAGES, Language
from storage import delivery as storage
from storage.database import Database
from storage.unit import Unit

Resolver = Callable[[Unit, int], list[tuple[int, Language]]]
Recipient = tuple[int, Language]
# One page of an audience in chat id order: (unit, audience id, after this chat id, at most).
PagedResolver = Callable[[Unit, int, int, int], list[Recipient]]
# Chats fanned out by one unit of work: a page of inserts stays far below 50 ms at 50,000
# members, so a broadcast to everyone never holds the writer long (issue 12). 1,000 held it
# 227 ms while an export rendered on the reader's thread (bench/scale.py): each inserted row
# waits for the GIL there; 250 keeps the first copy at ~0.01 s after the confirm.
FAN_OUT_PAGE = 250
# Below every chat id (groups are negative): the cursor of a fan-out not begun.
_BEFORE_ALL = -(2**63)

# What each kind of notice is, for the recipients' /settings (each feature registers its kinds):
# - news can be muted per sector, is held during quiet hours and goes into the daily digest;
# - reminders skip whoever turned that lead time off, and ignore quiet hours;
# - transactional notices (about my RSVP, my postulate, my role, ...) always arrive at once.
# A kind nobody registered is transactional: never muted, never held.
NoticeClass = Literal["news", "reminder", "transactional"]


class Screened(BaseModel):
    """Recipients left after their settings, and copies held until a later instant."""

    model_config = ConfigDict(frozen=True)

    recipients: list[Recipient]
    held: dict[int, datetime] = {}


# Per-recipient notification settings (registered by bot.services.settings): drops, collects
# or holds copies of news and reminders.
Screen = Callable[
    [Unit, storage.Announcement, NoticeClass, list[Recipient], datetime, ZoneInfo],
    Screened,
]


class OutgoingMessage(BaseModel):
    """One rendered notice in one language (Telegram HTML)."""

    model_config = ConfigDict(frozen=True)

    text: str
    reply_markup: dict[str, Any] | None = None
    # A photo or a document (Telegram file ids) sent with `text` as its caption (<= 1,024).
    photo_file_id: str | None = None
    document_file_id: str | None = None


Messages = Mapping[Language, OutgoingMessage]
# A payload holding a notice's data (not rendered text) keeps it under this key.
NOTICE_KEY = "notice"


class Registry:
    """Who gets each audience, what class each notice kind is, and the recipients' screen.

    Built empty; the features fill it through their `register` functions (bot.engine).
    """

    def __init__(self) -> None:
        # An audience may have several resolvers (a meeting's people, then its sector's
        # groups): the recipients are their concatenation, in registration order.
        self.audiences: dict[str, tuple[Resolver, ...]] = {}
        # Audiences that can grow to every member also read a page at a time.
        self.pages: dict[str, PagedResolver] = {}
        self.kinds: dict[str, NoticeClass] = {}
        self.screen: Screen | None = None

    def add_audience(
        self, name: str, resolver: Resolver, *, paged: PagedResolver | None = None
    ) -> None:
        """Name a new audience and its resolver (chat id and language of each recipient);
        `paged` reads the same recipients a page at a time, for an audience of thousands."""
        if name in self.audiences:
            raise ValueError(f"audience {name!r} is registered twice")
        self.audiences[name] = (resolver,)
        if paged is not None:
            self.pages[name] = paged

    def extend_audience(self, name: str, resolver: Resolver) -> None:
        """Add more recipients to an audience another feature registered."""
        if name not in self.audiences:
            raise LookupError(f"audience {name!r} must be registered before it is extended")
        self.audiences[name] = (*self.audiences[name], resolver)

    def add_kinds(self, notice: NoticeClass, *kinds: str) -> None:
        """Declare notice kinds and their class (news, reminder or transactional)."""
        for kind in kinds:
            if self.kinds.get(kind, notice) != notice:
                raise ValueError(f"notice kind {kind!r} registered as {self.kinds[kind]}")
            self.kinds[kind] = notice

    def set_screen(self, screen: Screen) -> None:
        """Install the recipients' notification settings, applied at fan-out."""
        if self.screen is not None:
            raise ValueError("a screen is registered already")
        self.screen = screen

    def notice_class(self, kind: str) -> NoticeClass:
        """Classify a kind of notice; one nobody registered is transactional."""
        return self.kinds.get(kind, "transactional")

    def recipients(self, unit: Unit, audience: str, audience_id: int) -> list[Recipient]:
        """Every recipient of an audience, read now."""
        resolvers = self.audiences.get(audience)
        if resolvers is None:
            raise LookupError(f"no resolver for audience {audience!r}")
        if len(resolvers) == 1:
            return resolvers[0](unit, audience_id)  # a broadcast's 50,000 rows, not copied
        return [chat for resolver in resolvers for chat in resolver(unit, audience_id)]

    def page(
        self, unit: Unit, announcement: storage.Announcement, limit: int
    ) -> tuple[list[Recipient], bool]:
        """The next page of an announcement's recipients after its cursor, and whether it is
        the last one."""
        after = announcement.fanned_through
        start = _BEFORE_ALL if after is None else after
        paged = self.pages.get(announcement.audience)
        if paged is not None and len(self.audiences[announcement.audience]) == 1:
            found = paged(unit, announcement.audience_id, start, limit + 1)
        else:
            everyone = self.recipients(unit, announcement.audience, announcement.audience_id)
            found = sorted((chat for chat in everyone if chat[0] > start), key=lambda c: c[0])
        return found[:limit], len(found) <= limit

    def fan_out(
        self,
        unit: Unit,
        announcement: storage.Announcement,
        now: datetime,
        zone: ZoneInfo | None = None,
        limit: int | None = None,
    ) -> int:
        """Create the deliveries of an announcement (idempotent); return how many are new.

        With `limit`, only the next page of at most that many chats after the announcement's
        cursor: it stays scheduled with the cursor moved until its last page, so each page is
        a short unit of its own and a crash resumes where the last committed page ended.
        With `zone` (the deployment's), the recipients' notification settings apply.
        """
        done = True
        if limit is None:
            recipients = self.recipients(unit, announcement.audience, announcement.audience_id)
        else:
            recipients, done = self.page(unit, announcement, limit)
        page_end = recipients[-1][0] if recipients else 0
        held: dict[int, datetime] = {}
        category = self.notice_class(announcement.kind)
        screen = self.screen
        if screen is not None and zone is not None and category != "transactional" and recipients:
            screened = screen(unit, announcement, category, recipients, now, zone)
            recipients, held = screened.recipients, screened.held
        created = unit.delivery.add_deliveries(announcement, recipients, now)
        if held:
            unit.delivery.update_held(announcement.id, held)
        if done:
            unit.delivery.update_announcement_fanned_out(announcement.id)
        else:
            # The page's last chat, not the screened one: a muted chat is not read again.
            unit.delivery.update_fan_out_cursor(announcement.id, page_end)
        return created


def register(registry: Registry) -> None:
    """The engine's own audiences: one user ('user'), a sector team's subscribers ('team')."""
    registry.add_audience("user", lambda unit, key: unit.delivery.list_user_recipients(key))
    registry.add_audience(
        "team",
        lambda unit, key: unit.delivery.list_team_recipients(key),
        paged=lambda unit, key, after, limit: unit.delivery.list_team_recipients_page(
            key, after, limit
        ),
    )
    # A multi-step conversation that waited too long (bot/housekeeping.py tells its user).
    registry.add_kinds("transactional", "conversation-expired")


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
    unit: Unit,
    *,
    kind: str,
    audience: str,
    audience_id: int,
    now: datetime,
    data: BaseModel | None = None,
    messages: Messages | None = None,
    due_at: datetime | None = None,
    expires_at: datetime | None = None,
    subject: str | None = None,
    created_by: int | None = None,
    lead_minutes: int | None = None,
) -> int:
    """Queue a notice; due_at None = now. Returns the announcement id.

    `data` is the notice's domain data, rendered per language when it is sent by the
    renderer each face registers for `kind` (bot.engine); `messages` (already rendered, one
    per language) is the older form, kept for the features not yet converted.

    `lead_minutes`: a reminder's lead time, so that users who turned it off are skipped.
    The audience is checked at fan-out, against the engine's registry: one nobody registered
    cancels the notice loudly.
    """
    payload: dict[str, dict[str, Any]]
    if data is not None:
        payload = {
            NOTICE_KEY: {"kind": kind, "data": data.model_dump(mode="json", round_trip=True)}
        }
    elif messages is not None:
        missing = [language for language in LANGUAGES if language not in messages]
        if missing:
            raise ValueError(f"notice {kind!r} has no text in {', '.join(missing)}")
        payload = {language: messages[language].model_dump() for language in LANGUAGES}
    else:
        raise ValueError(f"notice {kind!r} has neither data nor messages")
    return unit.delivery.add_announcement(
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
    unit: Unit, *, subject: str, now: datetime, kinds: Collection[str] | None = None
) -> int:
    """Cancel not-yet-sent notices about `subject` (e.g. 'meeting:42'); return how many.

    Scheduled announcements become cancelled; copies of fanned-out ones still waiting
    become expired. What is already being sent or sent stays as it is.
    """
    return unit.delivery.update_cancel_by_subject(subject, now, kinds)


def get_counts(unit: Unit, announcement_id: int) -> DeliveryCounts:
    """Count the copies of an announcement by state."""
    return DeliveryCounts(**unit.delivery.list_delivery_counts(announcement_id))


def forget_chat(unit: Unit, chat_id: int) -> int:
    """Erase a chat's deliveries (GDPR erasure): nothing still pending reaches it later."""
    return unit.delivery.delete_chat_deliveries(chat_id)


async def recover(db: Database, now: datetime) -> int:
    """At start: sends interrupted by a crash may have arrived, so they become `unknown`."""
    return await db.run(lambda unit: unit.delivery.update_interrupted(now))
