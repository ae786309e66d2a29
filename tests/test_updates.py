"""Update processing: users at once, each user's updates in order, no user blocking others."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.app import build_application
from bot.config import Config
from bot.updates import PerUserUpdateProcessor, update_key
from tests.conftest import TEST_TOKEN
from tests.fakes import FakeBotApi

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]
BareApp = Application[Any, Any, Any, Any, Any, Any]
_ids = itertools.count(1)
TIMEOUT = 5.0


def message(user_id: int, text: str, app: BareApp) -> Update:
    data: dict[str, Any] = {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": 1_700_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "U"},
            "from": {"id": user_id, "is_bot": False, "first_name": "U"},
            "text": text,
        },
    }
    return Update.de_json(data, app.bot)


@asynccontextmanager
async def running(handler: Handler, max_concurrent: int) -> AsyncIterator[BareApp]:
    """A real PTB Application fed the production way: update_queue -> update fetcher."""
    api = FakeBotApi()
    app = (
        ApplicationBuilder()
        .token(TEST_TOKEN)
        .request(api)
        .get_updates_request(api)
        .concurrent_updates(PerUserUpdateProcessor(max_concurrent))
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, handler))
    await app.initialize()
    await app.start()
    try:
        yield app
    finally:
        await app.stop()
        await app.shutdown()


async def until(predicate: Callable[[], bool]) -> None:
    """Wait for a condition on what the handlers recorded (polled: they run in PTB's tasks)."""
    async with asyncio.timeout(TIMEOUT):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.001)


async def test_one_users_updates_keep_order_while_another_user_is_served() -> None:
    log: list[str] = []
    b_was_served = asyncio.Event()

    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        text = update.message.text
        log.append(f"start {text}")
        if text == "a1":
            # Only user B's update can set this: it must run while A's first one waits.
            async with asyncio.timeout(TIMEOUT):
                await b_was_served.wait()
        if text == "b1":
            b_was_served.set()
        log.append(f"end {text}")

    async with running(handle, max_concurrent=8) as app:
        for user_id, text in [(1, "a1"), (1, "a2"), (1, "a3"), (2, "b1")]:
            await app.update_queue.put(message(user_id, text, app))
        await until(lambda: log.count("end a3") == 1)

    assert log == [
        "start a1",
        "start b1",
        "end b1",
        "end a1",
        "start a2",
        "end a2",
        "start a3",
        "end a3",
    ]


async def test_many_users_interleaved_each_in_order() -> None:
    seen: dict[int, list[int]] = {}
    in_flight = 0
    most_in_flight = 0
    rng = random.Random(7)

    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        nonlocal in_flight, most_in_flight
        assert update.message is not None
        assert update.effective_user is not None
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        await asyncio.sleep(rng.random() / 500)
        seen.setdefault(update.effective_user.id, []).append(int(update.message.text or ""))
        in_flight -= 1

    users, per_user = 20, 15
    async with running(handle, max_concurrent=8) as app:
        for n in range(per_user):
            for user_id in range(1, users + 1):
                await app.update_queue.put(message(user_id, str(n), app))
        await until(lambda: sum(map(len, seen.values())) == users * per_user)

    assert seen == {user_id: list(range(per_user)) for user_id in range(1, users + 1)}
    assert 1 < most_in_flight <= 8


async def test_a_flooding_user_does_not_block_the_others() -> None:
    release = asyncio.Event()
    done: list[str] = []

    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        text = update.message.text or ""
        if text.startswith("flood"):
            async with asyncio.timeout(TIMEOUT):
                await release.wait()
        else:
            release.set()
        done.append(text)

    # More queued updates from one user than there are slots: they must wait for their
    # own user's turn without taking the slots another user needs.
    async with running(handle, max_concurrent=4) as app:
        for n in range(10):
            await app.update_queue.put(message(1, f"flood {n}", app))
        await app.update_queue.put(message(2, "other", app))
        await until(lambda: len(done) == 11)

    assert done[0] == "other"
    assert done[1:] == [f"flood {n}" for n in range(10)]


async def test_the_concurrency_limit_still_holds() -> None:
    release = asyncio.Event()
    started: list[int] = []

    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_user is not None
        started.append(update.effective_user.id)
        await release.wait()

    async with running(handle, max_concurrent=4) as app:
        processor = app.update_processor
        assert processor.max_concurrent_updates == 4
        for user_id in range(1, 11):
            await app.update_queue.put(message(user_id, "hi", app))
        await until(lambda: len(started) == 4)
        await asyncio.sleep(0.05)  # give the other six every chance to start wrongly
        assert len(started) == 4
        assert processor.current_concurrent_updates == 4
        release.set()
        await until(lambda: len(started) == 10)
        await app.update_queue.join()
        assert processor.current_concurrent_updates == 0


async def test_a_users_queued_updates_run_on_the_slot_they_already_hold() -> None:
    release_a1 = asyncio.Event()
    release_c1 = asyncio.Event()
    done: list[str] = []

    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        text = update.message.text or ""
        async with asyncio.timeout(TIMEOUT):
            if text == "a1":
                await release_a1.wait()
            if text == "c1":
                await release_c1.wait()
        done.append(text)

    # Two slots, taken by A and C; B waits for one while A's next updates wait for A's first
    # one. A's updates then run back to back on A's slot (never two at once), then B's.
    async with running(handle, max_concurrent=2) as app:
        for user_id, text in [(3, "c1"), (1, "a1"), (2, "b1"), (1, "a2"), (1, "a3")]:
            await app.update_queue.put(message(user_id, text, app))
        await asyncio.sleep(0.05)
        assert done == []
        release_a1.set()
        await until(lambda: len(done) == 4)
        assert done == ["a1", "a2", "a3", "b1"]
        release_c1.set()
        await app.update_queue.join()
        assert app.update_processor.current_concurrent_updates == 0

    assert done == ["a1", "a2", "a3", "b1", "c1"]


async def test_a_slot_handed_to_a_cancelled_update_is_given_back() -> None:
    processor = PerUserUpdateProcessor(1)
    app = ApplicationBuilder().token(TEST_TOKEN).request(FakeBotApi()).build()
    ran: list[str] = []
    waiting: list[asyncio.Task[None]] = []

    async def first() -> None:
        # Cancel the user's next update after this one hands it the slot, before it runs.
        asyncio.get_running_loop().call_soon(waiting[0].cancel)
        ran.append("a1")

    async def record(name: str) -> None:
        ran.append(name)

    release = asyncio.Event()

    async def blocked_first() -> None:
        await release.wait()
        await first()

    a1 = asyncio.create_task(processor.do_process_update(message(1, "a1", app), blocked_first()))
    await asyncio.sleep(0)
    a2 = asyncio.create_task(processor.do_process_update(message(1, "a2", app), record("a2")))
    other = asyncio.create_task(processor.do_process_update(message(2, "b1", app), record("b1")))
    waiting.append(a2)
    await asyncio.sleep(0.01)
    assert ran == []
    release.set()
    async with asyncio.timeout(TIMEOUT):
        await a1
        await other  # hangs if the slot handed on to the cancelled a2 were lost
    assert a2.cancelled()
    assert ran == ["a1", "b1"]
    assert processor.current_concurrent_updates == 0


def test_update_key_prefers_the_user_then_the_chat() -> None:
    bot_app = ApplicationBuilder().token(TEST_TOKEN).request(FakeBotApi()).build()
    assert update_key(message(5, "x", bot_app)) == 5
    channel_post = Update.de_json(
        {
            "update_id": next(_ids),
            "channel_post": {
                "message_id": 1,
                "date": 1_700_000_000,
                "chat": {"id": -100123, "type": "channel", "title": "C"},
                "text": "x",
            },
        },
        bot_app.bot,
    )
    assert update_key(channel_post) == -100123
    assert update_key(object()) is None


def test_the_bot_uses_the_per_user_processor(config: Config) -> None:
    app = build_application(config, request=FakeBotApi())
    assert isinstance(app.update_processor, PerUserUpdateProcessor)
    assert app.update_processor.max_concurrent_updates == config.max_concurrent_updates
