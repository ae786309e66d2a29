"""What an ordinary update costs the single writer: its transactions (issue 12, bench/updates.py).

Every transaction is a hop to the writer's thread that all queued updates wait behind; the
common updates (a /meetings, a sector toggle) must not pay for features they do not use.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from bot.guarded import GuardedBot
from handlers.views.drawn import DrawnKeyboard
from storage import database
from storage.database import Database
from tests import query_plans
from tests.fakes import FakeBotApi
from tests.harness import BotDriver, Clock, TgUser
from tests.meeting_factory import add_meeting, db_of
from tests.sql import raw_sql


@contextlib.asynccontextmanager
async def writer_transactions(db: Database) -> AsyncIterator[list[str]]:
    """The writer's transactions (BEGIN IMMEDIATE) while the block runs."""
    begun: list[str] = []
    counting = [True]

    def trace(statement: str) -> None:
        if counting[0] and statement.startswith("BEGIN IMMEDIATE"):
            begun.append(statement)
        query_plans._remember(statement)

    def install(conn: sqlite3.Connection, callback: object) -> None:
        conn.set_trace_callback(callback)  # type: ignore[arg-type]

    await db.run(raw_sql(install), trace)
    try:
        yield begun
    finally:
        counting[0] = False
        # Back to the suite's query-plan recorder alone.
        await db.run(raw_sql(install), query_plans._remember)


async def test_meetings_without_a_draft_is_one_admission_and_one_read(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna, sectors=["culture"])
    db = db_of(bot)
    async with writer_transactions(db) as begun:
        calls = await bot.send(anna, "/meetings")
    assert [c.method for c in calls] == ["sendMessage"]
    # The admission (at most once, the actor) and the page: no separate draft lookup.
    assert len(begun) == 2


async def test_an_open_database_lets_the_writer_have_the_gil_back_soon(tmp_path: Path) -> None:
    # A reader rendering an export in Python must not hold each writer statement for
    # CPython's default 5 ms (bench/scale.py: a member's update waited 100-190 ms).
    db = await Database.open(tmp_path / "gil.sqlite3")
    try:
        assert sys.getswitchinterval() <= database.GIL_SWITCH_SECONDS < 0.005
    finally:
        await db.close()


async def test_meetings_asked_again_costs_the_admission_alone(bot: BotDriver, anna: TgUser) -> None:
    # Nothing on the page changed: the kept page is sent without a transaction of its own.
    await bot.onboard(anna, sectors=["culture"])
    await add_meeting(bot, title="Próba", starts_in=timedelta(days=1))
    [first] = await bot.send(anna, "/meetings")
    db = db_of(bot)
    async with writer_transactions(db) as begun:
        [again] = await bot.send(anna, "/meetings")
    assert len(begun) == 1
    assert again.text == first.text
    assert "<b>Próba</b>" in again.text


async def test_meetings_shows_every_change_at_once(
    bot: BotDriver, anna: TgUser, john: TgUser, clock: Clock
) -> None:
    await bot.onboard(anna, sectors=["culture"])
    await bot.onboard(john, sectors=["culture"])
    soon = await add_meeting(bot, title="Próba", starts_in=timedelta(hours=2))
    await add_meeting(bot, team="health", title="Szczepienia", starts_in=timedelta(days=2))

    async def page() -> str:
        [listing] = await bot.send(anna, "/meetings")
        return listing.text

    before = await page()
    assert "<b>Próba</b>" in before
    assert "Szczepienia" not in before

    # A subscription of mine.
    await bot.send(anna, "/start sector-health")
    assert "<b>Szczepienia</b>" in await page()
    await bot.send(anna, "/sectors")
    await bot.press(anna, "Zdrowie", exact=False)
    assert "Szczepienia" not in await page()

    # My answer.
    await bot.send(anna, f"/meeting {soon}")
    await bot.press(anna, "✅ Biorę udział")
    assert "Twoja odpowiedź: <b>biorę udział</b>" in await page()

    # Another member's answer changes nothing of mine, but must not hide mine either.
    await bot.send(john, f"/meeting {soon}")
    await bot.press(john, "🤔 Maybe")
    assert "Twoja odpowiedź: <b>biorę udział</b>" in await page()

    # The meeting itself.
    def rename(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE meetings SET title = 'Premiera' WHERE id = ?", (soon,))

    await db_of(bot).run(raw_sql(rename))
    assert "<b>Premiera</b>" in await page()

    # Time alone: a meeting that has started leaves the list.
    clock.advance(hours=3)
    assert "Premiera" not in await page()


async def test_a_keyboard_checked_once_is_refused_on_every_send(bot: BotDriver) -> None:
    # Drawn keyboards are checked against Telegram's limits when made, not on each send:
    # one over the limits must still never reach Telegram.
    button = InlineKeyboardButton("Spotkanie", callback_data="sched:open:" + "9" * 60)
    drawn = DrawnKeyboard(InlineKeyboardMarkup([[button]]))
    before = len(bot.api.calls)
    for _ in range(2):
        with pytest.raises(BadRequest, match="BUTTON_DATA_INVALID"):
            await bot.app.bot.send_message(1001, "Lista", reply_markup=drawn)
    assert len(bot.api.calls) == before


class EchoingBotApi(FakeBotApi):
    """Answers a send as Telegram does: the Message with the inline keyboard it was sent."""

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        result = super()._result(method, params)
        markup = params.get("reply_markup")
        if isinstance(result, dict) and isinstance(markup, dict):
            result["reply_markup"] = markup
        return result


async def test_telegrams_echo_of_a_sent_keyboard_is_not_parsed_back() -> None:
    # PTB would turn the echoed keyboard back into objects on every reply (~180 us for a
    # /meetings page, bench/updates.py); the bot never reads it.
    api = EchoingBotApi()
    guarded = GuardedBot("123456:ECHO-token", request=api, get_updates_request=api)
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Kultura", callback_data="sectors:toggle:1")]]
    )
    async with guarded:
        sent = await guarded.send_message(1001, "Zespoły", reply_markup=keyboard)
    assert api.sent("sendMessage")[0].buttons() == [("Kultura", "sectors:toggle:1")]
    assert sent.message_id > 0
    assert sent.reply_markup is None


async def test_an_edit_is_not_parsed_back_and_the_prompt_keeps_its_id(
    bot: BotDriver, anna: TgUser
) -> None:
    # Telegram answers an edit with the whole edited Message; parsing it was ~70 us of a
    # sector toggle (bench/updates.py), and its id is the one the edit named.
    guarded = bot.app.bot
    sent = await guarded.send_message(anna.id, "Zespoły")
    edited = await guarded.edit_message_text("Zespoły (2)", anna.id, sent.message_id)
    assert edited is True
    assert bot.api.sent("editMessageText")[-1].text == "Zespoły (2)"
