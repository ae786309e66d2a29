"""What a failed send means for a notice's copy: one pure function over the exception.

- 429 -> `wait` exactly `retry_after` (the whole bot pauses; no attempt counted);
- 403 (blocked, deactivated) -> `blocked`, and the user becomes inactive;
- a group became a supergroup -> `migrated` to the new chat id (resent there once);
- 400 and other refusals -> `failed` with Telegram's reason;
- connect error, connect/pool timeout, 5xx -> `retry` with bounded backoff (surely not
  delivered), `failed` after `max_attempts`;
- read timeout, a connection lost mid-request, or anything that is not Telegram's answer ->
  `unknown`: it may have arrived, and a notice is never sent twice.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import httpx
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

# Transport failures after which the request surely did not reach Telegram.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

Action = Literal["wait", "blocked", "migrated", "failed", "retry", "unknown"]


@dataclass(frozen=True)
class Verdict:
    """What to do with a copy whose send raised: the action and the reason to store."""

    action: Action
    reason: str
    # `wait`: how long Telegram asked for; `migrated`: the group's new chat id.
    wait: timedelta | None = None
    new_chat_id: int | None = None
    # Not a Telegram answer at all: the caller logs it with its traceback.
    unexpected: bool = False


def classify(exc: Exception) -> Verdict:
    """Tell what the exception a send raised means for the copy (see the module docstring)."""
    if isinstance(exc, RetryAfter):
        return Verdict("wait", f"429: {exc.message}", wait=retry_after(exc))
    if isinstance(exc, Forbidden):
        return Verdict("blocked", f"403: {exc.message}")
    if isinstance(exc, ChatMigrated):
        return Verdict(
            "migrated", f"migrated to chat {exc.new_chat_id}", new_chat_id=exc.new_chat_id
        )
    # BadRequest is a NetworkError in PTB: it must be told apart first.
    if isinstance(exc, BadRequest):
        return Verdict("failed", f"400: {exc.message}")
    if isinstance(exc, NetworkError):
        if surely_not_sent(exc):
            return Verdict("retry", exc.message)
        return Verdict("unknown", f"ambiguous: {exc.message}")
    if isinstance(exc, TelegramError):
        return Verdict("failed", f"{type(exc).__name__}: {exc.message}")
    return Verdict("unknown", f"{type(exc).__name__}: {exc}", unexpected=True)


def retry_after(exc: RetryAfter) -> timedelta:
    """How long Telegram asked to wait."""
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


def causes(exc: BaseException) -> list[BaseException]:
    """The exceptions behind `exc` (its causes and contexts), nearest first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc.__cause__ or exc.__context__
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def surely_not_sent(exc: NetworkError) -> bool:
    """Tell a failure before the request left (retry) from one after (ambiguous)."""
    behind = causes(exc)
    if any(isinstance(cause, _NOT_SENT) for cause in behind):
        return True
    if isinstance(exc, TimedOut):
        return False  # a read or write timeout: Telegram may have got it (PTB #1045)
    # Nothing but Telegram's own answer behind it (a 5xx status, an unparsable body): the
    # server refused the call. Anything else broke mid-request: it may have arrived.
    return all(isinstance(cause, TelegramError) for cause in behind)
