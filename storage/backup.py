"""Online backup: a consistent copy of the live database, checked before it is kept.

SQLite's backup API copies the pages inside one read transaction, so the copy is the
database as of one commit; in WAL mode the running bot keeps writing meanwhile. The copy is
written next to the target, switched to a rollback journal (one self-contained file), checked
with `PRAGMA integrity_check`, flushed to disk and only then renamed into place: a failed or
interrupted backup never leaves a file that looks like a good one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


class BackupError(Exception):
    """The backup could not be made or did not pass the check; nothing was kept."""


class BackupRefused(BackupError):
    """The target is wrong (exists, is the database, has no folder); nothing was touched."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    schema_version: int


def _target(source: Path, target: Path, now: datetime) -> Path:
    if target.is_dir():
        # A folder: one new file per run, named by the time (UTC), for cron or a timer.
        return target / f"{source.stem}-{now.strftime('%Y%m%dT%H%M%SZ')}.sqlite3"
    return target


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _open_existing(source: Path) -> sqlite3.Connection:
    # mode=rw: a missing database is an error, not a new empty file to back up.
    uri = f"file:{urllib.parse.quote(str(source.resolve()))}?mode=rw"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def check_integrity(conn: sqlite3.Connection) -> list[str]:
    """The problems `PRAGMA integrity_check` finds (empty if the database is sound)."""
    rows = [str(row[0]) for row in conn.execute("PRAGMA integrity_check").fetchall()]
    return [] if rows == ["ok"] else rows


def backup(
    source: Path, target: Path, now: datetime | None = None, *, overwrite: bool = False
) -> BackupResult:
    """Copy the database at `source` to `target` (a file, or a folder for a dated file).

    An existing file at the target is replaced only with `overwrite`.
    """
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    path = _target(source, target, now or datetime.now(UTC))
    if path.exists() and path.resolve() == source.resolve():
        raise BackupRefused("the backup cannot overwrite the database itself")
    if any(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm", "-journal")):
        # A database in use (or left by a crash): replacing the file under its journal would
        # have SQLite replay the old journal onto the new file and corrupt it (e.g. a restore
        # while the bot runs).
        raise BackupRefused(
            f"{path} is a database in use (its -wal/-shm files are there): stop the bot and "
            "move the database with its -wal and -shm files aside first"
        )
    if path.is_dir() or (path.exists() and not path.is_file()):
        raise BackupRefused(f"{path} exists and is not a file")
    if path.exists() and not overwrite:
        # A mistyped path would otherwise silently replace an older backup or any other file.
        raise BackupRefused(f"{path} already exists; add --force to replace it")
    if not path.parent.is_dir():
        raise BackupRefused(f"no folder {path.parent} for the backup")
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        with (
            contextlib.closing(_open_existing(source)) as src,
            contextlib.closing(sqlite3.connect(partial, isolation_level=None)) as copy,
        ):
            # pages=-1: everything in one step, i.e. one read transaction (a snapshot).
            src.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode = DELETE")
            problems = check_integrity(copy)
            if problems:
                raise BackupError("the copy failed the integrity check: " + "; ".join(problems[:5]))
            version = int(copy.execute("PRAGMA user_version").fetchone()[0])
        _fsync(partial)
        os.replace(partial, path)
        _fsync(path.parent)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up {source}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(path=path, size=path.stat().st_size, schema_version=version)
