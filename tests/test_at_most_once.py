"""Each update is handled at most once, even when Telegram delivers it again after a restart."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config
from bot.housekeeping import run_housekeeping
from bot.i18n import Texts
from bot.services.updates import KEEP_IDS
from tests.conftest import start_driver, stop_driver
from tests.fake_api_server import BotProcess, FakeApiServer, callback_update, text_update
from tests.harness import BotDriver, Clock, texts_of


def start(user_id: int, update_id: int) -> dict[str, Any]:
    return {"update_id": update_id, **text_update(user_id, "/start", language_code="pl")}


async def remembered(bot: BotDriver) -> int:
    count: int = await bot.app.bot_data["deps"].db.run(
        lambda unit: unit.updates.count_processed_updates()
    )
    return count


async def test_the_same_update_twice_across_a_restart_is_handled_once(
    config: Config, clock: Clock
) -> None:
    greeting = Texts().get("pl", "start.greeting")
    first = await start_driver(config, clock)
    try:
        calls = await first.feed(start(1001, 5_000_001))
        assert greeting in texts_of(calls)
    finally:
        await stop_driver(first)

    # A crash before the polling offset was confirmed: Telegram sends the update again.
    second = await start_driver(config, clock)
    try:
        assert await second.feed(start(1001, 5_000_001)) == []
        # Anything new is handled as usual.
        assert greeting in texts_of(await second.feed(start(1001, 5_000_002)))
    finally:
        await stop_driver(second)


async def test_a_repeated_button_press_changes_nothing(bot: BotDriver) -> None:
    await bot.feed(start(1001, 6_000_001))
    consent = {"update_id": 6_000_002, **callback_update(1001, "consent:yes")}
    assert await bot.feed(consent) != []
    db = bot.app.bot_data["deps"].db
    user = await db.run(lambda unit: unit.users.get_user(1001))
    assert user is not None
    assert user.consent_at is not None

    assert await bot.feed(consent) == []
    assert await db.run(lambda unit: unit.users.get_user(1001)) == user


async def test_updates_without_a_user_are_recorded_too(bot: BotDriver) -> None:
    post = {
        "update_id": 7_000_001,
        "channel_post": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": -100123, "type": "channel", "title": "News"},
            "text": "hello",
        },
    }
    await bot.feed(post)
    assert await remembered(bot) == 1
    await bot.feed(post)
    assert await remembered(bot) == 1


async def test_old_ids_are_forgotten_by_the_daily_retention_run(bot: BotDriver) -> None:
    deps = bot.app.bot_data["deps"]
    await run_housekeeping(deps)  # today's retention run, before any update
    await bot.feed(start(1001, 8_000_001))
    await bot.feed(start(1002, 8_000_002))
    assert await remembered(bot) == 2

    # Handling updates never deletes ids: that is the retention run's job.
    bot.clock.advance(seconds=KEEP_IDS.total_seconds() + 1)
    await bot.feed(start(1003, 8_000_003))
    assert await remembered(bot) == 3

    # The next daily run forgets ids older than KEEP_IDS and keeps the newer one.
    await run_housekeeping(deps)
    assert await remembered(bot) == 1
    # A forgotten id is older than anything Telegram still redelivers; a kept one is skipped.
    assert await bot.feed(start(1003, 8_000_003)) == []


def test_telegram_keeps_updates_shorter_than_the_ids_are_kept() -> None:
    assert timedelta(hours=24) < KEEP_IDS


PROCESS_TOKEN = "626262:AT-MOST-ONCE-sentinel-Vb5nQ2"


@pytest.mark.process
def test_after_kill_9_telegram_resends_the_unconfirmed_update_and_it_is_skipped(
    tmp_path: Path,
) -> None:
    with FakeApiServer(token=PROCESS_TOKEN) as server:
        # Every poll that would confirm an update fails: the update stays unconfirmed, as
        # when the bot dies between handling an update and its next getUpdates.
        server.fault(
            "getUpdates", status=502, times=None, match=lambda p: int(p.get("offset") or 0) > 0
        )
        process = BotProcess(server, tmp_path, token=PROCESS_TOKEN)
        try:
            process.start().wait_polling()
            server.enqueue_update(text_update(1001, "/start"))
            server.wait_for_call("sendMessage", lambda c: c.chat_id == 1001)
            assert process.kill() != 0
            assert len(server.pending_updates()) == 1  # Telegram will send it again

            server.clear_faults("getUpdates")
            restarted = time.monotonic()
            process.start().wait_polling()
            # The restarted bot takes the same update again, skips it and confirms it.
            server.wait_for(lambda: not server.pending_updates() or None, timeout=20)
            server.enqueue_update(text_update(1002, "/start", language_code="en"))
            server.wait_for_call("sendMessage", lambda c: c.chat_id == 1002, timeout=20)
            assert server.sent_by_chat() == {1001: 1, 1002: 1}
            assert time.monotonic() - restarted < 20
            assert process.stop() == 0
            assert "was taken before a restart; skipped" in process.output()[1]
        finally:
            process.close()
    assert server.errors == []
