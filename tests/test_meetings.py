"""Sector meetings, moderator side: the card, /new_meeting, /edit_meeting, /cancel_meeting."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import Config
from bot.housekeeping import run_housekeeping
from bot.i18n import Texts
from bot.services.rsvp import RsvpCounts
from handlers.views.meetings import card_keyboard, card_text
from storage.models import Meeting, Team
from tests.conftest import ADMIN_ID, start_driver, stop_driver
from tests.fakes import Call
from tests.harness import (
    BotDriver,
    Clock,
    TgUser,
    live_buttons,
    new_messages,
    sent_messages,
    texts_of,
)
from tests.meeting_factory import db_of, make_moderator
from tests.sql import connection, raw_sql

WARSAW = ZoneInfo("Europe/Warsaw")
CULTURE = Team(
    id=2,
    slug="culture",
    kind="sector",
    name_pl="Kultura",
    name_en="Culture",
    description_pl="-",
    description_en="-",
    position=1,
)


def _meeting(**overrides: object) -> Meeting:
    data: dict[str, object] = {
        "id": 7,
        "team_id": 2,
        "series_id": None,
        "title": "Budżet <2027>",
        "starts_at": datetime(2026, 12, 3, 16, 0, tzinfo=UTC),
        "duration_minutes": 90,
        "place": "ul. Józefińska 14",
        "online_url": None,
        "agenda": "1. Otwarcie & powitanie",
        "capacity": 22,
        "reminder_minutes": json.dumps([1440, 60]),
        "state": "scheduled",
        "created_by": 900,
        "created_at": datetime(2026, 11, 26, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 26, tzinfo=UTC),
    }
    data.update(overrides)
    return Meeting.model_validate(data)


def test_card_in_polish_shows_local_polish_date_and_escapes() -> None:
    texts = Texts()
    body = card_text(_meeting(), CULTURE, "pl", texts, WARSAW)
    assert "czwartek, 3 grudnia 2026, 17:00–18:30" in body
    assert "Budżet &lt;2027&gt;" in body
    assert "Otwarcie &amp; powitanie" in body
    assert "Kultura" in body
    assert "90 minut" in body
    assert "22 miejsca" in body
    assert "Biorę udział:" not in body


def test_card_in_english_with_counts_and_online_link() -> None:
    texts = Texts()
    meeting = _meeting(place=None, online_url="https://meet.example.org/x", capacity=None)
    body = card_text(meeting, CULTURE, "en", texts, WARSAW, RsvpCounts(going=3, waiting=1))
    assert "Thursday, 3 December 2026, 17:00–18:30" in body
    assert "https://meet.example.org/x" in body
    assert "Going: 3" in body
    assert "waiting list: 1 person" in body
    assert "Capacity" not in body


def test_card_keyboard_carries_rsvp_and_calendar_callbacks() -> None:
    keyboard = card_keyboard(_meeting(), "pl", Texts())
    data = [button.callback_data for row in keyboard.inline_keyboard for button in row]
    assert data == ["rsvp:going:7", "rsvp:maybe:7", "rsvp:no:7", "cal:ics:7"]


# ---------------------------------------------------------------- through the real Application


@pytest.fixture
async def bot(config: Config, clock: Clock) -> AsyncIterator[BotDriver]:
    """The application with its JobQueue running (conversation timeouts need it), minus the
    periodic dispatcher: tests let the clock tick with `dispatch` instead."""
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


MOD = TgUser(id=3001, language_code="pl", first_name="Moderatorka")
OTHER_MOD = TgUser(id=3002, language_code="pl", first_name="Inny")
ADMIN = TgUser(id=ADMIN_ID, language_code="en", first_name="Admin")


async def team_id(bot: BotDriver, slug: str) -> int:
    row = await db_of(bot).run(
        lambda unit: (
            connection(unit).execute("SELECT id FROM teams WHERE slug = ?", (slug,)).fetchone()
        )
    )
    return int(row[0])


async def rows(bot: BotDriver, sql: str, *params: object) -> list[tuple[Any, ...]]:
    result = await db_of(bot).run(raw_sql(lambda conn: conn.execute(sql, params).fetchall()))
    return [tuple(row) for row in result]


def label(bot: BotDriver, user: TgUser, key: str, **values: object) -> str:
    """A button's label as `user` sees it."""
    language = "en" if user.language_code == "en" else "pl"
    return str(bot.deps.texts.get(language, key, **values))


async def press_key(bot: BotDriver, user: TgUser, key: str, **values: object) -> list[Call]:
    """Press the button labelled with the text `key` in the user's language."""
    return await bot.press(user, label(bot, user, key, **values))


async def press_sector(bot: BotDriver, user: TgUser, slug: str) -> list[Call]:
    """Press a sector team's button by its name in the user's language."""
    column = "name_en" if user.language_code == "en" else "name_pl"
    [(name,)] = await rows(bot, f"SELECT {column} FROM teams WHERE slug = ?", slug)
    return await bot.press(user, name)


def flow_buttons(bot: BotDriver, user: TgUser) -> list[list[str]]:
    """The messages still showing meeting-flow buttons (pressable)."""
    shown = [[d for _, d in m.buttons if d.startswith("mtg:")] for m in bot.keyboards(user)]
    return [data for data in shown if data]


async def moderator(bot: BotDriver, user: TgUser = MOD, team: str = "culture") -> None:
    await bot.onboard(user)
    await make_moderator(bot, user.id, team)


async def new_meeting(
    bot: BotDriver,
    user: TgUser = MOD,
    *,
    team: str = "culture",
    title: str = "Budżet obywatelski 2027",
    start: str = "2026-12-03 17:00",
    place: str = "ul. Józefińska 14, Kraków",
    agenda: str | None = "1. Otwarcie\n2. Postulaty",
    reminders: str | None = None,
    recurrence: str = "none",
    interval: str | None = None,
    until: str | None = None,
) -> list[Call]:
    """Answer every question of /new_meeting; return the calls of the last step (preview)."""
    await bot.send(user, "/new_meeting")
    await press_sector(bot, user, team)
    await bot.send(user, title)
    await bot.send(user, start)
    await press_key(bot, user, "meetings.button-default-duration", default=90)
    await bot.send(user, place)
    if agenda is None:
        await press_key(bot, user, "meetings.button-skip")
    else:
        await bot.send(user, agenda)
    await press_key(bot, user, "meetings.button-no-limit")
    if reminders is None:
        await press_key(bot, user, "meetings.button-default-reminders")
    else:
        await bot.send(user, reminders)
    calls = await press_key(bot, user, f"meetings.button-rec-{recurrence}")
    if interval is not None:
        calls = await bot.send(user, interval)
    if until is not None:
        calls = await bot.send(user, until)
    return calls


async def publish(bot: BotDriver, user: TgUser = MOD, **answers: Any) -> int:
    """Schedule a meeting through the conversation; return the (first) meeting's id."""
    await new_meeting(bot, user, **answers)
    calls = await press_key(bot, user, "meetings.button-publish")
    assert "/edit_meeting" in texts_of(calls), texts_of(calls)
    found = await rows(bot, "SELECT max(id) FROM meetings")
    first = await rows(
        bot,
        "SELECT min(id) FROM meetings WHERE coalesce(series_id, -1) = "
        "coalesce((SELECT series_id FROM meetings WHERE id = ?), -1) AND created_at = "
        "(SELECT created_at FROM meetings WHERE id = ?)",
        found[0][0],
        found[0][0],
    )
    return int(first[0][0])


async def test_publish_notifies_subscribers_with_card_and_rsvp_buttons(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    await bot.onboard(john, sectors=["culture"])
    outsider = TgUser(id=4444, language_code="pl")
    await bot.onboard(outsider, sectors=["education"])

    preview = await new_meeting(bot)
    shown = texts_of(preview)
    assert "czwartek, 3 grudnia 2026, 17:00–18:30" in shown
    assert any(data == "mtg:publish" for c in preview for _, data in c.buttons())
    assert await rows(bot, "SELECT id FROM meetings") == []  # nothing stored before Publish

    meeting_id = await publish_from_preview(bot)
    sent = sent_messages(await bot.dispatch())
    by_chat = {c.chat_id: c for c in sent}
    assert set(by_chat) == {anna.id, john.id}  # subscribers of culture only (MOD is not one)
    assert "czwartek, 3 grudnia 2026, 17:00" in by_chat[anna.id].text
    assert "Thursday, 3 December 2026, 17:00" in by_chat[john.id].text
    assert "ul. Józefińska 14" in by_chat[anna.id].text
    assert "Postulaty" in by_chat[anna.id].text
    data = [d for _, d in by_chat[anna.id].buttons()]
    assert f"rsvp:going:{meeting_id}" in data
    assert f"cal:ics:{meeting_id}" in data
    # The preview was exactly this notice.
    assert by_chat[anna.id].text in shown
    assert sent_messages(await bot.dispatch()) == []  # nothing twice


async def publish_from_preview(bot: BotDriver, user: TgUser = MOD) -> int:
    calls = await press_key(bot, user, "meetings.button-publish")
    assert "Opublikowano" in texts_of(calls) or "Published" in texts_of(calls)
    return int((await rows(bot, "SELECT max(id) FROM meetings"))[0][0])


async def test_reminders_go_out_at_lead_times_in_utc(bot: BotDriver, anna: TgUser) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    await publish(bot)  # 2026-12-03 17:00 CET = 16:00 UTC; reminders 24 h and 1 h
    sent_messages(await bot.dispatch())
    due = await rows(
        bot,
        "SELECT due_at, expires_at FROM announcements WHERE kind = 'meeting-reminder' "
        "ORDER BY due_at",
    )
    assert due == [
        ("2026-12-02T16:00:00.000000+00:00", "2026-12-03T16:00:00.000000+00:00"),
        ("2026-12-03T15:00:00.000000+00:00", "2026-12-03T16:00:00.000000+00:00"),
    ]
    bot.clock.now = datetime(2026, 12, 2, 15, 59, tzinfo=UTC)
    assert sent_messages(await bot.dispatch()) == []
    bot.clock.now = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
    sent = sent_messages(await bot.dispatch())
    assert [c.chat_id for c in sent] == [anna.id]
    assert "Przypomnienie" in sent[0].text
    assert "1 dzień" in sent[0].text
    bot.clock.now = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    sent = sent_messages(await bot.dispatch())
    assert [c.chat_id for c in sent] == [anna.id]
    assert "1 godzinę" in sent[0].text
    bot.clock.now = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
    assert sent_messages(await bot.dispatch()) == []


async def test_custom_reminders_and_rsvp_audience(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    rsvp_only = TgUser(id=4445, language_code="en")
    await bot.onboard(rsvp_only)  # not subscribed, but RSVPs going
    meeting_id = await publish(bot, reminders="2d, 3h, 30m")
    sent_messages(await bot.dispatch())
    leads = await rows(bot, "SELECT reminder_minutes FROM meetings WHERE id = ?", meeting_id)
    assert json.loads(leads[0][0]) == [2880, 180, 30]
    now = "2026-11-26T10:00:00.000000+00:00"
    await db_of(bot).run(
        lambda unit: connection(unit).executemany(
            "INSERT INTO rsvps (meeting_id, user_id, answer, answered_at) VALUES (?, ?, ?, ?)",
            [(meeting_id, rsvp_only.id, "going", now), (meeting_id, anna.id, "not_going", now)],
        )
    )
    bot.clock.now = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 2 days before
    sent = sent_messages(await bot.dispatch())
    assert [c.chat_id for c in sent] == [rsvp_only.id]  # anna said not going


async def test_edit_time_notifies_and_never_reminds_for_the_old_time(
    bot: BotDriver, anna: TgUser
) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    meeting_id = await publish(bot)
    sent_messages(await bot.dispatch())

    await bot.send(MOD, f"/edit_meeting {meeting_id}")
    await press_key(bot, MOD, "meetings.field-start")
    await bot.send(MOD, "4.12.2026 18:30")
    calls = await press_key(bot, MOD, "meetings.button-save")
    assert "Zapisano" in texts_of(calls)
    sent = sent_messages(await bot.dispatch())
    assert [c.chat_id for c in sent] == [anna.id]
    assert "czwartek, 3 grudnia 2026, 17:00 → <b>piątek, 4 grudnia 2026, 18:30</b>" in sent[0].text
    assert f"rsvp:going:{meeting_id}" in [d for _, d in sent[0].buttons()]

    # Walk the clock through both old and new reminder instants: only the new ones arrive.
    reminders: list[datetime] = []
    for step in range(2 * 24 * 9):
        bot.clock.now = datetime(2026, 11, 26, 10, tzinfo=UTC) + timedelta(minutes=30 * step)
        for call in sent_messages(await bot.dispatch()):
            assert "Przypomnienie" in call.text
            assert "piątek, 4 grudnia 2026, 18:30" in call.text
            reminders.append(bot.clock.now)
    assert reminders == [
        datetime(2026, 12, 3, 17, 30, tzinfo=UTC),  # 18:30 CET the day before
        datetime(2026, 12, 4, 16, 30, tzinfo=UTC),  # an hour before
    ]


async def test_edit_place_and_agenda_say_what_changed(bot: BotDriver, john: TgUser) -> None:
    await moderator(bot)
    await bot.onboard(john, sectors=["culture"])
    meeting_id = await publish(bot)
    sent_messages(await bot.dispatch())
    await bot.send(MOD, f"/meeting {meeting_id}")
    await bot.press(MOD, "✏️ Zmień")  # the moderator's card
    await press_key(bot, MOD, "meetings.field-place")
    await bot.send(MOD, "https://meet.example.org/abc")
    await press_key(bot, MOD, "meetings.button-save")
    sent = sent_messages(await bot.dispatch())
    assert "Place: ul. Józefińska 14, Kraków → none" in sent[0].text
    assert "Online: none → https://meet.example.org/abc" in sent[0].text
    await bot.send(MOD, f"/edit_meeting {meeting_id}")
    await press_key(bot, MOD, "meetings.field-agenda")
    await press_key(bot, MOD, "meetings.button-remove")
    await press_key(bot, MOD, "meetings.button-save")
    sent = sent_messages(await bot.dispatch())
    assert "The agenda has changed" in sent[0].text
    agenda = await rows(bot, "SELECT agenda FROM meetings WHERE id = ?", meeting_id)
    assert agenda == [(None,)]


async def test_cancel_notifies_and_sends_no_reminders(bot: BotDriver, anna: TgUser) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    meeting_id = await publish(bot)
    sent_messages(await bot.dispatch())
    calls = await bot.send(MOD, f"/cancel_meeting {meeting_id}")
    assert (
        "❌ Odwołaj to spotkanie",
        f"mtg:cancel-one:{meeting_id}",
    ) in calls[-1].buttons()
    calls = await press_key(bot, MOD, "meetings.button-cancel-one")
    assert "Odwołano spotkanie nr" in texts_of(calls)
    sent = sent_messages(await bot.dispatch())
    assert [c.chat_id for c in sent] == [anna.id]
    assert "odwołane" in sent[0].text
    assert sent[0].buttons() == []
    for day in range(1, 9):
        bot.clock.now = datetime(2026, 11, 26, 10, tzinfo=UTC) + timedelta(days=day)
        assert sent_messages(await bot.dispatch()) == []
    states = await rows(bot, "SELECT state FROM meetings WHERE id = ?", meeting_id)
    assert states == [("cancelled",)]
    again = await bot.click(MOD, f"mtg:cancel-one:{meeting_id}")  # replayed
    assert "już odwołane" in texts_of(again) or "już się rozpoczęło" in texts_of(again)


async def test_weekly_series_keeps_wall_time_one_notice_and_series_edits(
    bot: BotDriver, anna: TgUser
) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    # Weekly on Thursdays 17:00 from 2027-03-18 to 2027-04-08: across the March DST switch.
    first = await publish(bot, start="2027-03-18 17:00", recurrence="weekly", until="2027-04-08")
    starts = await rows(
        bot, "SELECT id, starts_at FROM meetings WHERE series_id IS NOT NULL ORDER BY starts_at"
    )
    assert [s for _, s in starts] == [
        "2027-03-18T16:00:00.000000+00:00",
        "2027-03-25T16:00:00.000000+00:00",
        "2027-04-01T15:00:00.000000+00:00",  # CEST: still 17:00 local
        "2027-04-08T15:00:00.000000+00:00",
    ]
    sent = sent_messages(await bot.dispatch())
    assert len(sent) == 1  # one notice for the series
    assert "4 spotkania w cyklu" in sent[0].text
    count = await rows(bot, "SELECT count(*) FROM announcements WHERE kind = 'meeting-reminder'")
    assert count == [(8,)]

    # Change the time of the second and later ones to 18:00.
    second = starts[1][0]
    await bot.send(MOD, f"/edit_meeting {second}")
    await bot.press(MOD, "To i kolejne w cyklu", exact=False)
    await press_key(bot, MOD, "meetings.field-start")
    await bot.send(MOD, "25.03.2027 18:00")
    calls = await press_key(bot, MOD, "meetings.button-save")
    assert "Zapisano zmianę 3 spotkań" in texts_of(calls)
    after = await rows(bot, "SELECT starts_at FROM meetings WHERE id > ? ORDER BY id", first)
    assert [s for (s,) in after] == [
        "2027-03-25T17:00:00.000000+00:00",
        "2027-04-01T16:00:00.000000+00:00",
        "2027-04-08T16:00:00.000000+00:00",
    ]
    pending = await rows(
        bot,
        "SELECT due_at FROM announcements WHERE kind = 'meeting-reminder' "
        "AND state = 'scheduled' ORDER BY due_at",
    )
    assert [d for (d,) in pending] == [
        "2027-03-17T16:00:00.000000+00:00",
        "2027-03-18T15:00:00.000000+00:00",
        "2027-03-24T17:00:00.000000+00:00",
        "2027-03-25T16:00:00.000000+00:00",
        "2027-03-31T16:00:00.000000+00:00",
        "2027-04-01T15:00:00.000000+00:00",
        "2027-04-07T16:00:00.000000+00:00",
        "2027-04-08T15:00:00.000000+00:00",
    ]
    sent = sent_messages(await bot.dispatch())
    assert len(sent) == 1
    assert "Zmiana dotyczy 3 spotkań z cyklu" in sent[0].text

    # Cancel only the third; then the whole rest from the second.
    third = starts[2][0]
    await bot.send(MOD, f"/cancel_meeting {third}")
    await press_key(bot, MOD, "meetings.button-cancel-one")
    states = await rows(bot, "SELECT id, state FROM meetings ORDER BY id")
    assert [s for _, s in states] == ["scheduled", "scheduled", "cancelled", "scheduled"]
    await bot.send(MOD, f"/cancel_meeting {second}")
    await bot.press(MOD, "Odwołaj to i kolejne", exact=False)
    states = await rows(bot, "SELECT id, state FROM meetings ORDER BY id")
    assert [s for _, s in states] == ["scheduled", "cancelled", "cancelled", "cancelled"]
    pending = await rows(
        bot,
        "SELECT count(*) FROM announcements WHERE kind = 'meeting-reminder' "
        "AND state = 'scheduled'",
    )
    assert pending == [(2,)]  # only the first meeting's


async def test_monthly_series_on_nth_weekday(bot: BotDriver) -> None:
    await moderator(bot)
    # 2026-12-08 is the 2nd Tuesday of December.
    await publish(bot, start="8.12.2026 10:00", recurrence="monthly", until="31.03.2027")
    starts = await rows(bot, "SELECT starts_at FROM meetings ORDER BY starts_at")
    assert [s[:10] for (s,) in starts] == ["2026-12-08", "2027-01-12", "2027-02-09", "2027-03-09"]


async def test_series_limit_is_refused_and_the_end_date_asked_again(bot: BotDriver) -> None:
    await moderator(bot)
    calls = await new_meeting(
        bot, start="2026-12-01 10:00", recurrence="weekly", until="2027-12-31"
    )
    assert "więcej niż 52 spotkania" in texts_of(calls)
    assert "Do kiedy powtarzać?" in texts_of(calls)
    calls = await bot.send(MOD, "2027-01-31")
    assert "9 spotkań w cyklu" in texts_of(calls)


async def test_every_n_weeks(bot: BotDriver) -> None:
    await moderator(bot)
    calls = await new_meeting(
        bot, start="2026-12-01 10:00", recurrence="weeks", interval="3", until="2027-01-31"
    )
    assert "3 spotkania w cyklu" in texts_of(calls)
    await press_key(bot, MOD, "meetings.button-publish")
    starts = await rows(bot, "SELECT starts_at FROM meetings ORDER BY starts_at")
    assert [s[:10] for (s,) in starts] == ["2026-12-01", "2026-12-22", "2027-01-12"]
    series = await rows(bot, "SELECT rule, interval_n, until_date FROM meeting_series")
    assert series == [("weekly", 3, "2027-01-31")]


async def test_preview_change_a_field_then_publish(bot: BotDriver) -> None:
    await moderator(bot)
    await new_meeting(bot)
    await press_key(bot, MOD, "meetings.button-change")
    await press_key(bot, MOD, "meetings.field-start")
    calls = await bot.send(MOD, "10.12.2026 09:15")
    assert "czwartek, 10 grudnia 2026, 09:15" in texts_of(calls)  # straight back to preview
    await press_key(bot, MOD, "meetings.button-publish")
    assert await rows(bot, "SELECT starts_at FROM meetings") == [
        ("2026-12-10T08:15:00.000000+00:00",)
    ]


# ---------------------------------------------------------------- permissions


async def test_members_cannot_schedule(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture"])
    calls = await bot.send(anna, "/new_meeting")
    assert "dla moderatorów" in texts_of(calls)
    culture = await team_id(bot, "culture")
    calls = await bot.click(anna, f"mtg:sector:{culture}")
    assert calls[-1].method == "answerCallbackQuery"
    assert await rows(bot, "SELECT id FROM meetings") == []


async def test_sector_buttons_only_for_moderated_sectors_and_forgery_refused(
    bot: BotDriver,
) -> None:
    await moderator(bot)
    calls = await bot.send(MOD, "/new_meeting")
    culture = await team_id(bot, "culture")
    education = await team_id(bot, "education")
    assert [d for _, d in calls[-1].buttons()] == [f"mtg:sector:{culture}"]
    calls = await bot.click(MOD, f"mtg:sector:{education}")  # forged
    assert calls[-1].params.get("show_alert") is True
    calls = await bot.send(MOD, "Tytuł spotkania")  # still on the sector step
    assert "przyciskiem" in texts_of(calls)


async def test_admin_may_schedule_for_every_sector(bot: BotDriver) -> None:
    await bot.onboard(ADMIN)
    calls = await bot.send(ADMIN, "/new_meeting")
    assert len(calls[-1].buttons()) == 8


async def test_moderator_of_another_sector_cannot_edit_or_cancel(bot: BotDriver) -> None:
    await moderator(bot)
    await moderator(bot, OTHER_MOD, "education")
    meeting_id = await publish(bot)
    for command in (f"/edit_meeting {meeting_id}", f"/cancel_meeting {meeting_id}"):
        calls = await bot.send(OTHER_MOD, command)
        assert "Nie masz uprawnień" in texts_of(calls) or "uprawnie" in texts_of(calls)
    calls = await bot.click(OTHER_MOD, f"mtg:cancel-one:{meeting_id}")  # forged
    assert calls[-1].params.get("show_alert") is True
    calls = await bot.click(OTHER_MOD, f"mtg:cancel-series:{meeting_id}")
    assert calls[-1].params.get("show_alert") is True
    assert await rows(bot, "SELECT state FROM meetings") == [("scheduled",)]


async def test_edit_and_cancel_usage_and_unknown_meeting(bot: BotDriver) -> None:
    await moderator(bot)
    assert "Nie ma zaplanowanych spotkań" in texts_of(await bot.send(MOD, "/edit_meeting"))
    assert "Użycie" in texts_of(await bot.send(MOD, "/cancel_meeting abc"))
    assert "Nie ma spotkania nr 999" in texts_of(await bot.send(MOD, "/edit_meeting 999"))


# ---------------------------------------------------------------- bad input and /cancel

# (answer that moves on, [(bad answer, the reason shown)]) for each typed step, in order.
BAD_INPUT: list[tuple[str, list[tuple[str, str]]]] = [
    ("Budżet 2027", [("ab", "od 3 do 150 znaków"), ("x" * 151, "od 3 do 150 znaków")]),
    (
        "03.12 17:00",
        [
            ("jutro o piątej", "Nie rozumiem tej daty"),
            ("31.02.2027 10:00", "nie istnieje"),
            ("2027-01-01 25:00", "nie istnieje"),
            ("2026-11-25 17:00", "już minął (teraz jest 2026-11-26 11:00)"),
            ("2029-01-01 10:00", "więcej niż dwa lata"),
        ],
    ),
    ("1h30", [("dużo", "od 5 do 1440 minut"), ("3", "od 5 do 1440 minut"), ("2d", "od 5")]),
    (
        "Sala 3 https://meet.example.org/x",
        [("ab", "Podaj adres"), ("https://a.pl https://b.pl", "jeden link")],
    ),
    ("Program", [("y" * 2001, "najwyżej 2000 znaków (ten ma 2001)")]),
    ("30", [("0", "od 1 do 100000"), ("trzydzieści", "od 1 do 100000")]),
    (
        "2d, 3h",
        [
            ("2 tygodnie", "Nie rozumiem"),
            ("1m", "najkrótsze przypomnienie to 5 minut"),
            ("10m, 20m, 30m, 40m, 50m, 1h", "do 5"),
        ],
    ),
]


async def test_bad_input_in_every_step_is_explained_and_asked_again(bot: BotDriver) -> None:
    await moderator(bot)
    calls = await bot.send(MOD, "/new_meeting")
    calls = await bot.send(MOD, "Kultura")  # a button step answered with text
    assert "przyciskiem" in texts_of(calls)
    assert "Którego zespołu dotyczy?" in texts_of(calls)
    await press_sector(bot, MOD, "culture")
    for good, bad_answers in BAD_INPUT:
        for bad, reason in bad_answers:
            calls = await bot.send(MOD, bad)
            shown = texts_of(calls)
            assert reason in shown, (bad, shown)
            # ONE message: the reason and the same question again.
            assert len(sent_messages(calls)) == 1, shown
        question = texts_of(calls).split("\n\n")[-1]
        calls = await bot.send(MOD, good)
        assert question not in texts_of(calls)  # moved on
    # Recurrence: buttons only.
    calls = await bot.send(MOD, "co tydzień")
    assert "przyciskiem" in texts_of(calls)
    assert "Czy spotkanie się powtarza?" in texts_of(calls)
    await press_key(bot, MOD, "meetings.button-rec-weeks")
    for bad in ("1", "13", "dwa"):
        calls = await bot.send(MOD, bad)
        assert "od 2 do 12" in texts_of(calls)
        assert "Co ile tygodni?" in texts_of(calls)
    await bot.send(MOD, "2")
    for bad, reason in [
        ("kiedyś", "Nie rozumiem tej daty"),
        ("31.02.2027", "nie istnieje"),
        ("2026-12-01", "nie może być wcześniejsza"),
        ("2029-01-01", "więcej niż dwa lata"),
    ]:
        calls = await bot.send(MOD, bad)
        assert reason in texts_of(calls), bad
        assert "Do kiedy powtarzać?" in texts_of(calls)
    calls = await bot.send(MOD, "2027-01-31")
    shown = texts_of(calls)
    assert "czwartek, 3 grudnia 2026, 17:00–18:30" in shown
    assert "Sala 3" in shown
    assert "https://meet.example.org/x" in shown
    assert "Limit: 30 miejsc" in shown
    assert "5 spotkań w cyklu" in shown  # 3.12, 17.12, 31.12, 14.01, 28.01
    calls = await bot.send(MOD, "publikuj")  # the preview wants a button too
    assert "przyciskiem" in texts_of(calls)
    await press_key(bot, MOD, "meetings.button-publish")
    assert await rows(bot, "SELECT count(*), min(capacity) FROM meetings") == [(5, 30)]
    leads = await rows(bot, "SELECT DISTINCT reminder_minutes FROM meetings")
    assert [json.loads(x) for (x,) in leads] == [[2880, 180]]


ALL_STEPS: list[tuple[str, str]] = [
    ("press", "Kultura"),
    ("send", "Budżet 2027"),
    ("send", "2026-12-03 17:00"),
    ("press", "90 min (domyślnie)"),
    ("send", "ul. Józefińska 14"),
    ("press", "Pomiń"),
    ("press", "Bez limitu"),
    ("press", "Domyślne przypomnienia"),
    ("press", "Co kilka tygodni"),
    ("send", "2"),
    ("send", "2027-01-31"),
    ("press", "✏️ Zmień odpowiedź"),
]


@pytest.mark.parametrize("answered", range(len(ALL_STEPS) + 1))
async def test_cancel_at_every_step_stores_nothing(bot: BotDriver, answered: int) -> None:
    await moderator(bot)
    await bot.send(MOD, "/new_meeting")
    for how, value in ALL_STEPS[:answered]:
        if how == "press":
            await bot.press(MOD, value)
        else:
            await bot.send(MOD, value)
    calls = await bot.send(MOD, "/cancel")
    assert "Nic nie zostało zapisane" in texts_of(calls)
    assert await rows(bot, "SELECT count(*) FROM meetings") == [(0,)]
    assert await rows(bot, "SELECT count(*) FROM meeting_series") == [(0,)]
    assert await rows(bot, "SELECT count(*) FROM announcements") == [(0,)]
    # The conversation is over: text is no longer taken as an answer.
    calls = await bot.send(MOD, "2026-12-03 17:00")
    assert "Nie rozumiem tej daty" not in texts_of(calls)
    assert "Ile potrwa?" not in texts_of(calls)
    assert "Podgląd" not in texts_of(calls)


async def test_abort_button_on_preview_and_forged_preview_buttons(bot: BotDriver) -> None:
    await moderator(bot)
    await new_meeting(bot)
    calls = await bot.click(MOD, "mtg:field:99")
    assert calls[-1].method == "answerCallbackQuery"
    calls = await bot.click(MOD, "mtg:rec:none")  # a button of another step
    assert calls[-1].params.get("show_alert") is True
    calls = await press_key(bot, MOD, "meetings.button-abort")
    assert "Nic nie zostało zapisane" in texts_of(calls)
    assert await rows(bot, "SELECT count(*) FROM meetings") == [(0,)]
    assert not flow_buttons(bot, MOD)  # the preview's buttons went with it
    calls = await bot.click(MOD, "mtg:publish")  # replayed after the end: stale
    assert await rows(bot, "SELECT count(*) FROM meetings") == [(0,)]


async def test_publish_rechecks_the_start_and_the_role(bot: BotDriver) -> None:
    await moderator(bot)
    bot.clock.now = datetime(2026, 12, 3, 15, 50, tzinfo=UTC)  # 17:00 Warsaw is 16:00 UTC
    await new_meeting(bot)
    # The draft waited past the start (and within the conversation's 30 minutes).
    bot.clock.now = datetime(2026, 12, 3, 16, 5, tzinfo=UTC)
    calls = await press_key(bot, MOD, "meetings.button-publish")
    assert "już minął" in texts_of(calls)
    assert "Kiedy się zaczyna?" in texts_of(calls)
    await bot.send(MOD, "2026-12-10 17:00")  # back to the preview
    await db_of(bot).run(raw_sql(lambda conn: conn.execute("DELETE FROM moderators")))
    calls = await press_key(bot, MOD, "meetings.button-publish")
    assert "Nie masz uprawnień" in texts_of(calls)
    assert await rows(bot, "SELECT count(*) FROM meetings") == [(0,)]


async def test_edit_bad_value_is_asked_again_and_unchanged_value_says_so(
    bot: BotDriver,
) -> None:
    await moderator(bot)
    meeting_id = await publish(bot)
    await bot.send(MOD, f"/edit_meeting {meeting_id}")
    await press_key(bot, MOD, "meetings.field-title")
    calls = await bot.send(MOD, "ab")
    assert len(sent_messages(calls)) == 1  # the reason and the question together
    assert "od 3 do 150 znaków" in texts_of(calls)
    assert "Podaj tytuł" in texts_of(calls)
    calls = await bot.send(MOD, "Budżet obywatelski 2027")
    assert "Nic jeszcze nie zmieniono" in texts_of(calls)
    assert label(bot, MOD, "meetings.button-save") not in str(calls[-1].buttons())
    await press_key(bot, MOD, "meetings.button-discard")
    changes = await rows(bot, "SELECT count(*) FROM announcements WHERE kind = 'meeting-change'")
    assert changes == [(0,)]


async def test_started_meeting_cannot_be_edited(bot: BotDriver) -> None:
    await moderator(bot)
    meeting_id = await publish(bot)
    bot.clock.now = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    calls = await bot.send(MOD, f"/edit_meeting {meeting_id}")
    assert "już się rozpoczęło" in texts_of(calls)


def test_year_less_date_means_the_next_such_date() -> None:
    from bot.services.meeting_input import parse_start

    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert parse_start("03.12 17:00", WARSAW, now) == datetime(2026, 12, 3, 17, 0)
    assert parse_start("20.11 17:00", WARSAW, now) == datetime(2027, 11, 20, 17, 0)
    assert parse_start("26.11 11:30", WARSAW, now) == datetime(2026, 11, 26, 11, 30)
    assert parse_start("26.11 10:30", WARSAW, now) == datetime(2027, 11, 26, 10, 30)


async def test_card_buttons_for_moderators_and_forged_edit(bot: BotDriver, anna: TgUser) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    meeting_id = await publish(bot)
    calls = await bot.click(anna, f"mtg:edit:{meeting_id}")  # forged by a member
    assert calls[-1].params.get("show_alert") is True
    assert "Nie masz uprawnień" in texts_of(calls)
    calls = await bot.click(anna, "mtg:efield:title")  # no conversation: stale
    assert calls[-1].method == "answerCallbackQuery"
    await bot.send(MOD, f"/meeting {meeting_id}")
    calls = await bot.press(MOD, "🚫 Odwołaj")  # the button on the card
    assert (f"mtg:cancel-one:{meeting_id}") in [d for c in calls for _, d in c.buttons()]
    calls = await press_key(bot, MOD, "meetings.button-keep")
    assert "bez zmian" in texts_of(calls)
    assert await rows(bot, "SELECT state FROM meetings") == [("scheduled",)]


async def test_english_admin_flow_and_consent_needed(bot: BotDriver, john: TgUser) -> None:
    await bot.send(ADMIN, "/start")
    calls = await bot.send(ADMIN, "/new_meeting")
    assert "consent" in texts_of(calls).lower() or "zgod" in texts_of(calls)
    await bot.onboard(ADMIN)
    await bot.onboard(john, sectors=["education"])
    calls = await new_meeting(bot, ADMIN, team="education", start="2026-12-05 09:00")
    shown = texts_of(calls)
    assert "Saturday, 5 December 2026, 09:00–10:30" in shown
    assert "Publish the meeting?" in shown
    await press_key(bot, ADMIN, "meetings.button-publish")
    sent = sent_messages(await bot.dispatch())
    assert [c.chat_id for c in sent] == [john.id]
    assert "New sector meeting" in sent[0].text


async def test_another_command_pauses_the_draft_and_new_meeting_resumes_it(
    bot: BotDriver,
) -> None:
    await moderator(bot)
    meeting_id = await publish(bot)
    await bot.send(MOD, "/new_meeting")
    await press_sector(bot, MOD, "culture")
    await bot.send(MOD, "Budżet 2028")
    # /edit_meeting pauses the half-typed meeting; its own /cancel drops only the edit.
    calls = await bot.send(MOD, f"/edit_meeting {meeting_id}")
    assert "Wybierz pole do zmiany" in texts_of(calls)
    calls = await bot.send(MOD, "/cancel")
    assert "Nic nie zostało zapisane" in texts_of(calls)
    calls = await bot.send(MOD, "2026-12-10 17:00")  # paused: not an answer
    assert "Ile potrwa?" not in texts_of(calls)
    calls = await bot.send(MOD, "/new_meeting")
    assert "Wracamy do przerwanej rozmowy" in texts_of(calls)
    assert "Kiedy się zaczyna?" in texts_of(calls)
    calls = await bot.send(MOD, "2026-12-10 17:00")
    assert "Ile potrwa?" in texts_of(calls)


async def test_change_notice_cuts_long_values(bot: BotDriver, anna: TgUser) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    long_url = "https://meet.example.org/" + "a" * 470
    meeting_id = await publish(bot, place=f"{'Sala ' * 59}1 {long_url}", agenda="z" * 2000)
    sent_messages(await bot.dispatch())
    await bot.send(MOD, f"/edit_meeting {meeting_id}")
    await press_key(bot, MOD, "meetings.field-place")
    calls = await bot.send(MOD, "https://meet.example.org/" + "b" * 470)
    assert len(texts_of(calls)) <= 4096
    await press_key(bot, MOD, "meetings.button-save")
    sent = sent_messages(await bot.dispatch())
    assert len(sent[0].text) <= 4096
    assert "…" in sent[0].text


async def test_meeting_audience_storage(bot: BotDriver, anna: TgUser, john: TgUser) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    await bot.onboard(john, sectors=["culture"])
    going = TgUser(id=4446, language_code="en")
    await bot.onboard(going, sectors=["education"])
    meeting_id = await publish(bot)
    now = "2026-11-26T10:00:00.000000+00:00"

    def setup(conn: Any) -> None:
        conn.execute(
            "INSERT INTO rsvps (meeting_id, user_id, answer, answered_at) VALUES (?, ?, ?, ?)",
            (meeting_id, going.id, "maybe", now),
        )
        conn.execute("UPDATE users SET active = 0 WHERE id = ?", (john.id,))

    await db_of(bot).run(raw_sql(setup))
    recipients = await db_of(bot).run(lambda unit: unit.meetings.list_notice_recipients(meeting_id))
    assert recipients == [(anna.id, "pl"), (going.id, "en")]


async def test_timeout_drops_the_draft_and_says_so(bot: BotDriver) -> None:
    await moderator(bot)
    await bot.send(MOD, "/new_meeting")
    await press_sector(bot, MOD, "culture")
    await bot.send(MOD, "Budżet 2027")
    bot.clock.advance(minutes=29)
    await run_housekeeping(bot.app.bot_data["deps"])
    assert sent_messages(await bot.dispatch()) == []  # still within its 30 minutes
    bot.clock.advance(minutes=1)
    await run_housekeeping(bot.app.bot_data["deps"])
    sent = sent_messages(await bot.dispatch())
    assert [c.chat_id for c in sent] == [MOD.id]
    assert "Minęło zbyt dużo czasu" in sent[0].text
    calls = await bot.send(MOD, "2026-12-03 17:00")  # no longer an answer
    assert "Ile potrwa?" not in texts_of(calls)
    calls = await bot.send(MOD, "/new_meeting")  # nothing to resume: a fresh start
    assert "Wracamy" not in texts_of(calls)
    assert await rows(bot, "SELECT count(*) FROM meetings") == [(0,)]


async def test_raising_the_capacity_promotes_those_waiting_at_once(bot: BotDriver) -> None:
    await moderator(bot)
    waiting = [TgUser(id=3000 + n, language_code="pl") for n in range(3)]
    for person in waiting:
        await bot.onboard(person, sectors=["culture"])
    meeting_id = await publish(bot)
    await bot.send(MOD, f"/edit_meeting {meeting_id}")
    await press_key(bot, MOD, "meetings.field-capacity")
    await bot.send(MOD, "1")
    await press_key(bot, MOD, "meetings.button-save")
    sent_messages(await bot.dispatch())
    for person in waiting:
        await bot.send(person, f"/meeting {meeting_id}")
        await bot.press(person, "✅ Biorę udział", exact=False)
    sent_messages(await bot.dispatch())

    await bot.send(MOD, f"/edit_meeting {meeting_id}")
    await press_key(bot, MOD, "meetings.field-capacity")
    await bot.send(MOD, "2")
    await press_key(bot, MOD, "meetings.button-save")
    promoted = [
        c.chat_id for c in sent_messages(await bot.dispatch()) if "Zwolniło się miejsce" in c.text
    ]
    assert promoted == [waiting[1].id]
    calls = await bot.press(waiting[2], "Biorę udział", exact=False)  # the same card again
    assert "pozycja 1." in texts_of(calls)


# ---------------------------------------------------------------- issue 13: the edit form


async def test_edit_form_changes_two_fields_and_sends_one_notice(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    await bot.onboard(john, sectors=["culture"])
    meeting_id = await publish(bot)
    sent_messages(await bot.dispatch())

    await bot.send(MOD, f"/edit_meeting {meeting_id}")
    await press_key(bot, MOD, "meetings.field-title")
    calls = await bot.send(MOD, "Budżet obywatelski 2028")
    assert "Budżet obywatelski 2027 → Budżet obywatelski 2028" in texts_of(calls)
    # The form stays open: the other fields' buttons are live on the new message...
    assert label(bot, MOD, "meetings.field-place") in str(calls[-1].buttons())
    # ...and the title prompt's buttons are gone, so no old button stays pressable.
    assert len(flow_buttons(bot, MOD)) == 1
    calls = await press_key(bot, MOD, "meetings.field-place")
    assert calls[-1].method == "editMessageText"  # the form's message becomes the question
    calls = await bot.send(MOD, "Sala 5, ul. Floriańska 3")
    preview = texts_of(calls)
    assert "Budżet obywatelski 2027 → Budżet obywatelski 2028" in preview
    assert "ul. Józefińska 14, Kraków → Sala 5, ul. Floriańska 3" in preview
    assert await rows(bot, "SELECT title FROM meetings") == [("Budżet obywatelski 2027",)]
    assert sent_messages(await bot.dispatch()) == []  # nothing sent before Save

    calls = await bot.press(MOD, "💾 Zapisz i powiadom")
    assert "Zapisano zmianę spotkania nr 1" in texts_of(calls)
    sent = sent_messages(await bot.dispatch())
    assert sorted(c.chat_id or 0 for c in sent) == sorted([anna.id, john.id])  # ONE notice each
    by_chat = {c.chat_id: c.text for c in sent}
    assert "Budżet obywatelski 2027 → Budżet obywatelski 2028" in by_chat[anna.id]
    assert "ul. Józefińska 14, Kraków → Sala 5, ul. Floriańska 3" in by_chat[anna.id]
    assert "Title: Budżet obywatelski 2027 → Budżet obywatelski 2028" in by_chat[john.id]
    assert await rows(bot, "SELECT title, place, revision FROM meetings") == [
        ("Budżet obywatelski 2028", "Sala 5, ul. Floriańska 3", 1)
    ]


async def test_edit_form_discard_and_cancel_change_nothing(bot: BotDriver, anna: TgUser) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    meeting_id = await publish(bot)
    sent_messages(await bot.dispatch())
    await bot.send(MOD, f"/edit_meeting {meeting_id}")
    await press_key(bot, MOD, "meetings.field-title")
    await bot.send(MOD, "Inny tytuł")
    calls = await press_key(bot, MOD, "meetings.button-discard")
    assert "Zmiany odrzucone" in texts_of(calls)
    assert not flow_buttons(bot, MOD)
    await bot.send(MOD, f"/edit_meeting {meeting_id}")
    await press_key(bot, MOD, "meetings.field-duration")
    await bot.send(MOD, "2h")
    calls = await bot.send(MOD, "/cancel")
    assert "Nic nie zostało zapisane" in texts_of(calls)
    assert await rows(bot, "SELECT title, duration_minutes, revision FROM meetings") == [
        ("Budżet obywatelski 2027", 90, 0)
    ]
    assert sent_messages(await bot.dispatch()) == []


async def test_edit_and_cancel_without_a_number_list_the_meetings(bot: BotDriver) -> None:
    await moderator(bot)
    await moderator(bot, OTHER_MOD, "education")
    first = await publish(bot)
    await publish(bot, title="Drugie spotkanie", start="2026-12-10 17:00")
    await publish(bot, OTHER_MOD, team="education", title="Edukacja")
    calls = await bot.send(MOD, "/edit_meeting")
    labels = [shown for shown, _ in calls[-1].buttons()]
    assert len(labels) == 2  # only the sectors this moderator runs
    assert labels[0].startswith(f"{first}. ")
    assert "Budżet obywatelski 2027" in labels[0]
    calls = await bot.press(MOD, "Drugie spotkanie", exact=False)
    assert calls[-1].method == "editMessageText"  # the picker becomes the form
    assert "Drugie spotkanie" in texts_of(calls)

    await bot.send(MOD, "/cancel")
    calls = await bot.send(MOD, "/cancel_meeting")
    assert len(calls[-1].buttons()) == 2
    await bot.press(MOD, "Budżet obywatelski 2027", exact=False)
    calls = await press_key(bot, MOD, "meetings.button-cancel-one")
    assert "Odwołano spotkanie nr 1" in texts_of(calls)
    assert await rows(bot, "SELECT state FROM meetings ORDER BY id") == [
        ("cancelled",),
        ("scheduled",),
        ("scheduled",),
    ]


async def test_new_meeting_steps_edit_in_place_and_preview_has_no_live_rsvp(
    bot: BotDriver,
) -> None:
    await moderator(bot)
    await bot.send(MOD, "/new_meeting")
    calls = await press_sector(bot, MOD, "culture")
    assert [c.method for c in calls if c.method != "answerCallbackQuery"] == ["editMessageText"]
    assert "Kultura" in texts_of(calls)
    assert "Podaj tytuł" in texts_of(calls)
    calls = await bot.send(MOD, "Budżet 2027")
    assert "czas polski" in texts_of(calls)  # the zone as people name it
    await bot.send(MOD, "/cancel")
    preview = await new_meeting(bot)
    shown = [label for c in preview for label, _ in c.buttons()]
    assert label(bot, MOD, "meetings.card-going") not in shown
    assert not any(data.startswith(("rsvp:", "cal:")) for c in preview for _, data in c.buttons())
    assert len(flow_buttons(bot, MOD)) == 1  # only the preview's own buttons are live


async def test_a_one_minute_reminder_names_the_minimum(bot: BotDriver) -> None:
    await moderator(bot)
    await bot.send(MOD, "/new_meeting")
    await press_sector(bot, MOD, "culture")
    for answer in ("Budżet 2027", "2026-12-03 17:00", "90", "Sala 3", "-", "10"):
        await bot.send(MOD, answer)
    calls = await bot.send(MOD, "1m")
    assert "„1m” to za wcześnie przed startem: najkrótsze przypomnienie to 5 minut" in texts_of(
        calls
    )


async def test_cancel_notice_says_cancelled_once(bot: BotDriver, anna: TgUser) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    meeting_id = await publish(bot)
    sent_messages(await bot.dispatch())
    await bot.send(MOD, f"/cancel_meeting {meeting_id}")
    await press_key(bot, MOD, "meetings.button-cancel-one")
    [notice] = sent_messages(await bot.dispatch())
    assert notice.text.count("odwołane") == 1, notice.text


async def test_text_at_the_series_scope_step_gets_the_hint_and_the_question_again(
    bot: BotDriver,
) -> None:
    await moderator(bot)
    await publish(bot, start="2027-03-18 17:00", recurrence="weekly", until="2027-04-08")
    [(second,)] = await rows(
        bot, "SELECT id FROM meetings WHERE series_id IS NOT NULL ORDER BY starts_at LIMIT 1, 1"
    )
    await bot.send(MOD, f"/edit_meeting {second}")
    calls = await bot.send(MOD, "tylko to")
    [message] = new_messages(calls)
    assert "Wybierz jedną z opcji przyciskiem." in message.text
    assert "To i kolejne w cyklu" in str(message.buttons())  # the question again, with buttons
    # Only the newest question's buttons are live: the first one lost its.
    [live] = live_buttons(bot, MOD, "mtg:")
    assert live.message_id == message.message_id
    await bot.press(MOD, "To i kolejne w cyklu", exact=False)
    assert bot.keyboards(MOD)  # the form is on screen
