"""The dispatcher: the engine's run, driven by one repeating job, that fans out due notices
and sends them, paced.

One cycle = one transaction that settles the sends answered so far, fans out due
announcements and claims the next small batch (committed as `sending` before any call to
Telegram). The batch is sent at the configured pace while the next cycle runs, one send at a
time per chat. The run loops until nothing is due, so a broadcast runs at the pace, not one
batch per interval; on shutdown it stops claiming and settles what is in flight. What each
failed send means for its copy is bot.verdicts.classify; housekeeping (retention, draft
expiry, digests) has its own jobs (bot.housekeeping): this run only sends.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import telegram

from bot.config import DeliveryConfig
from bot.deps import Deps
from bot.engine import DeliveryEngine, send_rendered
from bot.redact import redact, secrets_of
from bot.services import delivery
from bot.verdicts import classify
from storage import delivery as storage

log = logging.getLogger(__name__)

# A claim holds at most this many seconds of sends at the pace: rows claimed and not yet
# settled become `unknown` if the process dies, so the claim is kept short.
CLAIM_SECONDS = 0.25
# Sends awaiting Telegram's answer at once (the pace bounds it too: rate x latency).
MAX_IN_FLIGHT = 100
# Announcements fanned out by one poll (a resolver may return thousands of chats).
FAN_OUT_PER_POLL = 20
# Chats fanned out by one cycle, over all its announcements: a broadcast to 50,000 members is
# many short cycles, each claiming (and sending) what is ready, so the first copies leave
# after the first page and members' updates reach the writer between pages (issue 12).
FAN_OUT_ROWS = delivery.FAN_OUT_PAGE


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


def _backoff(settings: DeliveryConfig, attempts: int) -> timedelta:
    """Wait before retry number `attempts`: retry_seconds, doubling, at most retry_max."""
    first = timedelta(seconds=settings.retry_seconds)
    longest = timedelta(seconds=settings.retry_max_seconds)
    return min(first * (1 << min(max(attempts - 1, 0), 20)), longest)


async def _send(
    deps: Deps,
    bot: telegram.Bot,
    engine: DeliveryEngine,
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
    engine: DeliveryEngine,
    item: storage.Claimed,
    max_attempts: int,
    migrated: bool,
) -> storage.Settlement:
    try:
        sent = await send_rendered(
            bot, item.chat_id, engine.message(item, deps.texts, deps.config.zone)
        )
    except Exception as exc:
        verdict = classify(exc)
        if verdict.unexpected:
            # Not a Telegram answer: nobody knows whether the message left, so never resend it.
            log.exception("Unexpected error sending delivery %s", item.id)
        if verdict.action == "wait" and verdict.wait is not None:
            at = deps.clock()
            return storage.Settlement(
                delivery_id=item.id,
                chat_id=item.chat_id,
                state="pending",
                at=at,
                next_attempt_at=at + verdict.wait,
                error=verdict.reason,
                counts=False,
            )
        if verdict.action == "migrated" and verdict.new_chat_id is not None:
            # The group became a supergroup: its link and waiting copies move to the new id
            # (own transaction, after the call), then this copy is resent there once.
            if migrated:
                return _final(deps, item, "failed", f"migrated again to chat {verdict.new_chat_id}")
            new_chat_id = verdict.new_chat_id
            await deps.db.run(lambda unit: unit.groups.update_chat_id(item.chat_id, new_chat_id))
            moved = item.model_copy(update={"chat_id": verdict.new_chat_id})
            return await _attempt(deps, bot, engine, moved, max_attempts, migrated=True)
        if verdict.action == "retry":
            if item.attempts >= max_attempts:
                return _final(
                    deps, item, "failed", f"gave up after {item.attempts}: {verdict.reason}"
                )
            at = deps.clock()
            return storage.Settlement(
                delivery_id=item.id,
                chat_id=item.chat_id,
                state="pending",
                at=at,
                next_attempt_at=at + _backoff(deps.config.delivery, item.attempts),
                error=f"retry: {verdict.reason}",
            )
        state = verdict.action if verdict.action in ("blocked", "failed") else "unknown"
        return _final(deps, item, state, verdict.reason)
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


def _settle(unit: Any, outcomes: list[storage.Settlement], pause_until: datetime | None) -> None:
    unit.delivery.update_settled(outcomes)
    for item in outcomes:
        if item.state == "blocked":
            unit.users.update_active(item.chat_id, False)
    if pause_until is not None:
        unit.delivery.update_pause(pause_until)


@dataclass(frozen=True)
class _Cycle:
    fanned_out: int
    created: int
    more: bool
    claim: storage.Claim


def _cycle(
    unit: Any,
    registry: DeliveryEngine,
    outcomes: list[storage.Settlement],
    pause_until: datetime | None,
    now: datetime,
    batch_size: int,
    zone: Any,
) -> _Cycle:
    """One transaction: settle what was answered, fan out what is due, claim the next batch."""
    _settle(unit, outcomes, pause_until)
    if batch_size == 0:
        return _Cycle(0, 0, False, storage.Claim())
    announcements = unit.delivery.list_due_announcements(now, FAN_OUT_PER_POLL + 1)
    created = 0
    fanned = 0
    budget = FAN_OUT_ROWS
    for announcement in announcements[:FAN_OUT_PER_POLL]:
        if budget <= 0:
            break
        try:
            with unit.savepoint():
                made = registry.fan_out(unit, announcement, now, zone, limit=budget)
                created += made
                # A page that made no copies (all muted, all there already) still cost a read.
                budget -= max(made, FAN_OUT_ROWS // 10)
                if _unfinished(unit, announcement.id):
                    budget = 0
        except Exception:
            # A broken resolver (or an audience nobody registered) must not hold up every
            # later notice: this one is cancelled, loudly.
            log.exception(
                "Announcement %s (%s) cannot be fanned out; cancelled",
                announcement.id,
                announcement.audience,
            )
            unit.delivery.update_announcement_cancelled(announcement.id)
        else:
            fanned += 1
    # Also more when the budget ran out: an announcement is still scheduled, half fanned out.
    more = len(announcements) > FAN_OUT_PER_POLL or budget <= 0
    return _Cycle(fanned, created, more, unit.delivery.claim_deliveries(now, batch_size))


def _unfinished(unit: Any, announcement_id: int) -> bool:
    """Whether an announcement still has pages to fan out (it stays scheduled till then)."""
    found = unit.delivery.get_announcement(announcement_id)
    return found is not None and found.state == "scheduled"


class _Run:
    """One dispatcher run: sends overlap the next claim; every outcome is settled once."""

    def __init__(
        self, deps: Deps, bot: telegram.Bot, engine: DeliveryEngine, stopping: Callable[[], bool]
    ) -> None:
        self.deps = deps
        self.bot = bot
        self.engine = engine
        self.stopping = stopping
        self.settings = deps.config.delivery
        self.report = DispatchReport()
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
                await self.engine.run_after_settle(self.deps, self.bot, False)
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
                self.engine,
                outcomes,
                self.pause,
                self.deps.clock(),
                batch_size,
                self.deps.config.zone,
            )
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
    """Fan out what is due at deps.clock(), expire what is useless, claim and send every due
    delivery (paced), settle. Tests call this to 'let the clock tick' (housekeeping is
    bot.housekeeping.run_housekeeping).

    `stopping()` turning true (the application is shutting down) ends the run early: no new
    claim, sends in flight are answered and settled, the rest of the claim goes back to
    `pending` - a graceful stop leaves nothing `unknown`.
    """
    engine = deps.engine
    if engine.lock.locked():
        # The running one goes round once more, so that what made this call is not missed.
        engine.again = True
        return DispatchReport(busy=True)
    settings = deps.config.delivery
    batch_size = max(
        1, min(settings.batch_size, math.ceil(settings.messages_per_second * CLAIM_SECONDS))
    )
    async with engine.lock:
        engine.pacer.rate = settings.messages_per_second
        run = _Run(deps, bot, engine, stopping)
        while True:
            # A wake-up while this run goes on (an announcement committed after its last
            # fan-out) is answered by one more round, never by a second run at once.
            engine.again = False
            report = await run.run(batch_size)
            if not engine.again or stopping():
                break
        await engine.run_after_settle(deps, bot, True)
        engine.last_run_at = deps.clock()
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
