"""Housekeeping jobs beside the delivery engine: retention, idle conversation expiry, digests.

Each is its own JobQueue job with its own interval (registered by bot.app), logs what it did
and wakes the engine when it queued notices. A job that overruns its time budget is logged
and let go: the unit it started still commits or rolls back whole (Database.run), and the
next run starts afresh. Tests run them all with `run_housekeeping`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.config import LANGUAGES
from bot.deps import Deps
from bot.i18n import Texts
from bot.services import conversations, delivery, postulates_drafts
from bot.services import postulates as postulates_service
from bot.services import publication as publication_service
from bot.services import retention as retention_service
from bot.services import settings as settings_service
from storage.unit import Unit

log = logging.getLogger(__name__)


async def retention(deps: Deps) -> int:
    """Erase long-inactive members and old rows, at most once a day; return how many went."""
    outcome = await retention_service.retain_if_due(deps.db, deps.config, deps.clock())
    if outcome is None or not outcome.ran:
        return 0
    log.info(
        "Retention: %d member(s) erased, %d delivery row(s) pruned, %d update id(s) forgotten",
        outcome.purged,
        outcome.pruned,
        outcome.updates_forgotten,
    )
    # Copies of erased members expired: nothing to send, so no wake-up.
    return outcome.purged + outcome.pruned + outcome.updates_forgotten


def _expire_conversations(unit: Unit, texts: Texts, now: datetime) -> int:
    # Their last prompts' buttons go too, outside this transaction (handlers/prompts.py).
    expired = conversations.expire(unit, now)
    for conversation in expired:
        messages = {
            language: delivery.OutgoingMessage(text=texts.get(language, conversation.expired_key))
            for language in LANGUAGES
        }
        delivery.announce(
            unit,
            kind="conversation-expired",
            audience="user",
            audience_id=conversation.user_id,
            messages=messages,
            now=now,
            subject=f"conversation:{conversation.flow}:{conversation.user_id}",
        )
    return len(expired)


async def expire_drafts(deps: Deps) -> int:
    """Drop conversations and postulate drafts left idle too long; tell their users at once."""
    now = deps.clock()
    # Every flow's timeout ends the same way: the state goes, the user is told (handlers/flow).
    ended = await deps.db.run(_expire_conversations, deps.texts, now)
    expired = await postulates_drafts.expire_idle_drafts(
        deps.db, deps.config.postulates.draft_idle_hours, now
    )
    if ended or expired:
        log.info(
            "Drafts: %d idle conversation(s) and %d postulate draft(s) expired, users told",
            ended,
            expired,
        )
        deps.engine.wake()
    return ended + expired


async def queue_digests(deps: Deps) -> int:
    """Queue today's digests once their hour has come; they go out at once."""
    notifications = settings_service.Notifications(
        zone=deps.config.zone,
        digest_hour=deps.config.notifications.digest_hour,
    )
    queued = await deps.db.run(settings_service.queue_digests, deps.clock(), notifications)
    if queued:
        log.info("Digests: %d queued", queued)
        deps.engine.wake()
    return queued


async def ask_publication(deps: Deps) -> int:
    """Ask the authors of postulates submitted before the public site whether to publish."""
    asked = await publication_service.ask_pending(deps.db, deps.clock())
    if asked:
        log.info("Publication: %d postulate author(s) asked", asked)
        deps.engine.wake()
    return asked


async def checkpoint(deps: Deps) -> int:
    """Copy the write-ahead log into the database file beside the writer; return the frames."""
    moved = await deps.db.checkpoint()
    # Busy (a reader's snapshot still needs old frames) is normal: the next run goes on.
    return moved.checkpointed


async def common_words(deps: Deps) -> int:
    """Refresh the words the similar-postulate search leaves out; return how many."""
    return await postulates_service.refresh_common_words(deps.db)


@dataclass(frozen=True)
class Chore:
    """One housekeeping job: its name, how often it runs, its time budget, what it does."""

    name: str
    every_seconds: float
    budget_seconds: float
    run: Callable[[Deps], Awaitable[int]]


# Retention decides itself whether a day has passed; hourly checks keep that close to the day.
CHORES = (
    Chore("retention", every_seconds=3600, budget_seconds=60, run=retention),
    Chore("draft-expiry", every_seconds=60, budget_seconds=10, run=expire_drafts),
    Chore("digests", every_seconds=60, budget_seconds=10, run=queue_digests),
    Chore("publication", every_seconds=60, budget_seconds=10, run=ask_publication),
    # Which words are common changes slowly; at start (first=0), then hourly.
    Chore("common-words", every_seconds=3600, budget_seconds=60, run=common_words),
    # The writer never checkpoints (storage.database); often enough that the log stays small.
    Chore("wal-checkpoint", every_seconds=10, budget_seconds=10, run=checkpoint),
)


async def run_chore(deps: Deps, chore: Chore) -> int:
    """Run one chore within its budget; errors and overruns are logged, never raised."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(chore.budget_seconds):
            return await chore.run(deps)
    except TimeoutError:
        log.warning("Housekeeping %s overran its %ss budget", chore.name, chore.budget_seconds)
    except Exception:
        log.exception("Housekeeping %s failed", chore.name)
    finally:
        took = time.monotonic() - started
        if took > chore.budget_seconds / 2:
            log.warning("Housekeeping %s took %.1f s", chore.name, took)
    return 0


async def run_housekeeping(deps: Deps) -> None:
    """Run every chore once, in order (tests: what the jobs would have done by now)."""
    for chore in CHORES:
        await run_chore(deps, chore)
