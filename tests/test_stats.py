"""Statistics: /stats for admins and moderators, a PNG chart and the figures in a summary."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Config
from bot.services import stats as stats_service
from storage.timefmt import db_time
from tests.conftest import ADMIN_ID
from tests.harness import BotDriver, Clock, TgUser, texts_of
from tests.meeting_factory import (
    add_meeting,
    db_of,
    files_driver,
    make_moderator,
    uploaded,
    user,
)
from tests.sql import connection, raw_sql

PNG = b"\x89PNG\r\n\x1a\n"
ADMIN = TgUser(id=ADMIN_ID, language_code="en", first_name="Admin")


@pytest.fixture
async def bot(config: Config, clock: Clock) -> AsyncIterator[BotDriver]:
    async for driver in files_driver(config, clock):
        yield driver


def at(text: str) -> str:
    return db_time(datetime.fromisoformat(text).replace(tzinfo=UTC))


async def seed(bot: BotDriver, anna: TgUser, john: TgUser) -> None:
    """Subscriptions, ends, meetings, RSVPs, postulates and deliveries with known figures.

    The test clock is 26 November 2026, 10:00 UTC; the month began 31 October 23:00 UTC.
    """
    old, other = user(1), user(2)
    people = ((anna, ("culture", "education")), (john, ("culture",)), (old, ()), (other, ()))
    for person, sectors in people:
        await bot.onboard(person, sectors=sectors)
    held = await add_meeting(bot, starts_in=timedelta(days=-6))  # 20 November
    await add_meeting(bot, starts_in=timedelta(days=-4), state="cancelled")
    await add_meeting(bot, starts_in=timedelta(days=-40))  # October: another month
    await add_meeting(bot, starts_in=timedelta(days=5))  # not held yet
    await add_meeting(bot, team="education", starts_in=timedelta(days=-1))

    def rows(conn: sqlite3.Connection) -> None:
        culture, education = (
            conn.execute("SELECT id FROM teams WHERE slug = ?", (slug,)).fetchone()[0]
            for slug in ("culture", "education")
        )
        # Subscribed last month: a subscriber, but not joined this month.
        conn.execute(
            "INSERT INTO subscriptions (user_id, team_id, created_at) VALUES (?, ?, ?)",
            (old.id, culture, at("2026-10-15T12:00:00")),
        )
        conn.executemany(
            "INSERT INTO subscription_ends (team_id, subscribed_at, ended_at) VALUES (?, ?, ?)",
            [
                (culture, at("2026-09-01T00:00:00"), at("2026-11-10T00:00:00")),  # left
                (culture, at("2026-09-01T00:00:00"), at("2026-10-20T00:00:00")),  # last month
                (culture, at("2026-11-05T00:00:00"), at("2026-11-07T00:00:00")),  # in and out
            ],
        )
        conn.executemany(
            """INSERT INTO rsvps (meeting_id, user_id, answer, waitlist_position, answered_at)
               VALUES (?, ?, ?, ?, ?)""",
            [
                (held, anna.id, "going", None, at("2026-11-19T00:00:00")),
                (held, john.id, "maybe", None, at("2026-11-19T00:00:00")),
                (held, old.id, "going", 1, at("2026-11-19T00:00:00")),
                (held, other.id, "not_going", None, at("2026-11-19T00:00:00")),
            ],
        )
        for number, (team, state) in enumerate(
            [
                (culture, "submitted"),
                (culture, "submitted"),
                (culture, "adopted"),
                (education, "in_review"),
            ]
        ):
            conn.execute(
                """INSERT INTO postulates (reference, draft_id, team_id, title, content, state,
                       created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    f"P/2026/{number}",
                    number + 1,
                    team,
                    "Tytuł postulatu",
                    "Treść postulatu, wystarczająco długa.",
                    state,
                    at("2026-11-02T00:00:00"),
                    at("2026-11-02T00:00:00"),
                ),
            )
        outcomes: dict[tuple[str, int, str], list[str]] = {
            # culture: 7 sent, 1 failed, 1 blocked, 1 expired, 2 pending
            ("team", culture, "2026-11-20T00:00:00"): ["sent"] * 7
            + ["failed", "blocked", "expired", "pending", "pending"],
            ("team", education, "2026-11-21T00:00:00"): ["sent"] * 3,
            ("team", culture, "2026-10-20T00:00:00"): ["failed"] * 5,  # last month
        }
        # A broadcast to both sectors: 2 more sent, for admins and culture's moderators.
        both = conn.execute(
            """INSERT INTO broadcasts (created_by, team_ids, summary, due_at, created_at)
               VALUES (900, ?, 'x', ?, ?) RETURNING id""",
            (
                json.dumps([culture, education]),
                at("2026-11-22T00:00:00"),
                at("2026-11-22T00:00:00"),
            ),
        ).fetchone()[0]
        outcomes[("broadcast", both, "2026-11-22T00:00:00")] = ["sent", "sent"]
        for (audience, team, created), states in outcomes.items():
            announcement = conn.execute(
                """INSERT INTO announcements (kind, audience, audience_id, payload, due_at,
                       state, created_at)
                   VALUES ('broadcast', ?, ?, ?, ?, 'fanned_out', ?) RETURNING id""",
                (audience, team, json.dumps({"pl": {"text": "x"}}), at(created), at(created)),
            ).fetchone()[0]
            conn.executemany(
                """INSERT INTO deliveries (announcement_id, chat_id, language, state,
                       next_attempt_at, updated_at) VALUES (?, ?, 'pl', ?, ?, ?)""",
                [
                    (announcement, 5000 + index, state, at(created), at(created))
                    for index, state in enumerate(states)
                ],
            )

    await db_of(bot).run(raw_sql(rows))


async def test_admin_gets_a_png_chart_and_the_figures_of_every_sector(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await seed(bot, anna, john)
    await bot.send(ADMIN, "/start")
    calls = await bot.send(ADMIN, "/stats")
    methods = [c.method for c in calls]
    assert methods.index("sendPhoto") < methods.index("sendMessage")
    [photo] = [c for c in calls if c.method == "sendPhoto"]
    assert photo.chat_id == ADMIN_ID
    assert "November 2026" in str(photo.params["caption"])
    [(method, _, data)] = uploaded(bot)
    assert method == "sendPhoto"
    assert data.startswith(PNG)
    assert len(data) > 10_000  # a real drawing, not an empty canvas

    [summary] = [c for c in calls if c.method == "sendMessage"]
    body = summary.text
    assert "November 2026 (all sectors)" in body
    culture = body[body.index("<b>Culture</b>") :]
    culture = culture[: culture.index("\n\n")]
    assert "👥 3 subscribers (this month: 3 joined, 2 left)" in culture
    assert "📅 1 meeting this month" in culture
    assert "going: 1, waiting list: 1, maybe: 1, not going: 1" in culture
    assert "📝 3 postulates (submitted: 2, adopted: 1)" in culture
    education = body[body.index("<b>Education</b>") :]
    education = education[: education.index("\n\n")]
    assert "👥 1 subscriber (this month: 1 joined)" in education
    assert "📅 1 meeting this month" in education
    assert "Answers" not in education  # no answers: no line of zeros
    assert "📝 1 postulate (in review: 1)" in education
    # Sectors with nothing this month share one line; the chart still draws every sector.
    assert "<b>Environmental protection</b>" not in body
    assert "No activity this month: Environmental protection, " in body  # no "(0 subscribers)"
    # 12 sent of 15 finished (pending ones are not over yet; October's do not count).
    assert (
        "12 of 15 delivered (80.0%); failed 1, blocked 1, unknown 0, expired 1; "
        "still waiting 2." in body
    )


async def test_moderator_sees_only_their_sectors_in_their_language(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await seed(bot, anna, john)
    moderator = user(9)
    await bot.onboard(moderator)
    await make_moderator(bot, moderator.id, "culture")
    calls = await bot.send(moderator, "/stats")
    assert [c.method for c in calls if c.method.startswith("send")] == [
        "sendChatAction",
        "sendPhoto",
        "sendMessage",
    ]
    body = calls[-1].text
    assert "listopad 2026 (Twoje zespoły branżowe)" in body
    assert "<b>Kultura</b>" in body
    assert "Edukacja" not in body
    assert "👥 3 subskrybenci (w tym miesiącu: 3 nowi, 2 rezygnacje)" in body
    assert "📅 1 spotkanie w tym miesiącu" in body
    assert "📝 3 postulaty (złożone: 2, przyjęte: 1)" in body
    assert "dostarczono 9 z 12 (75,0 %)" in body
    assert uploaded(bot)[0][2].startswith(PNG)


async def test_members_are_refused_and_nothing_is_drawn(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture"])
    calls = await bot.send(anna, "/stats")
    assert "Nie masz uprawnień" in texts_of(calls)
    assert not [c for c in calls if c.method == "sendPhoto"]
    assert uploaded(bot) == []
    # Unknown users too, and a revoked moderator at once.
    assert not [c for c in await bot.send(user(5), "/stats") if c.method == "sendPhoto"]
    await make_moderator(bot, anna.id, "culture")
    assert [c for c in await bot.send(anna, "/stats") if c.method == "sendPhoto"]
    await db_of(bot).run(raw_sql(lambda conn: conn.execute("DELETE FROM moderators")))
    assert not [c for c in await bot.send(anna, "/stats") if c.method == "sendPhoto"]


async def test_stats_only_in_a_private_chat(bot: BotDriver) -> None:
    calls = await bot.send(ADMIN, "/stats", chat_id=-100500)
    assert not [c for c in calls if c.method == "sendPhoto"]
    assert "private" in texts_of(calls).lower()


async def test_empty_month_has_no_rate_and_still_a_chart(bot: BotDriver) -> None:
    calls = await bot.send(ADMIN, "/stats")
    body = calls[-1].text
    assert "Nothing has happened in the sector teams this month yet." in body
    assert "No activity this month: Culture, Education, " in body
    assert "Postulates" not in body
    assert "none finished yet" in body
    assert uploaded(bot)[0][2].startswith(PNG)


async def test_an_unsubscription_is_remembered_for_the_month_change(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna, sectors=["culture"])

    def ends(conn: sqlite3.Connection) -> list[tuple[int, str]]:
        rows = conn.execute(
            "SELECT team_id, subscribed_at FROM subscription_ends ORDER BY rowid"
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    culture = await db_of(bot).run(
        lambda unit: int(
            connection(unit).execute("SELECT id FROM teams WHERE slug = 'culture'").fetchone()[0]
        )
    )
    await bot.send(anna, "/sectors")
    await bot.press(anna, "Kultura", exact=False)
    assert await db_of(bot).run(raw_sql(ends)) == [(culture, db_time(bot.clock.now))]


def test_month_starts_at_local_midnight() -> None:
    zone = ZoneInfo("Europe/Warsaw")
    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert stats_service.month_start(now, zone) == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    # 31 October 23:30 UTC is already 1 November in Kraków.
    late = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)
    assert stats_service.month_start(late, zone) == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    assert stats_service.month_start(summer, zone) == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)


def test_the_idle_bot_does_not_load_matplotlib() -> None:
    root = Path(__file__).resolve().parent.parent
    code = (
        "import sys\n"
        "from bot.app import build_application\n"
        "from tests.conftest import make_config\n"
        "from pathlib import Path\n"
        "import tempfile\n"
        "build_application(make_config(Path(tempfile.mkdtemp())))\n"
        "print('matplotlib' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


async def test_admin_sees_comments_per_consultation_and_section(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    from tests.test_web_consultations import TITLE, seed_consultation

    await bot.onboard(anna)
    await bot.onboard(john)
    await seed_consultation(bot, individual=john, representative=anna)
    await bot.send(ADMIN, "/start")
    body = texts_of(await bot.send(ADMIN, "/stats"))
    block = body[body.index(TITLE) :]
    assert "2 comments" in block
    assert "2. Cele programu: 1" in block
    assert "3. Formy współpracy: 1" in block
    assert "1. Postanowienia ogólne" not in block
