"""The dispatcher: the one repeating job that fans out due notices and sends them, paced.

One cycle = one transaction that settles the sends answered so far, fans out due
announcements and claims the next small batch (committed as `sending` before any call to
Telegram). The batch is sent at the configured pace while the next cycle runs, one send at a
time per chat. The job loops until nothing is due, so a broadcast runs at the pace, not one
batch per interval; on shutdown it stops claiming and settles what is in flight. What each
Telegram answer means for a copy:

- ok -> `sent` (message_id kept);
- 429 -> back to `pending` after exactly `retry_after`; the whole bot pauses that long and
  the rest of the batch goes back to `pending` without counting an attempt;
- 403 (blocked, deactivated) -> `blocked`, and the user becomes inactive;
- 400 and other refusals -> `failed` with Telegram's reason;
- connect error, connect/pool timeout, 5xx -> `pending` again with bounded backoff (surely
  not delivered), `failed` after `max_attempts`;
- read timeout or a connection lost mid-request -> `unknown`: it may have arrived, and a
  notice is never sent twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import warnings
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import telegram
from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from bot.config import DeliveryConfig
from bot.deps import Deps
from bot.redact import redact, secrets_of
from bot.services import delivery as service
from bot.services import postulates as postulates_service
from bot.services import privacy as privacy_service
from bot.services import settings as settings_service
from storage import delivery as storage
from storage import groups as groups_storage
from storage import users as users_storage
from storage.database import Database

log = logging.getLogger(__name__)

# A claim holds at most this many seconds of sends at the pace: rows claimed and not yet
# settled become `unknown` if the process dies, so the claim is kept short.
CLAIM_SECONDS = 0.25
# Sends awaiting Telegram's answer at once (the pace bounds it too: rate x latency).
MAX_IN_FLIGHT = 100
# Announcements fanned out by one poll (a resolver may return thousands of chats).
FAN_OUT_PER_POLL = 20
# Telegram lets a bot post at most this many messages a minute in one group.
GROUP_PER_MINUTE = 20
# Transport failures after which the request surely did not reach Telegram.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# Run after each settling cycle (final=False) and once after a run (final=True), outside any
# transaction: e.g. broadcasts edit their progress message. Each must be quick; errors are
# logged, never stop the sends.
AfterSettle = Callable[[Deps, telegram.Bot, bool], Awaitable[None]]
AFTER_SETTLE: list[AfterSettle] = []


async def _after_settle(deps: Deps, bot: telegram.Bot, final: bool) -> None:
    for hook in AFTER_SETTLE:
        try:
            await hook(deps, bot, final)
        except Exception:
            log.exception("After-settle hook %s failed", getattr(hook, "__name__", hook))


@dataclass
class DispatchReport:
    """What one dispatcher run did."""

    fanned_out: int = 0
    created: int = 0
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    unknown: int = 0
    retried: int = 0
    expired: int = 0
    returned: int = 0
    batches: int = 0
    paused_until: datetime | None = None
    # Another run was still going on (a long broadcast): this one did nothing.
    busy: bool = False


class Pacer:
    """Spaces sends evenly at `rate` per second, on the event loop's monotonic clock."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._next = 0.0

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        # A fixed schedule, not "sleep 1/rate after each send": oversleeping is made up by
        # the next slots, so the long-run rate is the configured one; idle time is not saved.
        start = max(self._next, now)
        self._next = start + 1.0 / self.rate
        if start > now:
            await asyncio.sleep(start - now)


_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Rendered:
    """A notice ready to send: HTML text (or caption), buttons, an optional photo/document."""

    text: str
    markup: InlineKeyboardMarkup | None = None
    photo: str | None = None
    document: str | None = None


async def send_rendered(bot: telegram.Bot, chat_id: int, message: Rendered) -> telegram.Message:
    """Send one notice the way every recipient gets it (also used for previews)."""
    caption = message.text or None
    if message.photo is not None:
        return await bot.send_photo(
            chat_id=chat_id,
            photo=message.photo,
            caption=caption,
            parse_mode=ParseMode.HTML,
            reply_markup=message.markup,
        )
    if message.document is not None:
        return await bot.send_document(
            chat_id=chat_id,
            document=message.document,
            caption=caption,
            parse_mode=ParseMode.HTML,
            reply_markup=message.markup,
        )
    return await bot.send_message(
        chat_id=chat_id, text=message.text, parse_mode=ParseMode.HTML, reply_markup=message.markup
    )


def render(payload: dict[str, Any]) -> Rendered:
    """One language's payload (an OutgoingMessage dump) as something to send."""
    markup = payload.get("reply_markup")
    return Rendered(
        text=str(payload["text"]),
        markup=None if not markup else InlineKeyboardMarkup.de_json(markup, None),
        photo=payload.get("photo_file_id"),
        document=payload.get("document_file_id"),
    )


@dataclass
class _Engine:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pacer: Pacer = field(default_factory=lambda: Pacer(25.0))
    # Rendered payloads by (payload, language): parsed once per notice, not once per copy.
    messages: dict[tuple[str, str], Rendered] = field(default_factory=dict)
    # Recent send times per group chat (deps.clock()), for GROUP_PER_MINUTE.
    group_sends: dict[int, list[datetime]] = field(default_factory=dict)

    def group_wait(self, chat_id: int, now: datetime) -> datetime | None:
        """For a group at its per-minute limit, when the next send may go; else None
        (and the send is counted)."""
        if chat_id >= 0:
            return None
        recent = [at for at in self.group_sends.get(chat_id, []) if now - at < _MINUTE]
        if len(recent) >= GROUP_PER_MINUTE:
            self.group_sends[chat_id] = recent
            return recent[0] + _MINUTE
        recent.append(now)
        self.group_sends[chat_id] = recent
        return None


_engines: weakref.WeakKeyDictionary[Database, _Engine] = weakref.WeakKeyDictionary()


def _engine(db: Database) -> _Engine:
    engine = _engines.get(db)
    if engine is None:
        engine = _engines[db] = _Engine()
    return engine


def _retry_after(exc: RetryAfter) -> timedelta:
    # PTB 22 returns int seconds with a deprecation warning, or a timedelta when
    # PTB_TIMEDELTA is set; later majors only the timedelta.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: object = exc.retry_after
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, int | float):
        raise TypeError(f"unexpected retry_after {value!r}")
    return timedelta(seconds=float(value))


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc.__cause__ or exc.__context__
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _surely_not_sent(exc: NetworkError) -> bool:
    """Tell a failure before the request left (retry) from one after (ambiguous)."""
    causes = _causes(exc)
    if any(isinstance(cause, _NOT_SENT) for cause in causes):
        return True
    if isinstance(exc, TimedOut):
        return False  # a read or write timeout: Telegram may have got it (PTB #1045)
    # Nothing but Telegram's own answer behind it (a 5xx status, an unparsable body): the
    # server refused the call. Anything else broke mid-request: it may have arrived.
    return all(isinstance(cause, TelegramError) for cause in causes)


def _backoff(settings: DeliveryConfig, attempts: int) -> timedelta:
    """Wait before retry number `attempts`: retry_seconds, doubling, at most retry_max."""
    first = timedelta(seconds=settings.retry_seconds)
    longest = timedelta(seconds=settings.retry_max_seconds)
    return min(first * (1 << min(max(attempts - 1, 0), 20)), longest)


def _message(engine: _Engine, item: storage.Claimed) -> Rendered:
    # Keyed by the payload itself, not the id: SQLite may reuse the id of a deleted row.
    key = (item.payload, item.language)
    cached = engine.messages.get(key)
    if cached is None:
        if len(engine.messages) > 1000:
            engine.messages.clear()
        cached = render(json.loads(item.payload)[item.language])
        engine.messages[key] = cached
    return cached


async def _send(
    deps: Deps,
    bot: telegram.Bot,
    engine: _Engine,
    item: storage.Claimed,
    max_attempts: int,
    migrated: bool = False,
) -> storage.Settlement:
    outcome = await _attempt(deps, bot, engine, item, max_attempts, migrated)
    if outcome.error is None:
        return outcome
    # Telegram's (or a proxy's) description may quote the request URL, which holds the
    # token: the reason is stored, shown to moderators and exported by /mydata.
    return outcome.model_copy(update={"error": redact(outcome.error, secrets_of(deps.config))})


async def _attempt(
    deps: Deps,
    bot: telegram.Bot,
    engine: _Engine,
    item: storage.Claimed,
    max_attempts: int,
    migrated: bool,
) -> storage.Settlement:
    try:
        sent = await send_rendered(bot, item.chat_id, _message(engine, item))
    except RetryAfter as exc:
        at = deps.clock()
        return storage.Settlement(
            delivery_id=item.id,
            chat_id=item.chat_id,
            state="pending",
            at=at,
            next_attempt_at=at + _retry_after(exc),
            error=f"429: {exc.message}",
            counts=False,
        )
    except Forbidden as exc:
        return _final(deps, item, "blocked", f"403: {exc.message}")
    except ChatMigrated as exc:
        # The group became a supergroup: its link and waiting copies move to the new id
        # (own transaction, after the call), then this copy is resent there once.
        if migrated:
            return _final(deps, item, "failed", f"migrated again to chat {exc.new_chat_id}")
        await deps.db.run(groups_storage.update_chat_id, item.chat_id, exc.new_chat_id)
        moved = item.model_copy(update={"chat_id": exc.new_chat_id})
        return await _attempt(deps, bot, engine, moved, max_attempts, migrated=True)
    except BadRequest as exc:
        return _final(deps, item, "failed", f"400: {exc.message}")
    except NetworkError as exc:
        if not _surely_not_sent(exc):
            return _final(deps, item, "unknown", f"ambiguous: {exc.message}")
        if item.attempts >= max_attempts:
            return _final(deps, item, "failed", f"gave up after {item.attempts}: {exc.message}")
        at = deps.clock()
        return storage.Settlement(
            delivery_id=item.id,
            chat_id=item.chat_id,
            state="pending",
            at=at,
            next_attempt_at=at + _backoff(deps.config.delivery, item.attempts),
            error=f"retry: {exc.message}",
        )
    except TelegramError as exc:
        return _final(deps, item, "failed", f"{type(exc).__name__}: {exc.message}")
    except Exception as exc:
        # Not a Telegram answer: nobody knows whether the message left, so never resend it.
        log.exception("Unexpected error sending delivery %s", item.id)
        return _final(deps, item, "unknown", f"{type(exc).__name__}: {exc}")
    return storage.Settlement(
        delivery_id=item.id,
        chat_id=item.chat_id,
        state="sent",
        at=deps.clock(),
        message_id=sent.message_id,
    )


def _final(deps: Deps, item: storage.Claimed, state: Any, error: str) -> storage.Settlement:
    return storage.Settlement(
        delivery_id=item.id, chat_id=item.chat_id, state=state, at=deps.clock(), error=error
    )


def _settle(conn: Any, outcomes: list[storage.Settlement], pause_until: datetime | None) -> None:
    storage.update_settled(conn, outcomes)
    for item in outcomes:
        if item.state == "blocked":
            users_storage.update_active(conn, item.chat_id, False)
    if pause_until is not None:
        storage.update_pause(conn, pause_until)


@dataclass(frozen=True)
class _Cycle:
    fanned_out: int
    created: int
    more: bool
    claim: storage.Claim


def _cycle(
    conn: Any,
    outcomes: list[storage.Settlement],
    pause_until: datetime | None,
    now: datetime,
    batch_size: int,
    notifications: settings_service.Notifications | None = None,
    digests: bool = False,
) -> _Cycle:
    """One transaction: settle what was answered, fan out what is due, claim the next batch."""
    _settle(conn, outcomes, pause_until)
    if batch_size == 0:
        return _Cycle(0, 0, False, storage.Claim())
    if digests and notifications is not None:
        # Once per run, before the fan-out, so that a digest queued now goes out now.
        settings_service.queue_digests(conn, now, notifications)
    zone = None if notifications is None else notifications.zone
    announcements = storage.list_due_announcements(conn, now, FAN_OUT_PER_POLL + 1)
    created = 0
    fanned = 0
    for announcement in announcements[:FAN_OUT_PER_POLL]:
        conn.execute("SAVEPOINT fan_out")
        try:
            created += service.fan_out(conn, announcement, now, zone)
        except Exception:
            # A broken resolver (or an audience whose module is not loaded) must not hold
            # up every later notice: this one is cancelled, loudly.
            conn.execute("ROLLBACK TO fan_out")
            log.exception(
                "Announcement %s (%s) cannot be fanned out; cancelled",
                announcement.id,
                announcement.audience,
            )
            storage.update_announcement_cancelled(conn, announcement.id)
        else:
            fanned += 1
        conn.execute("RELEASE fan_out")
    more = len(announcements) > FAN_OUT_PER_POLL
    return _Cycle(fanned, created, more, storage.claim_deliveries(conn, now, batch_size))


class _Run:
    """One dispatcher run: sends overlap the next claim; every outcome is settled once."""

    def __init__(
        self, deps: Deps, bot: telegram.Bot, engine: _Engine, stopping: Callable[[], bool]
    ) -> None:
        self.deps = deps
        self.bot = bot
        self.engine = engine
        self.stopping = stopping
        self.settings = deps.config.delivery
        self.report = DispatchReport()
        # Users' notification settings; their digests are queued by the first cycle.
        self.notifications = settings_service.Notifications(
            zone=deps.config.zone,
            digest_hour=deps.config.notifications.digest_hour,
            texts=deps.texts,
        )
        self.digests = True
        self.answered: list[storage.Settlement] = []
        self.in_flight: dict[asyncio.Task[None], storage.Claimed] = {}
        self.by_chat: dict[int, asyncio.Task[None]] = {}
        self.unstarted: list[storage.Claimed] = []
        self.pause: datetime | None = None
        # Sends running at once: enough for the pace with a slow network, bounded anyway.
        self.slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def run(self, batch_size: int) -> DispatchReport:
        try:
            while True:
                stopping = self.pause is not None or self.stopping()
                cycle = await self._cycle(0 if stopping else batch_size)
                await _after_settle(self.deps, self.bot, False)
                if stopping or cycle.claim.paused_until is not None:
                    self.report.paused_until = self.pause or cycle.claim.paused_until
                    if not self.in_flight:
                        break
                    await asyncio.wait(list(self.in_flight))
                    continue
                if not cycle.claim.batch:
                    if cycle.more or cycle.claim.dropped:
                        continue
                    if not self.in_flight:
                        break
                    await asyncio.wait(list(self.in_flight))
                    continue
                self.report.batches += 1
                await self._start(cycle.claim.batch)
        finally:
            await self._abandon()
            if self.pause is not None:
                self.report.paused_until = self.pause
        return self.report

    async def _cycle(self, batch_size: int) -> _Cycle:
        outcomes, self.answered = self.answered, []
        try:
            cycle = await self.deps.db.run(
                _cycle,
                outcomes,
                self.pause,
                self.deps.clock(),
                batch_size,
                self.notifications,
                self.digests and batch_size > 0,
            )
            self.digests = self.digests and batch_size == 0
        except BaseException:
            self.answered = outcomes + self.answered
            raise
        _count(self.report, outcomes)
        self.report.fanned_out += cycle.fanned_out
        self.report.created += cycle.created
        self.report.expired += cycle.claim.expired
        return cycle

    async def _start(self, batch: list[storage.Claimed]) -> None:
        self.unstarted = list(batch)
        while self.unstarted:
            # A group at its per-minute limit waits in `pending`, not in this loop: the
            # other chats of the batch go on.
            later = self.engine.group_wait(self.unstarted[0].chat_id, self.deps.clock())
            if later is not None:
                item = self.unstarted.pop(0)
                self.answered.append(
                    storage.Settlement(
                        delivery_id=item.id,
                        chat_id=item.chat_id,
                        state="pending",
                        at=self.deps.clock(),
                        next_attempt_at=later,
                        counts=False,
                    )
                )
                continue
            # One send at a time per chat, so that two notices arrive in the order queued
            # (a meeting's change after its announcement) and a chat is never flooded.
            earlier = self.by_chat.get(self.unstarted[0].chat_id)
            if earlier is not None:
                await asyncio.wait([earlier])
            await self.engine.pacer.wait()
            await self.slots.acquire()
            if self.pause is not None or self.stopping():
                self.slots.release()
                break
            item = self.unstarted.pop(0)
            task = asyncio.create_task(self._send(item))
            self.in_flight[task] = item
            self.by_chat[item.chat_id] = task
        at = self.deps.clock()
        self.answered.extend(_returned(item, at) for item in self.unstarted)
        self.unstarted = []

    async def _send(self, item: storage.Claimed) -> None:
        try:
            outcome = await _send(
                self.deps, self.bot, self.engine, item, self.settings.max_attempts
            )
            if outcome.state == "pending" and not outcome.counts:
                self.pause = max(filter(None, [self.pause, outcome.next_attempt_at]))
                log.warning("Telegram's flood control: no sends until %s", self.pause)
            self.answered.append(outcome)
        finally:
            task = asyncio.current_task()
            self.in_flight.pop(task, None)  # type: ignore[arg-type]
            if self.by_chat.get(item.chat_id) is task:
                del self.by_chat[item.chat_id]
            self.slots.release()

    async def _abandon(self) -> None:
        """On the way out (normal or cancelled): settle everything still held."""
        at = self.deps.clock()
        for task, item in list(self.in_flight.items()):
            task.cancel()
            # Cancelled mid-call (shutdown): it may have arrived.
            self.answered.append(_final(self.deps, item, "unknown", "interrupted during the send"))
        self.in_flight.clear()
        self.answered.extend(_returned(item, at) for item in self.unstarted)
        self.unstarted = []
        if self.answered:
            outcomes, self.answered = self.answered, []
            await self.deps.db.run(_settle, outcomes, self.pause)
            _count(self.report, outcomes)


def _returned(item: storage.Claimed, at: datetime) -> storage.Settlement:
    """A claimed copy that was never sent goes back to `pending`, no attempt counted."""
    return storage.Settlement(
        delivery_id=item.id, chat_id=item.chat_id, state="pending", at=at, counts=False
    )


async def dispatch_once(
    deps: Deps, bot: telegram.Bot, *, stopping: Callable[[], bool] = lambda: False
) -> DispatchReport:
    """Recover nothing; fan out what is due at deps.clock(), expire what is useless, claim and
    send every due delivery (paced), settle. Tests call this to 'let the clock tick'.

    `stopping()` turning true (the application is shutting down) ends the run early: no new
    claim, sends in flight are answered and settled, the rest of the claim goes back to
    `pending` - a graceful stop leaves nothing `unknown`.
    """
    engine = _engine(deps.db)
    if engine.lock.locked():
        return DispatchReport(busy=True)
    settings = deps.config.delivery
    batch_size = max(
        1, min(settings.batch_size, math.ceil(settings.messages_per_second * CLAIM_SECONDS))
    )
    async with engine.lock:
        engine.pacer.rate = settings.messages_per_second
        # Once a day, before the claims: long-inactive members are erased (their copies expire).
        await privacy_service.retain_if_due(deps.db, deps.config, deps.texts, deps.clock())
        # Postulate drafts left idle expire here even if their author never writes again;
        # the notice telling them is queued in the same unit and goes out in this run.
        await postulates_service.expire_idle_drafts(
            deps.db, deps.texts, deps.config.postulates.draft_idle_hours, deps.clock()
        )
        report = await _Run(deps, bot, engine, stopping).run(batch_size)
        await _after_settle(deps, bot, True)
    if report.batches or report.expired or report.fanned_out:
        log.info(
            "Delivery: %d announcement(s) fanned out; %d sent, %d failed, %d blocked, "
            "%d unknown, %d to retry, %d expired",
            report.fanned_out,
            report.sent,
            report.failed,
            report.blocked,
            report.unknown,
            report.retried,
            report.expired,
        )
    return report


def _count(report: DispatchReport, outcomes: list[storage.Settlement]) -> None:
    for item in outcomes:
        if item.state == "sent":
            report.sent += 1
        elif item.state == "failed":
            report.failed += 1
        elif item.state == "blocked":
            report.blocked += 1
        elif item.state == "unknown":
            report.unknown += 1
        elif item.counts:
            report.retried += 1
        elif item.next_attempt_at is None:
            report.returned += 1
        else:
            report.retried += 1
