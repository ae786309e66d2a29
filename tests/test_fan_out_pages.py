"""Fan-out in pages (issue 12): a large audience is many short units, resumable, one copy each."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot import dispatcher
from bot.config import Language
from bot.dispatcher import dispatch_once
from bot.services import delivery
from storage.unit import Unit
from tests.fakes import Call
from tests.harness import BotDriver, TgUser
from tests.sql import raw_sql
from tests.test_delivery import announce_to_team, config, deps_of, tick

__all__ = ["config"]  # the fast-pace fixture of test_delivery, reused

PAGE = 10
PL: Language = "pl"
MEMBERS: dict[int, Language] = dict.fromkeys(range(2001, 2036), "pl")


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    # 35 members in pages of 10 behave like 50,000 in pages of 1,000.
    monkeypatch.setattr(dispatcher, "FAN_OUT_ROWS", PAGE)


async def copies(bot: BotDriver, announcement_id: int) -> list[int]:
    rows = await deps_of(bot).db.run(lambda unit: unit.delivery.list_deliveries(announcement_id))
    return [row.chat_id for row in rows]


async def test_a_broadcast_goes_out_page_by_page_and_the_first_copy_leaves_before_the_last_page(
    bot: BotDriver,
) -> None:
    announcement = await announce_to_team(bot, MEMBERS)
    made_at_first_send: list[int] = []

    def seen(call: Call) -> None:
        if call.method == "sendMessage" and not made_at_first_send:
            conn = sqlite3.connect(deps_of(bot).config.database)
            made_at_first_send.append(
                conn.execute(
                    "SELECT count(*) FROM deliveries WHERE announcement_id = ?", (announcement,)
                ).fetchone()[0]
            )
            conn.close()

    bot.api.on_call = seen
    report = await tick(bot)
    assert report.sent == len(MEMBERS)
    assert sorted(call.params["chat_id"] for call in bot.api.sent("sendMessage")) == sorted(MEMBERS)
    # The first copy left after one page was committed, not after all 35 rows.
    assert made_at_first_send == [PAGE]
    found = await deps_of(bot).db.run(lambda unit: unit.delivery.get_announcement(announcement))
    assert found is not None
    assert found.state == "fanned_out"


async def test_a_fan_out_interrupted_half_way_resumes_after_its_cursor_with_one_copy_each(
    bot: BotDriver,
) -> None:
    announcement = await announce_to_team(bot, MEMBERS)
    engine = deps_of(bot).engine
    now = bot.clock()

    def page(unit: Unit) -> int:
        found = unit.delivery.get_announcement(announcement)
        assert found is not None
        return engine.fan_out(unit, found, now, limit=PAGE)

    class Crash(Exception):
        pass

    def page_then_crash(unit: Unit) -> None:
        page(unit)
        raise Crash  # the process died before this page's commit

    assert await deps_of(bot).db.run(page) == PAGE
    assert await deps_of(bot).db.run(page) == PAGE
    with pytest.raises(Crash):
        await deps_of(bot).db.run(page_then_crash)
    assert len(await copies(bot, announcement)) == 2 * PAGE

    # A page replayed from the start (the cursor lost) makes no second copy.
    def replay(conn: sqlite3.Connection) -> int:
        conn.execute("UPDATE announcements SET fanned_through = NULL WHERE id = ?", (announcement,))
        found = Unit(conn).delivery.get_announcement(announcement)
        assert found is not None
        return engine.fan_out(Unit(conn), found, now, limit=PAGE)

    assert await deps_of(bot).db.run(raw_sql(replay)) == 0

    report = await tick(bot)
    assert sorted(await copies(bot, announcement)) == sorted(MEMBERS)
    assert sorted(call.params["chat_id"] for call in bot.api.sent("sendMessage")) == sorted(MEMBERS)
    assert report.sent == len(MEMBERS)


async def test_a_member_is_answered_while_a_large_fan_out_runs(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.send(anna, "/start")
    announcement = await announce_to_team(bot, dict.fromkeys(range(3001, 3301), PL))
    bot.api.clear()
    running = asyncio.create_task(dispatch_once(deps_of(bot), bot.app.bot))
    await asyncio.sleep(0)
    answer = await bot.send(anna, "/meetings")
    state = await deps_of(bot).db.run(lambda unit: unit.delivery.get_announcement(announcement))
    assert [call for call in answer if call.chat_id == anna.id]
    # Answered between two pages of the fan-out, not after all 300 copies were made.
    assert not running.done()
    assert state is not None
    assert state.state == "scheduled"
    assert state.fanned_through is not None
    report = await running
    assert report.sent == 300


async def test_cancelling_half_way_through_a_fan_out_stops_the_copies_already_made(
    bot: BotDriver,
) -> None:
    announcement = await announce_to_team(bot, MEMBERS, subject="meeting:7")
    engine = deps_of(bot).engine
    now = bot.clock()

    def page(unit: Unit) -> int:
        found = unit.delivery.get_announcement(announcement)
        assert found is not None
        return engine.fan_out(unit, found, now, limit=PAGE)

    await deps_of(bot).db.run(page)
    cancelled = await deps_of(bot).db.run(
        lambda unit: delivery.cancel_pending(unit, subject="meeting:7", now=now)
    )
    assert cancelled == 1
    report = await tick(bot)
    assert report.sent == 0
    assert bot.api.sent("sendMessage") == []
    assert len(await copies(bot, announcement)) == PAGE
