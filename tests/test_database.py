"""Storage foundation: migrations, pragmas, group-committed transactions, schema constraints."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import database
from storage.database import (
    MAX_BATCH,
    MIGRATIONS,
    Database,
    MigrationError,
    ReadOnlyDatabase,
    migrate,
)
from storage.unit import ConstraintViolation, Unit
from tests.sql import connection, raw_sql

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
LATEST = max(int(path.name[:4]) for path in MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql"))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "test.sqlite3")
    try:
        yield database
    finally:
        await database.close()


def user_version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def table_names(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {row[0] for row in rows}


def make_scratch(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS scratch (id INTEGER PRIMARY KEY, owner INTEGER)")


def execute(conn: sqlite3.Connection, sql: str) -> None:
    conn.execute(sql)


def count_scratch(conn: sqlite3.Connection) -> int:
    count: int = conn.execute("SELECT count(*) FROM scratch").fetchone()[0]
    return count


def copy_migrations(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    return folder


# --- migrations and pragmas ------------------------------------------------------------------


async def test_fresh_database_reaches_latest_version(db: Database) -> None:
    assert LATEST >= 1
    assert await db.run(raw_sql(user_version)) == LATEST
    assert {"teams", "users", "organisations", "subscriptions", "admins", "moderators"} <= (
        await db.run(raw_sql(table_names))
    )


async def test_pragmas_are_set(db: Database) -> None:
    def pragmas(conn: sqlite3.Connection) -> tuple[str, int, int, int]:
        return (
            conn.execute("PRAGMA journal_mode").fetchone()[0],
            conn.execute("PRAGMA synchronous").fetchone()[0],
            conn.execute("PRAGMA foreign_keys").fetchone()[0],
            conn.execute("PRAGMA busy_timeout").fetchone()[0],
        )

    journal, synchronous, foreign_keys, busy_timeout = await db.run(raw_sql(pragmas))
    assert journal == "wal"
    assert synchronous == 2  # FULL: a commit is on disk before run() returns
    assert foreign_keys == 1
    assert busy_timeout > 0


async def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "again.sqlite3"
    first = await Database.open(path)
    await first.close()
    second = await Database.open(path)
    try:
        assert await second.run(raw_sql(user_version)) == LATEST
    finally:
        await second.close()


async def test_failing_migration_leaves_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "broken.sqlite3"
    first = await Database.open(path)
    await first.close()
    folder = copy_migrations(tmp_path)
    (folder / f"{LATEST + 1:04d}_broken.sql").write_text(
        "CREATE TABLE half_done (id INTEGER PRIMARY KEY);\n"
        "INSERT INTO half_done (id) VALUES (1);\n"
        "INSERT INTO no_such_table (id) VALUES (1);\n",
        encoding="utf-8",
    )

    with pytest.raises(MigrationError, match="broken"):
        await Database.open(path, folder)

    reopened = await Database.open(path)
    try:
        assert await reopened.run(raw_sql(user_version)) == LATEST
        assert "half_done" not in await reopened.run(raw_sql(table_names))
        await reopened.run(raw_sql(make_scratch))
        assert await reopened.run(raw_sql(count_scratch)) == 0
    finally:
        await reopened.close()


def test_failing_migration_keeps_the_connection_usable(tmp_path: Path) -> None:
    folder = copy_migrations(tmp_path)
    (folder / f"{LATEST + 1:04d}_broken.sql").write_text(
        "CREATE TABLE half_done (id INTEGER PRIMARY KEY);\nSELECT no_such_function();\n",
        encoding="utf-8",
    )
    conn = sqlite3.connect(tmp_path / "sync.sqlite3", isolation_level=None)
    try:
        with pytest.raises(MigrationError):
            migrate(conn, folder)
        assert not conn.in_transaction
        assert user_version(conn) == LATEST  # the good ones before it stay applied
        assert "half_done" not in table_names(conn)
        make_scratch(conn)
        conn.execute("INSERT INTO scratch (owner) VALUES (1)")
        assert count_scratch(conn) == 1
    finally:
        conn.close()


@pytest.mark.parametrize(
    "names",
    [
        ["0001_a.sql", "0003_c.sql"],  # a gap
        ["0002_b.sql"],  # not starting at 1
        ["0001_a.sql", "0001_b.sql"],  # the same number twice
        ["0001_a.sql", "0002_Bad-Name.sql"],  # would otherwise be skipped silently
        ["0001_a.sql", "2_b.sql"],
    ],
)
def test_badly_numbered_migrations_are_refused(tmp_path: Path, names: list[str]) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name in names:
        (folder / name).write_text(f"CREATE TABLE t_{name[:4]} (id INTEGER);", encoding="utf-8")
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        with pytest.raises(MigrationError):
            migrate(conn, folder)
        assert user_version(conn) == 0
    finally:
        conn.close()


def test_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "newer.sqlite3", isolation_level=None)
    try:
        assert migrate(conn) == LATEST
        conn.execute(f"PRAGMA user_version = {LATEST + 1}")
        with pytest.raises(MigrationError, match="newer"):
            migrate(conn)
    finally:
        conn.close()


async def test_open_failure_releases_the_connection(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_broken.sql").write_text("NOT SQL AT ALL;", encoding="utf-8")
    threads = threading.active_count()
    with pytest.raises(MigrationError):
        await Database.open(tmp_path / "x.sqlite3", folder)
    # The writer's thread must not be left behind by a failed open.
    for _ in range(100):
        if threading.active_count() <= threads:
            break
        await asyncio.sleep(0.01)
    assert threading.active_count() <= threads


# --- group commit ----------------------------------------------------------------------------


async def test_concurrent_runs_all_land_and_see_their_own_writes(db: Database) -> None:
    await db.run(raw_sql(make_scratch))
    commits: list[str] = []

    def trace(statement: str) -> None:
        if statement.strip().upper() == "COMMIT":
            commits.append(statement)

    await db.run(raw_sql(lambda conn: conn.set_trace_callback(trace)))

    def write(conn: sqlite3.Connection, owner: int) -> tuple[int, int]:
        row_id = conn.execute("INSERT INTO scratch (owner) VALUES (?)", (owner,)).lastrowid
        seen = conn.execute("SELECT owner FROM scratch WHERE id = ?", (row_id,)).fetchone()[0]
        return owner, seen

    results = await asyncio.gather(*(db.run(raw_sql(write), owner) for owner in range(500)))
    batch_commits = len(commits) - 1  # the first traced COMMIT closed the tracing unit
    await db.run(raw_sql(lambda conn: conn.set_trace_callback(None)))

    assert results == [(owner, owner) for owner in range(500)]
    assert await db.run(raw_sql(count_scratch)) == 500
    # Group commit: all 500 were queued at once, so they share as few commits as MAX_BATCH allows.
    assert batch_commits == -(-500 // MAX_BATCH)


async def test_an_exception_rolls_back_only_its_own_unit(db: Database) -> None:
    await db.run(raw_sql(make_scratch))
    batches: list[int] = []

    def trace(statement: str) -> None:
        if statement.strip().upper().startswith("BEGIN"):
            batches.append(1)

    await db.run(raw_sql(lambda conn: conn.set_trace_callback(trace)))

    def good(conn: sqlite3.Connection, owner: int) -> int:
        conn.execute("INSERT INTO scratch (owner) VALUES (?)", (owner,))
        return owner

    def bad(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO scratch (owner) VALUES (666)")
        conn.execute("INSERT INTO scratch (owner) VALUES (667)")
        raise ValueError("rule broken")

    def violates(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO scratch (owner) VALUES (777)")
        conn.execute("INSERT INTO users (id, language, created_at) VALUES (1, 'xx', 'now')")

    results = await asyncio.gather(
        db.run(raw_sql(good), 1), db.run(raw_sql(bad)), db.run(raw_sql(good), 2),
        db.run(raw_sql(violates)), db.run(raw_sql(good), 3),
        return_exceptions=True,
    )  # fmt: skip
    transactions = len(batches)
    await db.run(raw_sql(lambda conn: conn.set_trace_callback(None)))

    assert results[0] == 1
    assert isinstance(results[1], ValueError)
    assert results[2] == 2
    assert isinstance(results[3], sqlite3.IntegrityError)
    assert results[4] == 3
    assert transactions == 1, "the five units were expected to share one transaction"
    owners = await db.run(
        lambda unit: sorted(row[0] for row in connection(unit).execute("SELECT owner FROM scratch"))
    )
    assert owners == [1, 2, 3]


async def test_a_cancelled_callers_accepted_write_is_not_lost(db: Database) -> None:
    await db.run(raw_sql(make_scratch))
    release = threading.Event()

    def slow(conn: sqlite3.Connection) -> None:
        # Keeps the worker thread busy so the next write waits in the queue.
        release.wait(5)

    def write(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO scratch (owner) VALUES (42)")

    blocker = asyncio.create_task(db.run(raw_sql(slow)))
    await asyncio.sleep(0.01)
    caller = asyncio.create_task(db.run(raw_sql(write)))
    await asyncio.sleep(0.01)  # the write is accepted (queued) ...
    caller.cancel()  # ... and its caller gives up before it ran
    with pytest.raises(asyncio.CancelledError):
        await caller
    release.set()
    await blocker

    assert await db.run(raw_sql(count_scratch)) == 1


async def test_two_hundred_concurrent_writers_never_see_database_is_locked(
    tmp_path: Path,
) -> None:
    path = tmp_path / "busy.sqlite3"
    bot_db = await Database.open(path)
    # A second connection on the same file (like a CLI command run beside the bot).
    other_db = await Database.open(path)
    try:
        await bot_db.run(raw_sql(make_scratch))

        async def writer(db: Database, owner: int) -> None:
            for _ in range(5):
                await db.run(
                    lambda unit: connection(unit).execute(
                        "INSERT INTO scratch (owner) VALUES (?)", (owner,)
                    )
                )

        outcomes = await asyncio.gather(
            *(writer(bot_db if owner % 2 else other_db, owner) for owner in range(200)),
            return_exceptions=True,
        )
        errors = [outcome for outcome in outcomes if outcome is not None]
        assert errors == []
        assert await bot_db.run(raw_sql(count_scratch)) == 1000
        assert await other_db.run(raw_sql(count_scratch)) == 1000
    finally:
        await other_db.close()
        await bot_db.close()


async def test_data_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "durable.sqlite3"
    first = await Database.open(path)
    await first.run(lambda unit: unit.users.add_user(7, "pl", NOW))
    await first.run(lambda unit: unit.users.update_consent(7, 1, NOW))
    await first.close()

    second = await Database.open(path)
    try:
        user = await second.run(lambda unit: unit.users.get_user(7))
        assert user is not None
        assert user.language == "pl"
        assert user.consent_version == 1
        assert user.consent_at == NOW
        integrity = await second.run(
            raw_sql(lambda conn: conn.execute("PRAGMA integrity_check").fetchone())
        )
        assert integrity[0] == "ok"
    finally:
        await second.close()


async def test_closed_database_refuses_work(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "closed.sqlite3")
    await database.close()
    with pytest.raises(RuntimeError, match="closed"):
        await database.run(raw_sql(user_version))


# --- constraints of 0001 ---------------------------------------------------------------------


def add_team(conn: sqlite3.Connection, slug: str = "culture") -> int:
    Unit(conn).teams.upsert_team(
        slug=slug,
        kind="sector",
        name_pl="Kultura",
        name_en="Culture",
        description_pl="Opis",
        description_en="About",
        position=0,
    )
    team = Unit(conn).teams.get_team_by_slug(slug)
    assert team is not None
    return team.id


def add_organisation(
    conn: sqlite3.Connection, register_type: str, krs: str | None, register_name: str | None = None
) -> int:
    cursor = conn.execute(
        """INSERT INTO organisations (name, register_type, krs, register_name, created_at,
               updated_at) VALUES ('Fundacja', ?, ?, ?, ?, ?)""",
        (register_type, krs, register_name, NOW.isoformat(), NOW.isoformat()),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def test_krs_is_ten_digits_kept_as_text(db: Database) -> None:
    org_id = await db.run(raw_sql(add_organisation), "krs", "0000123456")
    krs = await db.run(
        lambda unit: (
            connection(unit)
            .execute("SELECT krs FROM organisations WHERE id = ?", (org_id,))
            .fetchone()
        )
    )
    assert krs[0] == "0000123456"

    for bad in ["123456789", "12345678901", "00001234a6", "000012345 ", ""]:
        with pytest.raises(sqlite3.IntegrityError):
            await db.run(raw_sql(add_organisation), "krs", bad)
    # The same KRS cannot be registered twice.
    with pytest.raises(sqlite3.IntegrityError):
        await db.run(raw_sql(add_organisation), "krs", "0000123456")


async def test_register_type_matches_its_fields(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        await db.run(raw_sql(add_organisation), "krs", None)
    with pytest.raises(sqlite3.IntegrityError):
        await db.run(raw_sql(add_organisation), "none", "0000123456")
    with pytest.raises(sqlite3.IntegrityError):
        await db.run(raw_sql(add_organisation), "other", None)
    assert (
        await db.run(raw_sql(add_organisation), "other", None, "Rejestr stowarzyszeń zwykłych") > 0
    )
    assert await db.run(raw_sql(add_organisation), "none", None) > 0


async def test_consent_time_and_version_come_in_pairs(db: Database) -> None:
    await db.run(lambda unit: unit.users.add_user(1, "pl", NOW))
    for sql in [
        "UPDATE users SET consent_at = '2026-11-26T10:00:00+00:00' WHERE id = 1",
        "UPDATE users SET consent_version = 1 WHERE id = 1",
    ]:
        with pytest.raises(sqlite3.IntegrityError):
            await db.run(raw_sql(execute), sql)
    await db.run(lambda unit: unit.users.update_consent(1, 1, NOW))
    user = await db.run(lambda unit: unit.users.get_user(1))
    assert user is not None
    assert (user.consent_at, user.consent_version) == (NOW, 1)


async def test_organisation_link_needs_consent(db: Database) -> None:
    org_id = await db.run(raw_sql(add_organisation), "none", None)
    await db.run(lambda unit: unit.users.add_user(1, "en", NOW))
    with pytest.raises(sqlite3.IntegrityError):
        await db.run(lambda unit: unit.users.update_organisation(1, org_id))
    await db.run(lambda unit: unit.users.update_consent(1, 1, NOW))
    await db.run(lambda unit: unit.users.update_organisation(1, org_id))
    user = await db.run(lambda unit: unit.users.get_user(1))
    assert user is not None
    assert user.organisation_id == org_id


async def test_the_per_update_read_builds_the_same_user_as_validation(db: Database) -> None:
    # get_user_and_roles reads the user from a joined row, by column position.
    org_id = await db.run(raw_sql(add_organisation), "none", None)
    await db.run(lambda unit: unit.users.add_user(1, "pl", NOW))
    await db.run(lambda unit: unit.users.add_user(2, "en", NOW))
    await db.run(lambda unit: unit.users.update_consent(2, 3, NOW))
    await db.run(lambda unit: unit.users.update_organisation(2, org_id))
    await db.run(lambda unit: unit.users.update_language(2, "pl", chosen=True))
    await db.run(lambda unit: unit.users.update_active(2, False))
    await db.run(raw_sql(execute), "INSERT INTO admins (user_id, source) VALUES (2, 'config')")
    for user_id in (1, 2):
        user, is_admin, moderated, talking, drafting = await db.run(
            lambda unit, user_id: unit.users.get_user_and_roles(user_id), user_id
        )
        validated = await db.run(lambda unit, user_id: unit.users.get_user(user_id), user_id)
        assert user is not None
        assert validated is not None
        assert user == validated
        assert user.model_dump() == validated.model_dump()
        assert (is_admin, moderated, talking, drafting) == (user_id == 2, frozenset(), False, False)
    assert await db.run(lambda unit: unit.users.get_user_and_roles(99)) == (
        None,
        False,
        frozenset(),
        False,
        False,
    )


async def test_subscriptions_refer_to_existing_teams_and_users(db: Database) -> None:
    team_id = await db.run(raw_sql(add_team))
    await db.run(lambda unit: unit.users.add_user(1, "pl", NOW))
    with pytest.raises(sqlite3.IntegrityError):
        await db.run(lambda unit: unit.subscriptions.add_subscription(1, team_id + 100, NOW))
    with pytest.raises(sqlite3.IntegrityError):
        await db.run(lambda unit: unit.subscriptions.add_subscription(2, team_id, NOW))
    assert await db.run(lambda unit: unit.subscriptions.add_subscription(1, team_id, NOW))
    assert not await db.run(lambda unit: unit.subscriptions.add_subscription(1, team_id, NOW))
    assert await db.run(lambda unit: unit.subscriptions.list_subscribed_team_ids(1)) == {team_id}


async def test_team_with_subscribers_cannot_be_deleted(db: Database) -> None:
    team_id = await db.run(raw_sql(add_team))
    await db.run(lambda unit: unit.users.add_user(1, "pl", NOW))
    await db.run(lambda unit: unit.subscriptions.add_subscription(1, team_id, NOW))

    with pytest.raises(sqlite3.IntegrityError):
        await db.run(lambda unit: unit.teams.delete_team(team_id))
    assert await db.run(lambda unit: unit.teams.get_team(team_id)) is not None

    assert await db.run(lambda unit: unit.subscriptions.delete_subscription(1, team_id))
    await db.run(lambda unit: unit.teams.delete_team(team_id))
    assert await db.run(lambda unit: unit.teams.get_team(team_id)) is None


async def test_deleting_a_user_removes_their_subscriptions(db: Database) -> None:
    team_id = await db.run(raw_sql(add_team))
    await db.run(lambda unit: unit.users.add_user(1, "pl", NOW))
    await db.run(lambda unit: unit.users.update_consent(1, 1, NOW))
    await db.run(lambda unit: unit.subscriptions.add_subscription(1, team_id, NOW))
    assert await db.run(lambda unit: unit.subscriptions.list_subscriber_ids(team_id)) == [1]
    await db.run(raw_sql(lambda conn: conn.execute("DELETE FROM users WHERE id = 1")))
    assert await db.run(lambda unit: unit.subscriptions.list_subscriber_ids(team_id)) == []
    await db.run(lambda unit: unit.teams.delete_team(team_id))


# --- the unit of work --------------------------------------------------------------------------


async def test_a_savepoint_undoes_only_its_own_block(db: Database) -> None:
    await db.run(raw_sql(make_scratch))

    class Undo(Exception):
        pass

    def failing_block(unit: Unit) -> None:
        with unit.savepoint():
            connection(unit).execute("INSERT INTO scratch (owner) VALUES (2)")
            raise Undo

    def work(unit: Unit) -> None:
        connection(unit).execute("INSERT INTO scratch (owner) VALUES (1)")
        with pytest.raises(Undo):
            failing_block(unit)
        with unit.savepoint():
            connection(unit).execute("INSERT INTO scratch (owner) VALUES (3)")

    await db.run(work)
    owners = await db.run(
        raw_sql(lambda conn: [row[0] for row in conn.execute("SELECT owner FROM scratch")])
    )
    assert owners == [1, 3]


async def test_a_broken_constraint_is_a_storage_error_not_a_driver_error(db: Database) -> None:
    def orphan(unit: Unit) -> None:
        with unit.checked():
            unit.subscriptions.add_subscription(404, 404, NOW)

    with pytest.raises(ConstraintViolation):
        await db.run(orphan)


async def test_every_read_only_connection_is_seen_by_the_connect_hooks(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    db = await Database.open(path)
    seen: list[sqlite3.Connection] = []
    database.CONNECT_HOOKS.append(seen.append)
    reader = ReadOnlyDatabase(path)
    try:
        assert await reader.run(lambda unit: unit.teams.list_teams()) == []
        assert await db.read(lambda unit: unit.teams.list_teams()) == []
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await reader.run(lambda unit: unit.users.add_user(1, "pl", NOW))
    finally:
        database.CONNECT_HOOKS.remove(seen.append)
        await reader.close()
        await reader.close()  # closing twice is harmless
        await db.close()
    assert len(seen) == 2


async def test_the_writer_leaves_wal_checkpoints_to_a_connection_of_their_own(
    db: Database,
) -> None:
    def autocheckpoint(conn: sqlite3.Connection) -> int:
        pages: int = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        return pages

    # A checkpoint run at commit by the writer held every queued unit behind it (issue 12).
    assert await db.run(raw_sql(autocheckpoint)) == 0
    await db.run(raw_sql(make_scratch))
    for owner in range(20):
        await db.run(raw_sql(execute), f"INSERT INTO scratch (owner) VALUES ({owner})")
    moved = await db.checkpoint()
    assert moved.busy is False
    assert moved.log_frames > 0
    assert moved.checkpointed == moved.log_frames
    # The checkpoint was the file's, not a copy's: the writer goes on seeing everything.
    assert await db.run(raw_sql(count_scratch)) == 20
