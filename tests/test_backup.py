"""`ngo-bot backup`: a consistent, checked copy of the database, also while the bot writes."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from storage.backup import BackupError, backup, check_integrity
from storage.database import Database
from storage.unit import Unit
from tests.sql import raw_sql

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The configured database path; logging set up by main() is restored afterwards."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "data" / "bot.sqlite3"
    monkeypatch.setenv("BOT_DATABASE", str(path))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield path
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


def ids_in(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT update_id FROM processed_updates")]


def add_pair(conn: sqlite3.Connection, first: int) -> None:
    """One transaction, two rows: a copy holding one without the other is not consistent."""
    Unit(conn).updates.add_processed_update(first, NOW)
    Unit(conn).updates.add_processed_update(first + 1, NOW)


async def test_backup_while_writing_is_a_committed_prefix(tmp_path: Path) -> None:
    source = tmp_path / "live.sqlite3"
    db = await Database.open(source)
    # Enough data that a copy takes a while, in rows the check below does not look at.
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE ballast (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        conn.executemany("INSERT INTO ballast (body) VALUES (?)", [("x" * 200,)] * 20_000)
    written = 0
    stop = asyncio.Event()

    async def writer() -> None:
        nonlocal written
        while not stop.is_set():
            await db.run(raw_sql(add_pair), 2 * written)
            written += 1

    task = asyncio.create_task(writer())
    copies: list[tuple[int, Path, int]] = []
    try:
        for number in range(5):
            before = written
            result = await asyncio.to_thread(backup, source, tmp_path / f"copy-{number}.sqlite3")
            copies.append((before, result.path, written))
            assert result.schema_version > 0
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await task
        await db.close()
    assert written > copies[-1][2]  # the writer kept going throughout
    check_copies(copies)


def check_copies(copies: list[tuple[int, Path, int]]) -> None:
    for before, path, after in copies:
        ids = ids_in(path)
        # Exactly the pairs committed at one instant between the start and end of the copy.
        assert ids == list(range(len(ids)))
        assert len(ids) % 2 == 0
        assert 2 * before <= len(ids) <= 2 * after
        with sqlite3.connect(path) as conn:
            assert check_integrity(conn) == []
            # One self-contained file: no WAL to carry along.
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert not list(path.parent.glob(".*partial"))


async def test_backup_into_a_folder_names_the_file_by_the_time(tmp_path: Path) -> None:
    source = tmp_path / "live.sqlite3"
    db = await Database.open(source)
    await db.run(raw_sql(add_pair), 1)
    await db.close()
    folder = tmp_path / "backups"
    folder.mkdir()

    first = backup(source, folder, now=NOW)
    second = backup(source, folder, now=NOW + timedelta(hours=1))

    assert first.path == folder / "live-20261126T100000Z.sqlite3"
    assert second.path == folder / "live-20261126T110000Z.sqlite3"
    assert ids_in(first.path) == [1, 2]


async def test_a_restored_copy_is_a_working_database(tmp_path: Path) -> None:
    source = tmp_path / "live.sqlite3"
    db = await Database.open(source)
    await db.run(raw_sql(add_pair), 10)
    copy = backup(source, tmp_path / "copy.sqlite3").path
    await db.close()

    # Restore = put the copy where the configured database is (no stale -wal/-shm next to it).
    restored = tmp_path / "restored" / "bot.sqlite3"
    restored.parent.mkdir()
    restored.write_bytes(copy.read_bytes())
    db = await Database.open(restored)
    try:
        assert await db.run(lambda unit: unit.updates.count_processed_updates()) == 2
        # The bot adds new rows as usual, in WAL mode again.
        await db.run(raw_sql(add_pair), 20)
        assert await db.run(lambda unit: unit.updates.count_processed_updates()) == 4
    finally:
        await db.close()
    with sqlite3.connect(restored) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_restoring_over_a_database_in_use_is_refused(tmp_path: Path) -> None:
    live = tmp_path / "live.sqlite3"
    db = await Database.open(live)
    await db.run(raw_sql(add_pair), 1)
    copy = backup(live, tmp_path / "copy.sqlite3").path
    try:
        with pytest.raises(BackupError, match="in use"):
            backup(copy, live)
    finally:
        await db.close()
    assert ids_in(live) == [1, 2]


def test_cli_backup_succeeds_and_says_where(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    target = tmp_path / "copy.sqlite3"

    assert main(["backup", str(target)]) == 0  # no token needed

    out = capsys.readouterr().out
    assert f"written to {target}" in out
    assert "integrity check ok" in out
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"users", "processed_updates"} <= tables


def test_cli_backup_of_a_missing_database_fails_and_creates_nothing(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "copy.sqlite3"
    assert main(["backup", str(target)]) == 1
    assert "no database" in capsys.readouterr().err
    assert not database.exists()
    assert not target.exists()


def make_database(path: Path) -> None:
    path.parent.mkdir(exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("CREATE INDEX t_body ON t (body)")
        conn.executemany("INSERT INTO t (body) VALUES (?)", [(f"row {n:03d}",) for n in range(20)])


def corrupt_index(path: Path) -> None:
    """Change one key in the index only: SQLite reads the file, the check finds the mismatch."""
    with sqlite3.connect(path) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 't_body'").fetchone()
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    with path.open("r+b") as handle:
        handle.seek((root[0] - 1) * size)
        page = bytearray(handle.read(size))
        at = page.rfind(b"row 019")
        assert at > 0
        page[at : at + 7] = b"ROW 999"
        handle.seek((root[0] - 1) * size)
        handle.write(page)


def test_cli_backup_failing_the_integrity_check_exits_1_and_keeps_no_copy(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_database(database)
    corrupt_index(database)
    target = tmp_path / "copy.sqlite3"
    target.write_bytes(b"yesterday's good backup")

    # Even when told to replace it, a failed copy never replaces the earlier file.
    assert main(["backup", str(target), "--force"]) == 1

    err = capsys.readouterr().err
    assert err == "ngo-bot: the copy failed the integrity check: row 20 missing from index t_body\n"
    # The earlier file is left as it was and no half-made copy is around.
    assert target.read_bytes() == b"yesterday's good backup"
    assert not list(tmp_path.glob(".*partial"))


def test_cli_backup_of_an_unreadable_database_exits_1(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database.parent.mkdir()
    database.write_bytes(b"not a database" * 1000)

    assert main(["backup", str(tmp_path / "copy.sqlite3")]) == 1

    err = capsys.readouterr().err
    assert err.startswith("ngo-bot: cannot back up")
    assert "Traceback" not in err
    assert not (tmp_path / "copy.sqlite3").exists()


def test_backup_refuses_to_overwrite_the_database(tmp_path: Path) -> None:
    source = tmp_path / "live.sqlite3"
    sqlite3.connect(source).close()
    with pytest.raises(BackupError, match="itself"):
        backup(source, source)
