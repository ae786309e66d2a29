"""What a failed send means for a notice's copy: bot.verdicts.classify, one case per answer."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.verdicts import classify


def caused_by(exc: Exception, cause: BaseException) -> Exception:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("exc", "action", "reason"),
    [
        (Forbidden("bot was blocked by the user"), "blocked", "403: bot was blocked"),
        (BadRequest("chat not found"), "failed", "400: chat not found"),
        (TelegramError("odd"), "failed", "TelegramError: odd"),
        # The request never left: safe to try again.
        (caused_by(NetworkError("down"), httpx.ConnectError("refused")), "retry", "down"),
        (caused_by(TimedOut("pool"), httpx.PoolTimeout("pool")), "retry", "pool"),
        # Telegram's own 5xx answer: it refused the call.
        (NetworkError("Bad Gateway"), "retry", "Bad Gateway"),
        # It may have arrived (PTB #1045): never sent twice.
        (caused_by(TimedOut("read"), httpx.ReadTimeout("read")), "unknown", "ambiguous: "),
        (
            caused_by(NetworkError("lost"), httpx.RemoteProtocolError("closed")),
            "unknown",
            "ambiguous: lost",
        ),
        (ValueError("bug"), "unknown", "ValueError: bug"),
    ],
)
def test_each_answer_has_one_meaning(exc: Exception, action: str, reason: str) -> None:
    verdict = classify(exc)
    assert verdict.action == action
    assert verdict.reason.startswith(reason)
    assert verdict.unexpected == isinstance(exc, ValueError)


def test_429_waits_exactly_retry_after_and_a_migrated_group_names_its_new_chat() -> None:
    wait = classify(RetryAfter(timedelta(seconds=7)))
    assert (wait.action, wait.wait) == ("wait", timedelta(seconds=7))
    moved = classify(ChatMigrated(-1001234))
    assert (moved.action, moved.new_chat_id) == ("migrated", -1001234)
