"""Flood limit: one user sending too much is asked once to slow down; others are unaffected."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from typing import Any

import pytest
from telegram import Update

from bot.flood import FloodLimiter, Verdict
from bot.i18n import Texts
from bot.updates import PerUserUpdateProcessor
from tests.fake_api_server import callback_update, text_update
from tests.fakes import Call
from tests.harness import BotDriver, texts_of

LIMIT = 20  # the default of config.example.toml
# Far above the harness's own counter, so the two never give one id twice.
_update_ids = itertools.count(10_000_000)


@dataclass
class Ticks:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def verdicts(limiter: FloodLimiter, user_id: int, count: int) -> list[Verdict]:
    return [limiter.check(user_id) for _ in range(count)]


def test_over_the_limit_one_warning_then_drops() -> None:
    ticks = Ticks()
    limiter = FloodLimiter(3, 10, clock=ticks)
    assert verdicts(limiter, 1, 6) == [Verdict.ALLOW] * 3 + [Verdict.WARN] + [Verdict.DROP] * 2
    # Another user has a window of their own.
    assert verdicts(limiter, 2, 3) == [Verdict.ALLOW] * 3


def test_the_window_slides_and_a_steady_flood_is_warned_once() -> None:
    ticks = Ticks()
    limiter = FloodLimiter(3, 10, clock=ticks)
    for _ in range(3):
        assert limiter.check(1) is Verdict.ALLOW
        ticks.now += 1
    assert limiter.check(1) is Verdict.WARN
    # The oldest update leaves the window: one more is handled, the next dropped, no warning.
    ticks.now = 1000.0 + 10.0
    assert verdicts(limiter, 1, 3) == [Verdict.ALLOW, Verdict.DROP, Verdict.DROP]
    ticks.now += 1
    assert verdicts(limiter, 1, 2) == [Verdict.ALLOW, Verdict.DROP]
    # Quiet for a whole window: a new flood is a new episode with its own warning.
    ticks.now += 60
    assert verdicts(limiter, 1, 5) == [Verdict.ALLOW] * 3 + [Verdict.WARN, Verdict.DROP]


def test_quiet_users_are_forgotten() -> None:
    ticks = Ticks()
    limiter = FloodLimiter(3, 10, clock=ticks)
    for user_id in range(500):
        limiter.check(user_id)
    ticks.now += 11
    for _ in range(1000):
        limiter.check(9999)
    assert len(limiter) == 1


def test_a_limit_needs_positive_values() -> None:
    with pytest.raises(ValueError, match="positive"):
        FloodLimiter(0, 10)


def pinned(bot: BotDriver) -> Ticks:
    processor = bot.app.update_processor
    assert isinstance(processor, PerUserUpdateProcessor)
    limiter = processor.flood
    assert isinstance(limiter, FloodLimiter)
    assert (limiter.limit, limiter.seconds) == (LIMIT, 10.0)
    ticks = Ticks()
    limiter.clock = ticks
    return ticks


async def feed(bot: BotDriver, data: dict[str, Any]) -> list[Call]:
    """Process one update the way polling does: through the update processor."""
    before = len(bot.api.calls)
    update = Update.de_json({"update_id": next(_update_ids), **data}, bot.app.bot)
    await bot.app.update_processor.process_update(update, bot.app.process_update(update))
    return bot.api.calls[before:]


async def test_a_flooding_user_is_asked_once_and_another_user_is_served(bot: BotDriver) -> None:
    texts = Texts()
    ticks = pinned(bot)
    greeting_pl = texts.get("pl", "start.greeting")
    slow_down_pl = texts.get("pl", "operations.slow-down")

    for _ in range(LIMIT):
        assert greeting_pl in texts_of(await feed(bot, text_update(1001, "/start")))
    warned = await feed(bot, text_update(1001, "/start"))
    assert [(c.method, c.chat_id, c.text) for c in warned] == [("sendMessage", 1001, slow_down_pl)]
    for _ in range(30):
        assert await feed(bot, text_update(1001, "/start")) == []
    assert await feed(bot, callback_update(1001, "consent:yes")) == []

    # Meanwhile another user is answered as usual, in their language.
    john = await feed(bot, text_update(1002, "/start", language_code="en", first_name="John"))
    assert texts.get("en", "start.greeting") in texts_of(john)

    # Once the window has cleared, the first user is served again.
    ticks.now += 10.5
    assert greeting_pl in texts_of(await feed(bot, text_update(1001, "/start")))


async def test_a_button_flood_is_answered_on_the_button(bot: BotDriver) -> None:
    pinned(bot)
    for _ in range(LIMIT):
        await feed(bot, callback_update(1002, "no-such-feature", language_code="en"))
    calls = await feed(bot, callback_update(1002, "no-such-feature", language_code="en"))
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert calls[0].params["text"] == Texts().get("en", "operations.slow-down")


async def test_a_flood_does_not_slow_another_user_on_the_production_path(bot: BotDriver) -> None:
    """Updates go through the update queue and the per-user processor, as when polling."""
    app = bot.app
    await app.start()
    try:
        for _ in range(500):
            anna = {"update_id": next(_update_ids), **text_update(1001, "/start")}
            await app.update_queue.put(Update.de_json(anna, app.bot))
        asked = time.monotonic()
        john = {
            "update_id": next(_update_ids),
            **text_update(1002, "/start", language_code="en", first_name="John"),
        }
        await app.update_queue.put(Update.de_json(john, app.bot))
        async with asyncio.timeout(10):
            while not any(c.chat_id == 1002 for c in bot.api.calls):  # noqa: ASYNC110
                await asyncio.sleep(0.005)
        waited = time.monotonic() - asked
        async with asyncio.timeout(10):
            while app.update_queue.qsize() or app.update_processor.current_concurrent_updates:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    finally:
        await app.stop()
    to_anna = [c for c in bot.api.calls if c.method == "sendMessage" and c.chat_id == 1001]
    slow_down = Texts().get("pl", "operations.slow-down")
    assert [c.text for c in to_anna].count(slow_down) == 1
    assert len(to_anna) == LIMIT + 1  # 500 updates, 20 handled, one warning
    # Generous for a busy CI machine; without the limit John waits behind Anna's 500.
    assert waited < 2.0
