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
    make_moderator,
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


async def test_uid_stays_and_sequence_grows_by_one_per_saved_edit(
    bot: BotDriver, anna: TgUser, clock: Clock
) -> None:
    await bot.onboard(anna)
    moderator = TgUser(id=3001, language_code="pl", first_name="Moderatorka")
    await bot.onboard(moderator)
    await make_moderator(bot, moderator.id, "culture")
    meeting = await add_meeting(bot, place=None, online_url="https://meet.example.org/abc")
    await bot.send(anna, f"/meeting {meeting}")
    await bot.press(anna, "🗓 Dodaj do kalendarza")
    clock.advance(seconds=12)  # SEQUENCE once counted seconds: 12 after this edit
    # One saved form with two changed fields is one revision.
    await bot.send(moderator, f"/edit_meeting {meeting}")
    await bot.press(moderator, "Termin")
    await bot.send(moderator, "4.12.2026 13:00")
    await bot.press(moderator, "Tytuł")
    await bot.send(moderator, "Spotkanie branżowe (nowy termin)")
    await bot.press(moderator, "💾 Zapisz i powiadom")
    await bot.press(anna, "🗓 Dodaj do kalendarza")  # the card she opened before the change
    [(_, _, first), (_, _, second)] = uploaded(bot)
    [before], [after] = events(first), events(second)
    assert before["UID"] == after["UID"]
    assert before.decoded("SEQUENCE") == 0
    assert after.decoded("SEQUENCE") == 1
    assert after.decoded("DTSTART") == datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
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
