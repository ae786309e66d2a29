"""Meetings across DST in Europe/Warsaw: the stated rule for skipped and repeated local times,
and exactly one reminder per lead time at the instant the rule gives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.config import Config
from bot.services.meeting_input import MeetingDraft, occurrences, resolve_local
from tests.conftest import start_driver, stop_driver
from tests.harness import BotDriver, Clock, TgUser, texts_of
from tests.meeting_factory import db_of, make_moderator
from tests.sql import connection

WARSAW = ZoneInfo("Europe/Warsaw")
MOD = TgUser(id=3001, language_code="pl", first_name="Moderatorka")


@pytest.fixture
async def bot(config: Config, clock: Clock) -> AsyncIterator[BotDriver]:
    """The application without its periodic dispatcher: the test moves the clock itself."""
    driver = await start_driver(config, clock)
    job_queue = driver.app.job_queue
    assert job_queue is not None
    await job_queue.start()
    for job in job_queue.get_jobs_by_name("dispatcher"):
        job.schedule_removal()
    try:
        yield driver
    finally:
        await job_queue.stop(wait=False)
        await stop_driver(driver)


def test_rule_skipped_time_moves_forward_by_the_gap() -> None:
    # 2027-03-28 02:00 CET -> 03:00 CEST: 02:30 does not exist.
    start = resolve_local(datetime(2027, 3, 28, 2, 30), WARSAW)
    assert start == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert start.astimezone(WARSAW).strftime("%H:%M %Z") == "03:30 CEST"


def test_rule_repeated_time_takes_the_first_occurrence() -> None:
    # 2027-10-31 03:00 CEST -> 02:00 CET: 02:30 happens twice; the first is CEST.
    start = resolve_local(datetime(2027, 10, 31, 2, 30), WARSAW)
    assert start == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    assert start.astimezone(WARSAW).strftime("%H:%M %Z") == "02:30 CEST"


def test_series_keeps_local_wall_time_across_both_switches() -> None:
    draft = MeetingDraft(
        title="x",
        place="ul. Józefińska 14",
        local_start=datetime(2027, 3, 21, 2, 30),
        recurrence="weekly",
        until=datetime(2027, 4, 4).date(),
    )
    starts = [resolve_local(local, WARSAW) for local in occurrences(draft, 52)]
    assert [s.astimezone(WARSAW).strftime("%d %H:%M") for s in starts] == [
        "21 02:30",
        "28 03:30",  # the skipped Sunday moves forward by the gap
        "04 02:30",
    ]


async def _schedule(bot: BotDriver, start: str) -> str:
    """/new_meeting for the culture team at `start`, default reminders; return the preview."""
    await bot.onboard(MOD)
    await make_moderator(bot, MOD.id, "culture")
    await bot.send(MOD, "/new_meeting")
    await bot.press(MOD, "Kultura")
    await bot.send(MOD, "Spotkanie nocne")
    await bot.send(MOD, start)
    await bot.press(MOD, "90 min (domyślnie)")
    await bot.send(MOD, "ul. Józefińska 14, Kraków")
    await bot.press(MOD, "Pomiń")  # no agenda
    await bot.press(MOD, "Bez limitu")
    await bot.press(MOD, "Domyślne przypomnienia")  # 24 h and 1 h
    preview = texts_of(await bot.press(MOD, "Jednorazowe"))
    await bot.press(MOD, "✅ Opublikuj")
    return preview


async def _reminder_instants(
    bot: BotDriver, user: TgUser, since: datetime, until: datetime
) -> list[datetime]:
    """Move the clock in 15-minute steps, dispatching each time; when did reminders arrive?"""
    arrived = []
    bot.clock.now = since
    while bot.clock.now <= until:
        for call in await bot.dispatch():
            to_user = call.method == "sendMessage" and call.chat_id == user.id
            if to_user and "Przypomnienie" in call.text:
                arrived.append(bot.clock.now)
        bot.clock.advance(minutes=15)
    return arrived


async def test_meeting_in_the_spring_gap(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture"])
    preview = await _schedule(bot, "2027-03-28 02:30")
    assert "niedziela, 28 marca 2027, 03:30" in preview  # moved forward by the gap
    await bot.dispatch()  # the notice
    arrived = await _reminder_instants(
        bot, anna, datetime(2027, 3, 26, 0, 0, tzinfo=UTC), datetime(2027, 3, 29, 0, 0, tzinfo=UTC)
    )
    # Start 01:30 UTC: 24 h before and 1 h before, once each.
    assert arrived == [
        datetime(2027, 3, 27, 1, 30, tzinfo=UTC),
        datetime(2027, 3, 28, 0, 30, tzinfo=UTC),
    ]


async def test_meeting_in_the_autumn_repeated_hour(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture"])
    preview = await _schedule(bot, "31.10.2027 02:30")
    assert "niedziela, 31 października 2027, 02:30" in preview
    await bot.dispatch()
    arrived = await _reminder_instants(
        bot, anna, datetime(2027, 10, 29, 0, 0, tzinfo=UTC), datetime(2027, 11, 1, 0, 0, tzinfo=UTC)
    )
    # Start 00:30 UTC (the first 02:30, CEST): 24 h before and 1 h before, once each.
    assert arrived == [
        datetime(2027, 10, 30, 0, 30, tzinfo=UTC),
        datetime(2027, 10, 30, 23, 30, tzinfo=UTC),
    ]
    stored = await db_of(bot).run(
        lambda unit: connection(unit).execute("SELECT starts_at FROM meetings").fetchall()
    )
    assert [row[0] for row in stored] == ["2027-10-31T00:30:00.000000+00:00"]
