"""Calendar export: the .ics of one meeting and of all my sectors' meetings, the Google link."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Component

from bot.config import Config
from tests.harness import BotDriver, Clock, TgUser, texts_of
from tests.meeting_factory import (
    add_meeting,
    files_driver,
    update_meeting,
    uploaded,
)

LINK = "https://t.me/ngo_test_bot?start=meeting-{id}"


@pytest.fixture
async def bot(config: Config, clock: Clock) -> AsyncIterator[BotDriver]:
    async for driver in files_driver(config, clock):
        yield driver


def events(data: bytes) -> list[Component]:
    return list(Calendar.from_ical(data).walk("VEVENT"))


async def test_add_to_calendar_sends_an_ics_that_imports_right(
    bot: BotDriver, anna: TgUser, clock: Clock
) -> None:
    await bot.onboard(anna)
    # 16:00 UTC on 3 December = 17:00 in Warsaw (winter time).
    start = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    meeting = await add_meeting(
        bot,
        title="Zespół: kultura & sztuka",
        starts_in=start - clock.now,
        duration=90,
        place="Pałac Krzysztofory, Rynek Główny 35",
        agenda="1. Programy grantowe\n2. Wolne wnioski",
    )
    await bot.send(anna, f"/meeting {meeting}")
    calls = await bot.press(anna, "🗓 Dodaj do kalendarza")
    [document] = [c for c in calls if c.method == "sendDocument"]
    assert document.chat_id == anna.id
    [(method, filename, data)] = uploaded(bot)
    assert (method, filename) == ("sendDocument", f"meeting-{meeting}.ics")

    calendar = Calendar.from_ical(data)
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Europe/Warsaw"
    [event] = events(data)
    assert str(event["UID"]) == f"meeting-{meeting}@ngo_test_bot.t.me"
    assert str(event["SUMMARY"]) == "Zespół: kultura & sztuka"
    starts = event.decoded("DTSTART")
    assert starts == start
    assert starts.tzinfo == ZoneInfo("Europe/Warsaw")
    assert (starts.hour, starts.minute) == (17, 0)
    assert event.decoded("DTEND") == start + timedelta(minutes=90)
    assert str(event["LOCATION"]) == "Pałac Krzysztofory, Rynek Główny 35"
    description = str(event["DESCRIPTION"])
    assert "1. Programy grantowe\n2. Wolne wnioski" in description
    assert LINK.format(id=meeting) in description
    assert str(event["STATUS"]) == "CONFIRMED"

    # The Google Calendar link is under the file, in UTC, with the deep link in the details.
    [(label, url)] = document.buttons()
    assert label == "📆 Dodaj do Kalendarza Google"
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://calendar.google.com/calendar/render"
    )
    query = parse_qs(parts.query)
    assert query["action"] == ["TEMPLATE"]
    assert query["text"] == ["Zespół: kultura & sztuka"]
    assert query["dates"] == ["20261203T160000Z/20261203T173000Z"]
    assert query["location"] == ["Pałac Krzysztofory, Rynek Główny 35"]
    assert LINK.format(id=meeting) in query["details"][0]


async def test_uid_stays_and_sequence_grows_after_an_edit(
    bot: BotDriver, anna: TgUser, clock: Clock
) -> None:
    await bot.onboard(anna)
    meeting = await add_meeting(bot, place=None, online_url="https://meet.example.org/abc")
    await bot.send(anna, f"/meeting {meeting}")
    await bot.press(anna, "🗓 Dodaj do kalendarza")
    clock.advance(hours=2)
    later = clock.now + timedelta(days=8)
    await update_meeting(bot, meeting, clock.now, starts_at=later)
    await bot.press(anna, "🗓 Dodaj do kalendarza")  # the card she opened before the change
    [(_, _, first), (_, _, second)] = uploaded(bot)
    [before], [after] = events(first), events(second)
    assert before["UID"] == after["UID"]
    assert after.decoded("SEQUENCE") > before.decoded("SEQUENCE")
    assert after.decoded("DTSTART") == later
    assert str(after["LOCATION"]) == "https://meet.example.org/abc"
    assert str(after["URL"]) == "https://meet.example.org/abc"


async def test_cancelled_meeting_exports_as_cancelled(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    meeting = await add_meeting(bot, state="cancelled")
    await bot.send(anna, f"/meeting {meeting}")
    calls = await bot.press(anna, "🗓 Dodaj do kalendarza")
    [document] = [c for c in calls if c.method == "sendDocument"]
    assert document.buttons() == []
    [(_, _, data)] = uploaded(bot)
    [event] = events(data)
    assert str(event["STATUS"]) == "CANCELLED"


@pytest.mark.parametrize("data", ["cal:ics:999", "cal:ics:x", "cal:zip:1", "cal:ics:1:2"])
async def test_forged_calendar_buttons(bot: BotDriver, anna: TgUser, data: str) -> None:
    await bot.onboard(anna)
    await add_meeting(bot)
    calls = await bot.click(anna, data)  # forged
    assert texts_of(calls) == "Ten przycisk jest już nieaktualny."
    assert uploaded(bot) == []


async def test_calendar_command_exports_every_upcoming_meeting_of_my_sectors(
    bot: BotDriver, anna: TgUser, clock: Clock
) -> None:
    await bot.onboard(anna, sectors=["culture", "health"])
    first = await add_meeting(bot, team="culture", starts_in=timedelta(days=2))
    second = await add_meeting(bot, team="health", starts_in=timedelta(days=9))
    cancelled = await add_meeting(bot, team="culture", state="cancelled")
    await add_meeting(bot, team="education")  # not my sector
    await add_meeting(bot, team="culture", starts_in=timedelta(hours=-3))  # past

    calls = await bot.send(anna, "/calendar")
    [document] = [c for c in calls if c.method == "sendDocument"]
    assert "3 nadchodzące spotkania" in str(document.params["caption"])
    [(_, filename, data)] = uploaded(bot)
    assert filename == "meetings.ics"
    found = {str(e["UID"]): str(e["STATUS"]) for e in events(data)}
    assert found == {
        f"meeting-{first}@ngo_test_bot.t.me": "CONFIRMED",
        f"meeting-{second}@ngo_test_bot.t.me": "CONFIRMED",
        f"meeting-{cancelled}@ngo_test_bot.t.me": "CANCELLED",
    }
    assert len(Calendar.from_ical(data).walk("VTIMEZONE")) == 1


async def test_calendar_without_meetings_explains(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    calls = await bot.send(anna, "/calendar")
    assert "/sectors" in texts_of(calls)
    assert uploaded(bot) == []


async def test_calendar_needs_consent_and_a_private_chat(bot: BotDriver, anna: TgUser) -> None:
    calls = await bot.send(anna, "/calendar")
    assert "/start" in texts_of(calls)
    await bot.onboard(anna, sectors=["culture"])
    await add_meeting(bot)
    await bot.send(anna, "/calendar", chat_id=-100123)
    assert uploaded(bot) == []
