"""Flood limit: at most N updates from one user in a sliding window; the rest are dropped.

This is about load, not data, so it lives in memory: a restart forgets it, which is harmless.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable

# Forget users who were quiet for a window, at most this often (keeps the dict small).
_SWEEP_EVERY = 1000


class Verdict(enum.Enum):
    """What to do with one update."""

    ALLOW = "allow"
    # The first update over the limit: tell the user (once) to slow down, handle nothing.
    WARN = "warn"
    DROP = "drop"


class FloodLimiter:
    """Per-user sliding window of the updates handled (dropped ones do not count).

    A user over the limit is warned once; the warning is given again only after the user
    has been quiet for a whole window, so a steady flood gets one message, not one per window.
    """

    def __init__(
        self, limit: int, seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or seconds <= 0:
            raise ValueError("the flood limit needs a positive count and window")
        self.limit = limit
        self.seconds = seconds
        self.clock = clock
        self._handled: dict[int, deque[float]] = {}
        self._warned: set[int] = set()
        self._calls = 0

    def check(self, user_id: int) -> Verdict:
        """Count one update of `user_id` and say whether to handle it."""
        now = self.clock()
        self._calls += 1
        if self._calls % _SWEEP_EVERY == 0:
            self._sweep(now)
        handled = self._handled.get(user_id)
        if handled is None:
            handled = self._handled[user_id] = deque()
        horizon = now - self.seconds
        while handled and handled[0] <= horizon:
            handled.popleft()
        if not handled:
            self._warned.discard(user_id)  # quiet for a whole window: a new episode
        if len(handled) < self.limit:
            handled.append(now)
            return Verdict.ALLOW
        if user_id in self._warned:
            return Verdict.DROP
        self._warned.add(user_id)
        return Verdict.WARN

    def _sweep(self, now: float) -> None:
        horizon = now - self.seconds
        for user_id in [
            u for u, times in self._handled.items() if not times or times[-1] <= horizon
        ]:
            del self._handled[user_id]
            self._warned.discard(user_id)

    def __len__(self) -> int:
        """How many users are tracked."""
        return len(self._handled)
