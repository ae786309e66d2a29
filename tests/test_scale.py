"""Scale (issue 12): retention in small units, the sector inside the similar search, plans."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

from bot.config import Config
from bot.services import postulates as postulates_service
from bot.services import retention as retention_service
from storage import postulate_search as postulates_storage
from storage.database import Database
from storage.timefmt import db_time
from storage.unit import Unit
from tests import query_plans
from tests.conftest import start_driver, stop_driver
from tests.harness import BotDriver, Clock, TgUser, texts_of
from tests.meeting_factory import db_of
from tests.sql import raw_sql


async def test_a_member_is_answered_while_retention_erases_many(
    bot: BotDriver, anna: TgUser, clock: Clock
) -> None:
    await bot.send(anna, "/start")
    await bot.press(anna, "Zgadzam się", exact=False)
    long_ago = db_time(clock() - timedelta(days=400))

    def inactive_crowd(conn: sqlite3.Connection) -> None:
        people = range(50_000, 50_000 + 3 * retention_service.ERASE_SLICE)
        conn.executemany(
            """INSERT INTO users (id, language, created_at, consent_at, consent_version, active)
               VALUES (?, 'pl', ?, ?, 1, 0)""",
            [(person, long_ago, long_ago) for person in people],
        )
        conn.executemany(
            "INSERT INTO user_inactivity (user_id, inactive_since) VALUES (?, ?)",
            [(person, long_ago) for person in people],
        )

    await db_of(bot).run(raw_sql(inactive_crowd))
    deps = bot.app.bot_data["deps"]
    retention = asyncio.create_task(
        retention_service.retain_if_due(deps.db, deps.config, clock(), force=True)
    )
    await asyncio.sleep(0)  # retention's first unit is queued before the member's update
    calls = await bot.send(anna, "/privacy")
    # One transaction for the whole run would have answered Anna only after it.
    assert not retention.done()
    assert texts_of(calls)
    outcome = await retention
    assert outcome is not None
    assert outcome.purged == 3 * retention_service.ERASE_SLICE


async def test_similar_search_stays_in_the_sector_and_follows_a_move(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "similar.sqlite3")
    try:

        def seed(conn: sqlite3.Connection) -> tuple[int, int]:
            conn.execute(
                """INSERT INTO teams (slug, kind, name_pl, name_en, description_pl,
                       description_en, position)
                   VALUES ('a', 'sector', 'A', 'A', '', '', 1),
                          ('b', 'sector', 'B', 'B', '', '', 2)"""
            )
            for n, team in enumerate((1, 2)):
                conn.execute(
                    """INSERT INTO postulates (reference, draft_id, team_id, title, content,
                           created_at, updated_at)
                       VALUES (?, ?, ?, 'Ławki w parku', ?, '2026-01-01', '2026-01-01')""",
                    (f"P-2026-000{n + 1}", n + 1, team, "Nowe ławki i drzewa w parku miejskim."),
                )
            return 1, 2

        first, second = await db.run(raw_sql(seed))

        def similar(conn: sqlite3.Connection, team: int) -> list[str]:
            found = Unit(conn).postulates.list_similar(
                team, "Drzewa i ławki w parku", title="Ławki"
            )
            return [p.reference for p in found]

        assert await db.run(raw_sql(similar), first) == ["P-2026-0001"]
        assert await db.run(raw_sql(similar), second) == ["P-2026-0002"]

        def move(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE postulates SET team_id = 2 WHERE id = 1")

        await db.run(raw_sql(move))
        assert await db.run(raw_sql(similar), first) == []
        assert await db.run(raw_sql(similar), second) == ["P-2026-0001", "P-2026-0002"]
    finally:
        await db.close()


def test_the_plan_check_names_a_full_scan_and_passes_an_indexed_read(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "plans.sqlite3", isolation_level=None)
    try:
        from storage.database import migrate

        migrate(conn)
        scans = query_plans.full_scans(conn, "SELECT d.state FROM deliveries d WHERE d.error = 'x'")
        assert scans == ["SCAN d  [deliveries]"]
        assert query_plans.full_scans(conn, "SELECT state FROM deliveries WHERE chat_id = 5") == []
        assert query_plans.full_scans(conn, "SELECT * FROM teams") == []
    finally:
        conn.close()


async def test_words_most_postulates_use_make_no_postulate_similar(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "common.sqlite3")
    try:

        def seed(conn: sqlite3.Connection) -> None:
            conn.execute(
                """INSERT INTO teams (slug, kind, name_pl, name_en, description_pl,
                       description_en, position)
                   VALUES ('a', 'sector', 'A', 'A', '', '', 1)"""
            )
            # Every postulate of the city speaks of its inhabitants and the city; one is
            # about a fountain in the park.
            rows = [
                (f"Wniosek {n}", f"Dla mieszkańców miasta: sprawa numer {n}ab{n}.")
                for n in range(300)
            ]
            rows.append(("Fontanna w parku", "Dla mieszkańców miasta: fontanna w parku Jordana."))
            conn.executemany(
                """INSERT INTO postulates (reference, draft_id, team_id, title, content,
                       created_at, updated_at)
                   VALUES ('P-' || ?, ?, 1, ?, ?, '2026-01-01', '2026-01-01')""",
                [(n, n, title, content) for n, (title, content) in enumerate(rows)],
            )

        await db.run(raw_sql(seed))
        # What the housekeeping job does at start and hourly.
        assert await postulates_service.refresh_common_words(db) >= 2

        def similar(unit: Unit, title: str, text: str) -> list[str]:
            return [p.title for p in unit.postulates.list_similar(1, text, title=title)]

        # Sharing only "mieszkańców" and "miasta" with hundreds of postulates is no likeness.
        assert await db.run(similar, "Chodniki", "Dla mieszkańców miasta: nowe chodniki.") == []
        found = await db.run(similar, "Fontanna", "Dla mieszkańców miasta: fontanna w parku.")
        assert found == ["Fontanna w parku"]
    finally:
        await db.close()


async def test_a_long_text_asks_the_index_for_a_bounded_number_of_rare_words(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "terms.sqlite3")
    try:
        words = " ".join(f"słowo{n:03d}x" for n in range(300))

        def seed(conn: sqlite3.Connection) -> None:
            conn.execute(
                """INSERT INTO teams (slug, kind, name_pl, name_en, description_pl,
                       description_en, position)
                   VALUES ('a', 'sector', 'A', 'A', '', '', 1)"""
            )
            conn.execute(
                """INSERT INTO postulates (reference, draft_id, team_id, title, content,
                       created_at, updated_at)
                   VALUES ('P-1', 1, 1, 'Ławki w parku', ?, '2026-01-01', '2026-01-01')""",
                (words,),
            )

        await db.run(raw_sql(seed))

        def terms(unit: Unit) -> list[str]:
            return unit.postulates.similar_terms("Ławki w parku", words)

        chosen = await db.run(terms)
        assert 0 < len(chosen) <= 2 * postulates_storage.MAX_TERMS
        # The title's words come first: they say most about what the postulate is about.
        assert "ławki" in chosen
        assert "lawki" in chosen
    finally:
        await db.close()


async def test_the_preview_counts_exactly_whom_a_broadcast_reaches(tmp_path: Path) -> None:
    # The preview's count is its own (indexed) query; it must agree with the list the
    # fan-out sends to, for everyone and for chosen sectors.
    db = await Database.open(tmp_path / "audience.sqlite3")
    try:

        def seed(conn: sqlite3.Connection) -> list[int]:
            for slug in ("a", "b", "c"):
                conn.execute(
                    "INSERT INTO teams (kind, slug, name_pl, name_en, description_pl, "
                    "description_en, position) VALUES ('sector', ?, ?, ?, '', '', 0)",
                    (slug, slug, slug),
                )
            teams = [row[0] for row in conn.execute("SELECT id FROM teams ORDER BY id")]
            when = "2026-01-01T00:00:00.000000+00:00"
            for person in range(1, 41):
                consented = None if person % 7 == 0 else when
                conn.execute(
                    """INSERT INTO users (id, language, created_at, consent_at, consent_version,
                           active) VALUES (?, 'pl', ?, ?, ?, ?)""",
                    (person, when, consented, consented and 1, 0 if person % 5 == 0 else 1),
                )
                for n, team in enumerate(teams):
                    if (person + n) % (n + 2) == 0:
                        conn.execute(
                            "INSERT INTO subscriptions (user_id, team_id, created_at) "
                            "VALUES (?, ?, ?)",
                            (person, team, when),
                        )
            return teams

        teams = await db.run(raw_sql(seed))
        for chosen in (None, teams[:1], teams[1:], teams):
            listed = await db.run(lambda unit, c: unit.broadcasts.list_recipients(c), chosen)
            people, groups = await db.read(
                lambda unit, c: unit.broadcasts.count_recipients(c), chosen
            )
            assert 0 < people == len(listed)
            assert groups == 0
    finally:
        await db.close()


async def test_a_short_read_goes_on_beside_a_long_one(tmp_path: Path) -> None:
    # An export of 20,000 postulates reads for seconds; a member's view of a consultation
    # or a broadcast's recipient count must not wait for it.
    db = await Database.open(tmp_path / "readers.sqlite3")
    started, release = threading.Event(), threading.Event()

    def long_read(unit: Unit) -> str:
        started.set()
        release.wait(10)
        return "export"

    try:
        export = asyncio.ensure_future(db.read(long_read))
        assert await asyncio.to_thread(started.wait, 10)
        teams = await asyncio.wait_for(db.read(lambda unit: unit.teams.list_teams()), 5)
        assert teams == []
        assert not export.done()
        release.set()
        assert await export == "export"
    finally:
        release.set()
        await db.close()


async def test_what_the_bot_starts_with_is_left_out_of_full_collections(
    config: Config, clock: Clock
) -> None:
    # A full pass over the started bot's objects stopped every thread, the event loop's
    # too, for 50-70 ms each while an export ran (bench/scale.py).
    gc.unfreeze()  # whatever an earlier test's bot left frozen
    driver = await start_driver(config, clock)
    try:
        assert gc.get_freeze_count() > 10_000
    finally:
        await stop_driver(driver)
    assert gc.get_freeze_count() == 0
