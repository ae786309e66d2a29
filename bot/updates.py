"""Update processing: different users at once, each user's updates in order, floods dropped."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.flood import FloodLimiter, Verdict

log = logging.getLogger(__name__)

# PTB's own semaphore must never be the limit (see PerUserUpdateProcessor.__init__).
_UNBOUNDED = 2**31 - 1


def update_key(update: object) -> int | None:
    """The user (or, failing that, the chat) whose updates must not overlap."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


def flood_key(update: object) -> int | None:
    """The user an update counts against for the flood limit (None: never limited)."""
    if not isinstance(update, Update) or update.effective_user is None:
        return None
    # Membership changes (blocked, restarted) come from Telegram, not from typing.
    if update.my_chat_member is not None or update.chat_member is not None:
        return None
    return update.effective_user.id


def _discard(coroutine: Awaitable[Any]) -> None:
    """Drop the handling of an update that is never run (no 'never awaited' warning)."""
    if inspect.iscoroutine(coroutine):
        coroutine.close()


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across users, sequential per user, with a per-user flood limit.

    Conversations and toggles of one user keep their order (no race on the same state),
    while a slow or busy user does not hold up the others. A flood is cut here, before the
    user's lock and before any handler or database work: a dropped update costs next to
    nothing, and the first one over the limit goes to `on_flood` (which asks to slow down).

    A user's updates that queued up run back to back on the slot the first one took, instead
    of each queueing again for a slot: one user still holds at most one slot, and the flood
    limit bounds how long (others may wait for up to that many of this user's updates).
    """

    def __init__(self, max_concurrent_updates: int, flood: FloodLimiter | None = None) -> None:
        # PTB takes its semaphore before do_process_update, so a user's queued updates would
        # hold slots while waiting for that user's lock: a flood from one user would leave none
        # for the others. PTB's is therefore unbounded and the limit is applied below, after
        # the per-user lock; the waiting updates are tasks PTB has created either way.
        # (PTB sizes its semaphore from the max_concurrent_updates property, overridden below.)
        self._limit = _UNBOUNDED
        super().__init__(_UNBOUNDED)
        if max_concurrent_updates < 1:
            raise ValueError("max_concurrent_updates must be a positive integer")
        self._limit = max_concurrent_updates
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._running = 0
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}
        # Users whose finished update handed its slot on to their next one (see _run).
        self._handed_on: set[int] = set()
        self.flood = flood
        self.on_flood: Callable[[Update], Awaitable[None]] | None = None

    @property
    def max_concurrent_updates(self) -> int:
        """The most updates handled at once (of different users)."""
        return self._limit

    @property
    def current_concurrent_updates(self) -> int:
        """How many updates are being handled right now."""
        return self._running

    async def _run(self, coroutine: Awaitable[Any], key: int | None = None) -> None:
        # A slot handed on by this user's previous update is taken without waiting: a user's
        # queued updates then run back to back, each parked once (on the user's lock) instead
        # of twice, and the user still never holds more than one slot.
        if key in self._handed_on:
            self._handed_on.remove(key)
        else:
            await self._slots.acquire()
        self._running += 1
        try:
            await coroutine
        finally:
            self._running -= 1
            if key is not None and self._locks[key][1] > 1:
                self._handed_on.add(key)  # another update of this user waits for the lock
            else:
                self._slots.release()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        verdict = self._flood_verdict(update)
        if verdict is not Verdict.ALLOW:
            _discard(coroutine)
            if verdict is Verdict.WARN and self.on_flood is not None and isinstance(update, Update):
                coroutine = self.on_flood(update)
            else:
                return
        key = update_key(update)
        if key is None:
            await self._run(coroutine)
            return
        held = self._locks.get(key)
        lock, users = held if held is not None else (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                await self._run(coroutine, key)
        except asyncio.CancelledError:
            # Cancelled while waiting for its turn (shutdown): the handling never started.
            if inspect.iscoroutine(coroutine) and inspect.getcoroutinestate(coroutine) == (
                inspect.CORO_CREATED
            ):
                coroutine.close()
            raise
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
                if key in self._handed_on:
                    # The update the slot was handed on to was cancelled before it ran.
                    self._handed_on.remove(key)
                    self._slots.release()
            else:
                self._locks[key] = (lock, users - 1)

    def _flood_verdict(self, update: object) -> Verdict:
        key = flood_key(update)
        if self.flood is None or key is None:
            return Verdict.ALLOW
        verdict = self.flood.check(key)
        if verdict is Verdict.WARN:
            # No user id: logs are kept longer than a flood matters (data minimisation).
            log.warning("A user exceeded the flood limit; their updates are dropped for now")
        return verdict

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
