"""Notification settings: /settings, muted sectors, reminder lead times, quiet hours, digest."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import Config
from bot.deps import Deps
from bot.engine import build_engine
from bot.services import delivery
from bot.services import meetings as meetings_service
from bot.services import settings as settings_service
from bot.services.delivery import Recipient
from storage import delivery as delivery_storage
from storage import settings as settings_storage
from storage.timefmt import db_time
from storage.unit import Unit
from tests.fakes import Call
from tests.harness import BotDriver, TgUser, texts_of
from tests.meeting_factory import add_meeting, db_of
from tests.sql import raw_sql


@pytest.fixture
def config(config: Config) -> Config:
    fast = config.delivery.model_copy(update={"messages_per_second": 100_000.0})
    return config.model_copy(update={"delivery": fast})


def deps_of(bot: BotDriver) -> Deps:
    deps = bot.app.bot_data["deps"]
    assert isinstance(deps, Deps)
    return deps


async def team_id(bot: BotDriver, slug: str = "culture") -> int:
    team = await db_of(bot).run(lambda unit: unit.teams.get_team_by_slug(slug))
    assert team is not None
    return team.id


async def announce(
    bot: BotDriver,
    kind: str,
    text: str,
    *,
    audience: str = "team",
    audience_id: int | None = None,
    lead: int | None = None,
) -> int:
    """Queue a notice due now; the audience is the culture team unless told otherwise."""
    now = bot.clock()
    target = audience_id if audience_id is not None else await team_id(bot)

    def inner(conn: sqlite3.Connection) -> int:
        return delivery.announce(
            Unit(conn),
            kind=kind,
            audience=audience,
            audience_id=target,
            messages=delivery.messages_for(
                lambda lang: delivery.OutgoingMessage(text=f"{text} ({lang})")
            ),
            now=now,
            lead_minutes=lead,
        )

    return await db_of(bot).run(raw_sql(inner))


async def tick(bot: BotDriver) -> dict[int, list[str]]:
    """Let the housekeeping jobs (digests) and the dispatcher run; return the notices each
    chat got meanwhile."""
    got: dict[int, list[str]] = {}
    for call in await bot.tick():
        if call.method == "sendMessage" and call.chat_id is not None:
            got.setdefault(call.chat_id, []).append(call.text)
    return got


async def choose(bot: BotDriver, user: TgUser, *labels: str) -> list[Call]:
    """Open /settings and press each button the user sees whose label contains `label`."""
    calls = await bot.send(user, "/settings")
    for label in labels:
        calls = await bot.press(user, label, exact=False)
    return calls


DIGEST_PL = "📰 Dzienne podsumowanie"


async def stored(bot: BotDriver, user: TgUser) -> settings_storage.NotificationSettings | None:
    return await db_of(bot).run(lambda unit: unit.settings.get_settings(user.id))


# --- the classification -----------------------------------------------------------------


def test_every_kind_in_use_is_classified_once() -> None:
    engine = build_engine()
    assert engine.notice_class("meeting-notice") == "news"
    assert engine.notice_class("broadcast") == "news"
    assert engine.notice_class("call-opened") == "news"
    assert engine.notice_class("meeting-reminder") == "reminder"
    assert engine.notice_class("call-reminder") == "reminder"
    for kind in ("rsvp-promoted", "postulate-status", "role-change", "moderator-alert"):
        assert engine.notice_class(kind) == "transactional"
    assert engine.notice_class("something-new") == "transactional"


# --- /settings --------------------------------------------------------------------------


async def test_settings_show_the_defaults_and_one_button_per_choice(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna, sectors=["culture", "education"])
    [answer] = await bot.send(anna, "/settings")
    assert "Ustawienia powiadomień" in answer.text
    assert "1 dzień, 1 godzinę" in answer.text  # every configured lead time
    assert "Godziny ciszy</b>: wyłączone" in answer.text
    assert "od razu" in answer.text
    culture, education = await team_id(bot), await team_id(bot, "education")
    buttons = answer.buttons()
    assert ("🔔 Kultura", f"set:mute:{culture}") in buttons
    assert ("🔔 Edukacja", f"set:mute:{education}") in buttons
    assert ("✅ 1 dzień przed", "set:lead:1440") in buttons
    assert ("✅ 1 godzinę przed", "set:lead:60") in buttons
    assert [data for _, data in buttons][-2:] == ["set:quiet", "set:digest"]
    assert await stored(bot, anna) is None  # showing stores nothing


async def test_settings_need_consent_and_a_private_chat(bot: BotDriver, anna: TgUser) -> None:
    await bot.send(anna, "/start")
    calls = await bot.send(anna, "/settings")
    assert "zgod" in texts_of(calls).lower()
    assert not any(c.buttons() and c.buttons()[0][1].startswith("set:") for c in calls)
    calls = await bot.click(anna, "set:digest")  # a button she was never shown
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert await stored(bot, anna) is None

    await bot.press(anna, bot.label(anna, "button.consent"))
    calls = await bot.send(anna, "/settings", chat_id=-100123)
    assert "prywatn" in texts_of(calls).lower()
    assert all(c.chat_id == -100123 for c in calls if c.method == "sendMessage")
    calls = await bot.click(anna, "set:digest", chat_id=-100123)
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert await stored(bot, anna) is None


async def test_buttons_edit_the_message_in_place(bot: BotDriver, john: TgUser) -> None:
    await bot.onboard(john, sectors=["culture"])
    culture = await team_id(bot)
    calls = await choose(bot, john, "🔔 Culture")
    assert calls[0].method == "answerCallbackQuery"
    assert calls[0].params["text"] == "Saved."
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert ("🔕 Culture", f"set:mute:{culture}") in edit.buttons()
    calls = await bot.press(john, "✅ 1 day before")
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert ("▫️ 1 day before", "set:lead:1440") in edit.buttons()
    assert "Reminders before meetings</b>: 1 hour" in edit.text
    calls = await bot.press(john, "📰 A daily digest instead of instant news")
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert "one daily digest at 08:00" in edit.text
    setting = await stored(bot, john)
    assert setting is not None
    assert (setting.reminders_off, setting.digest) == ([1440], True)
    assert await db_of(bot).run(lambda unit: unit.settings.list_muted_team_ids(john.id)) == {
        culture
    }

    # Pressed again, each toggle goes back.
    await bot.press(john, "🔕 Culture")
    await bot.press(john, "▫️ 1 day before")
    calls = await bot.press(john, "📰 News at once instead of the digest")
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert "News</b>: at once" in edit.text
    setting = await stored(bot, john)
    assert setting is not None
    assert (setting.reminders_off, setting.digest) == ([], False)
    assert await db_of(bot).run(lambda unit: unit.settings.list_muted_team_ids(john.id)) == set()


async def test_quiet_hours_are_chosen_start_then_end(bot: BotDriver, john: TgUser) -> None:
    await bot.onboard(john, sectors=["culture"])
    calls = await choose(bot, john, "🌙 Quiet hours")
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert ("22:00", "set:qs:22") in edit.buttons()
    assert await stored(bot, john) is None
    calls = await bot.press(john, "22:00")
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert ("07:00", "set:qe:22:7") in edit.buttons()
    assert ("22:00", "set:qe:22:22") not in edit.buttons()
    calls = await bot.press(john, "07:00")
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert "Quiet hours</b>: 22:00–07:00" in edit.text
    setting = await stored(bot, john)
    assert setting is not None
    assert (setting.quiet_start, setting.quiet_end) == (1320, 420)
    await bot.press(john, "🌙 Quiet hours")
    calls = await bot.press(john, "No quiet hours")
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert "Quiet hours</b>: off" in edit.text
    setting = await stored(bot, john)
    assert setting is not None
    assert setting.quiet_start is None


@pytest.mark.parametrize(
    "data",
    [
        "set:mute:999999",  # no such team
        "set:mute:{coordination}",  # not a sector team
        "set:mute:{education}",  # a sector the user does not follow
        "set:lead:30",  # not a configured lead time
        "set:qe:22:22",  # an empty window
        "set:qe:25:3",
        "set:qs:24",
        "set:bogus",
        "set:mute:1:2",
        "set:lead:-60",
    ],
)
async def test_forged_buttons_are_stale_and_change_nothing(
    bot: BotDriver, anna: TgUser, data: str
) -> None:
    await bot.onboard(anna, sectors=["culture"])
    ids = {
        "coordination": await team_id(bot, "coordination"),
        "education": await team_id(bot, "education"),
    }
    calls = await bot.click(anna, data.format(**ids))
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert calls[0].params["show_alert"] is True
    assert calls[0].params["text"] == "Ten przycisk jest już nieaktualny."
    assert await stored(bot, anna) is None
    assert await db_of(bot).run(lambda unit: unit.settings.list_muted_team_ids(anna.id)) == set()


# --- the settings at fan-out ------------------------------------------------------------


async def test_a_muted_sector_sends_no_news_but_reminders_and_personal_notices_arrive(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await bot.onboard(anna, sectors=["culture"])
    await bot.onboard(john, sectors=["culture"])
    await choose(bot, anna, "🔔 Kultura")
    await announce(bot, "meeting-notice", "Nowe spotkanie")
    await announce(bot, "broadcast", "Ogłoszenie")
    await announce(bot, "meeting-reminder", "Przypomnienie", lead=60)
    await announce(bot, "rsvp-promoted", "Masz miejsce", audience="user", audience_id=anna.id)
    got = await tick(bot)
    assert got[anna.id] == ["Przypomnienie (pl)", "Masz miejsce (pl)"]
    assert got[john.id] == ["Nowe spotkanie (en)", "Ogłoszenie (en)", "Przypomnienie (en)"]
    # Still subscribed: muting is not unsubscribing.
    [answer] = await bot.send(anna, "/sectors")
    assert any(label.startswith("✅") and "Kultura" in label for label, _ in answer.buttons())


async def test_a_broadcast_skips_only_those_who_muted_every_sector_it_goes_to(
    bot: BotDriver, anna: TgUser, john: TgUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    def subscribers_of_broadcast(conn: sqlite3.Connection, broadcast_id: int) -> list[Recipient]:
        row = conn.execute("SELECT team_ids FROM broadcasts WHERE id = ?", (broadcast_id,))
        teams = json.loads(row.fetchone()[0] or "null")
        found = conn.execute(
            """SELECT DISTINCT u.id, u.language
               FROM subscriptions s JOIN users u ON u.id = s.user_id
               WHERE ? IS NULL OR s.team_id IN (SELECT value FROM json_each(?)) ORDER BY u.id""",
            (None if teams is None else 1, json.dumps(teams)),
        ).fetchall()
        return [(r[0], "pl" if r[1] == "pl" else "en") for r in found]

    monkeypatch.setitem(
        bot.app.bot_data["engine"].audiences, "broadcast", (raw_sql(subscribers_of_broadcast),)
    )
    await bot.onboard(anna, sectors=["culture", "education"])
    await bot.onboard(john, sectors=["culture"])
    culture, education = await team_id(bot), await team_id(bot, "education")

    async def broadcast(teams: list[int] | None, text: str) -> None:
        now = bot.clock()

        def add(conn: sqlite3.Connection) -> int:
            return int(
                conn.execute(
                    """INSERT INTO broadcasts (created_by, team_ids, summary, due_at, created_at)
                       VALUES (900, ?, 'x', ?, ?) RETURNING id""",
                    (None if teams is None else json.dumps(teams), db_time(now), db_time(now)),
                ).fetchone()[0]
            )

        await announce(
            bot,
            "broadcast",
            text,
            audience="broadcast",
            audience_id=await db_of(bot).run(raw_sql(add)),
        )

    await choose(bot, anna, "🔔 Kultura")
    await broadcast([culture], "Kultura")
    await broadcast([culture, education], "Obie")
    await broadcast(None, "Wszyscy")
    got = await tick(bot)
    assert got[anna.id] == ["Obie (pl)", "Wszyscy (pl)"]
    assert got[john.id] == ["Kultura (en)", "Obie (en)", "Wszyscy (en)"]

    await choose(bot, anna, "🔔 Edukacja")
    await broadcast([culture, education], "Obie znowu")
    await broadcast(None, "Wszyscy znowu")
    got = await tick(bot)
    assert got[anna.id] == ["Wszyscy znowu (pl)"]
    assert got[john.id] == ["Obie znowu (en)", "Wszyscy znowu (en)"]
    await choose(bot, john, "📰 A daily digest")
    await broadcast(None, "Do podsumowania")
    got = await tick(bot)
    assert got[anna.id] == ["Do podsumowania (pl)"]
    assert john.id not in got
    bot.clock.now = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
    [digest] = (await tick(bot))[john.id]
    assert "Do podsumowania (en)" in digest


async def test_a_reminder_lead_turned_off_skips_the_user(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await bot.onboard(anna, sectors=["culture"])
    await bot.onboard(john, sectors=["culture"])
    await choose(bot, anna, "✅ 1 dzień przed")
    await announce(bot, "meeting-reminder", "Jutro", lead=1440)
    await announce(bot, "meeting-reminder", "Za godzinę", lead=60)
    await announce(bot, "call-reminder", "Termin postulatów")  # no lead: always
    got = await tick(bot)
    assert got[anna.id] == ["Za godzinę (pl)", "Termin postulatów (pl)"]
    assert got[john.id] == ["Jutro (en)", "Za godzinę (en)", "Termin postulatów (en)"]


async def test_meeting_reminders_carry_their_lead_time(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture"])
    meeting_id = await add_meeting(bot, starts_in=timedelta(days=3))
    now = bot.clock()

    def schedule(conn: sqlite3.Connection) -> list[int | None]:
        meeting = Unit(conn).meetings.get_meeting(meeting_id)
        assert meeting is not None
        team = Unit(conn).teams.get_team(meeting.team_id)
        assert team is not None
        meeting = meeting.model_copy(update={"reminder_minutes": [1440, 60]})
        meetings_service._schedule_reminders(Unit(conn), meeting, team, now, 900)
        rows = conn.execute(
            "SELECT * FROM announcements WHERE kind = 'meeting-reminder' ORDER BY due_at"
        ).fetchall()
        return [delivery_storage.Announcement.from_row(row).lead_minutes for row in rows]

    assert await db_of(bot).run(raw_sql(schedule)) == [1440, 60]


async def test_quiet_hours_hold_news_until_morning_and_reminders_go_on_time(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await bot.onboard(anna, sectors=["culture"])
    await bot.onboard(john, sectors=["culture"])
    await bot.send(anna, "/settings")
    for label in (bot.label(anna, "settings.button-quiet"), "22:00", "07:00"):
        await bot.press(anna, label)
    # 22:30 in Kraków (UTC+1 in November).
    bot.clock.now = datetime(2026, 11, 26, 21, 30, tzinfo=UTC)
    news = await announce(bot, "meeting-notice", "Nowe spotkanie")
    await announce(bot, "meeting-reminder", "Za godzinę", lead=60)
    got = await tick(bot)
    assert got[anna.id] == ["Za godzinę (pl)"]
    assert got[john.id] == ["Nowe spotkanie (en)", "Za godzinę (en)"]
    held = {
        row.chat_id: row
        for row in await db_of(bot).run(lambda unit: unit.delivery.list_deliveries(news))
    }
    assert held[anna.id].state == "pending"
    assert held[anna.id].next_attempt_at == datetime(2026, 11, 27, 6, 0, tzinfo=UTC)

    bot.clock.now = datetime(2026, 11, 27, 5, 59, tzinfo=UTC)
    assert anna.id not in await tick(bot)
    bot.clock.now = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    assert (await tick(bot))[anna.id] == ["Nowe spotkanie (pl)"]

    # Outside the window news goes at once.
    bot.clock.now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    await announce(bot, "broadcast", "W południe")
    assert (await tick(bot))[anna.id] == ["W południe (pl)"]


def test_quiet_windows_with_and_without_midnight() -> None:
    zone = ZoneInfo("Europe/Warsaw")
    at = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # 13:00 local
    assert settings_service.quiet_until(22 * 60, 7 * 60, at, zone) is None
    assert settings_service.quiet_until(12 * 60, 14 * 60, at, zone) == datetime(
        2026, 11, 26, 13, 0, tzinfo=UTC
    )
    early = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)  # 05:00 local
    assert settings_service.quiet_until(22 * 60, 7 * 60, early, zone) == datetime(
        2026, 11, 26, 6, 0, tzinfo=UTC
    )
    # Across the change to summer time (29 March 2026: 02:00 -> 03:00) the end is local 07:00.
    spring = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # 23:00 CET
    assert settings_service.quiet_until(22 * 60, 7 * 60, spring, zone) == datetime(
        2026, 3, 29, 5, 0, tzinfo=UTC
    )


async def test_digest_collects_the_news_and_sends_one_message_a_day(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await bot.onboard(anna, sectors=["culture", "education"])
    await bot.onboard(john, sectors=["culture"])
    await choose(bot, anna, DIGEST_PL)
    # 11:00 in Kraków, after today's digest hour (08:00): the news waits for tomorrow.
    await announce(bot, "meeting-notice", "Spotkanie <b>kultury</b> &amp; sztuki")
    await announce(
        bot, "call-opened", "Nabór postulatów", audience_id=await team_id(bot, "education")
    )
    await announce(bot, "rsvp-promoted", "Masz miejsce", audience="user", audience_id=anna.id)
    await announce(bot, "meeting-reminder", "Za godzinę", lead=60)
    got = await tick(bot)
    assert got[anna.id] == ["Masz miejsce (pl)", "Za godzinę (pl)"]
    assert got[john.id] == ["Spotkanie <b>kultury</b> &amp; sztuki (en)", "Za godzinę (en)"]
    assert anna.id not in await tick(bot)

    bot.clock.now = datetime(2026, 11, 27, 6, 59, tzinfo=UTC)  # 07:59 local
    assert anna.id not in await tick(bot)
    bot.clock.now = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)  # 08:00 local
    got = await tick(bot)
    [digest] = got[anna.id]
    assert "dzienne podsumowanie</b>: 2 wiadomości" in digest
    assert "• Spotkanie kultury &amp; sztuki (pl)" in digest
    assert "• Nabór postulatów (pl)" in digest
    assert john.id not in got

    # News after the digest waits for the next day's; one digest a day.
    await announce(bot, "broadcast", "Po podsumowaniu")
    bot.clock.advance(hours=2)
    assert anna.id not in await tick(bot)
    bot.clock.now = datetime(2026, 11, 28, 7, 5, tzinfo=UTC)
    [digest] = (await tick(bot))[anna.id]
    assert "1 wiadomość" in digest
    assert "Po podsumowaniu (pl)" in digest
    assert anna.id not in await tick(bot)


async def test_a_call_for_postulates_waits_for_the_digest_in_the_members_language(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    # The call's notice is queued as data, not text: the digest draws it per language.
    await bot.onboard(anna, sectors=["culture"])
    await bot.onboard(john, sectors=["culture"])
    await choose(bot, anna, DIGEST_PL)
    await choose(bot, john, "📰 A daily digest")
    admin = TgUser(id=900, language_code="pl", first_name="Admin")
    await bot.onboard(admin)
    await bot.send(admin, "/call culture 2026-12-10 Program <na> 2027")
    assert anna.id not in await tick(bot)
    bot.clock.now = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
    got = await tick(bot)
    [digest] = got[anna.id]
    assert "• 📣 Nabór postulatów w zespole branżowym Kultura: Program &lt;na&gt; 2027" in digest
    assert "Termin: 2026-12-10 23:59" in digest
    [digest] = got[john.id]
    assert "Program &lt;na&gt; 2027" in digest
    assert "Culture" in digest


async def test_back_to_instant_news_sends_what_was_held_at_once(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna, sectors=["culture"])
    await choose(bot, anna, DIGEST_PL)
    await announce(bot, "meeting-notice", "Trzymana wiadomość")
    assert anna.id not in await tick(bot)
    await choose(bot, anna, "📰 Aktualności od razu")
    [digest] = (await tick(bot))[anna.id]
    assert "1 wiadomość" in digest
    assert "Trzymana wiadomość (pl)" in digest
    await announce(bot, "meeting-notice", "Od razu")
    assert (await tick(bot))[anna.id] == ["Od razu (pl)"]
    bot.clock.now = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
    assert anna.id not in await tick(bot)  # nothing held twice


async def test_a_muted_sector_stays_out_of_the_digest(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture", "education"])
    await choose(bot, anna, DIGEST_PL, "🔔 Kultura")
    await announce(bot, "meeting-notice", "Kultura")
    await announce(bot, "meeting-notice", "Edukacja", audience_id=await team_id(bot, "education"))
    await tick(bot)
    bot.clock.now = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
    [digest] = (await tick(bot))[anna.id]
    assert "Edukacja (pl)" in digest
    assert "Kultura" not in digest


async def test_digest_stays_under_the_message_limit(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture"])
    await choose(bot, anna, DIGEST_PL)
    for number in range(30):
        await announce(bot, "broadcast", f"{number}: " + "długi tekst " * 60)
    await tick(bot)
    bot.clock.now = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
    [digest] = (await tick(bot))[anna.id]
    assert len(digest) < 4096
    assert "…i jeszcze" in digest


async def test_erasing_a_user_removes_their_settings(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture", "education"])
    await choose(bot, anna, DIGEST_PL, "🔔 Edukacja")
    await announce(bot, "broadcast", "Trzymane")

    def count(conn: sqlite3.Connection) -> list[int]:
        return [
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("notification_settings", "muted_teams", "digest_items")
        ]

    await tick(bot)
    assert await db_of(bot).run(raw_sql(count)) == [1, 1, 1]

    def erase(conn: sqlite3.Connection) -> list[int]:
        conn.execute("DELETE FROM users WHERE id = ?", (anna.id,))
        return count(conn)

    assert await db_of(bot).run(raw_sql(erase)) == [0, 0, 0]
