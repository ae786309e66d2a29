"""People by name: Telegram names kept after consent, refreshed from each update, shown in
/team and erased by /forget; nothing stored before consent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from bot.config import Config
from tests.conftest import ADMIN_ID
from tests.harness import BotDriver, Clock, TgUser, texts_of
from tests.meeting_factory import db_of, files_driver
from tests.sql import raw_sql
from tests.test_privacy import export_of

TOMASZ = TgUser(id=ADMIN_ID, language_code="pl", first_name="Tomasz", username="tomasz")


@pytest.fixture
async def files_bot(config: Config, clock: Clock) -> AsyncIterator[BotDriver]:
    """A bot whose fake network keeps the documents it uploads (for /mydata)."""
    async for driver in files_driver(config, clock):
        yield driver


async def names_of(bot: BotDriver, user_id: int) -> tuple[Any, ...] | None:
    row = await db_of(bot).run(
        raw_sql(
            lambda conn: conn.execute(
                "SELECT first_name, last_name, username FROM users WHERE id = ?", (user_id,)
            ).fetchone()
        )
    )
    return None if row is None else tuple(row)


async def test_team_shows_the_admin_by_the_name_he_started_the_bot_with(bot: BotDriver) -> None:
    await bot.onboard(TOMASZ)
    calls = await bot.send(TOMASZ, "/team")
    shown = texts_of(calls)
    assert "Tomasz (@tomasz)" in shown
    assert "użytkownik 900" not in shown


async def test_a_name_change_in_a_later_update_is_visible_in_team(bot: BotDriver) -> None:
    await bot.onboard(TOMASZ)
    renamed = replace(TOMASZ, first_name="Tomasz", last_name="Nowak", username="tnowak")
    calls = await bot.send(renamed, "/team")
    assert "Tomasz Nowak (@tnowak)" in texts_of(calls)
    assert await names_of(bot, ADMIN_ID) == ("Tomasz", "Nowak", "tnowak")


async def test_before_consent_no_name_is_stored(bot: BotDriver) -> None:
    anna = TgUser(id=4242, first_name="Anna", last_name="Kowalska", username="ania")
    await bot.send(anna, "/start")
    await bot.send(anna, "/sectors")
    assert await names_of(bot, anna.id) == (None, None, None)
    await bot.press(anna, bot.label(anna, "button.consent"))
    assert await names_of(bot, anna.id) == ("Anna", "Kowalska", "ania")


async def test_nothing_known_shows_user_and_number(bot: BotDriver) -> None:
    await bot.send(TOMASZ, "/start")
    # An admin from config who never consented: no name is kept, so the number is shown.
    calls = await bot.send(TOMASZ, "/team")
    assert "użytkownik 900" in texts_of(calls)


async def test_mydata_shows_the_names_and_forget_erases_them(files_bot: BotDriver) -> None:
    bot = files_bot
    anna = TgUser(id=4243, first_name="Anna", last_name="Kowalska", username="ania")
    await bot.onboard(anna)
    await bot.send(anna, "/mydata")
    profile = export_of(bot)["profile"]
    assert (profile["first_name"], profile["last_name"], profile["username"]) == (
        "Anna",
        "Kowalska",
        "ania",
    )
    await bot.send(anna, "/forget")
    await bot.press(anna, "🗑 Tak, usuń moje dane")
    assert await names_of(bot, anna.id) is None


async def test_mydata_before_start_does_not_contradict_privacy(bot: BotDriver) -> None:
    stranger = TgUser(id=4244, first_name="Ktoś")
    notice = texts_of(await bot.send(stranger, "/privacy"))
    answer = texts_of(await bot.send(stranger, "/mydata"))
    # /privacy says the chat id and language are kept from the first /start: /mydata says
    # the same instead of "I store nothing about you".
    assert "od pierwszego /start identyfikator Twojego czatu i język" in notice
    assert "Identyfikator czatu i język zapisuję od pierwszego /start" in answer
    assert "imię, nazwisko i nazwę użytkownika z Telegrama" in notice  # names, after consent
