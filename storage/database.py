"""The one SQLite connection: pragmas, migrations and group-committed transactions."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
# A unit of work: fn(conn, *args, **kwargs), kept apart so that queuing it makes no closure.
Unit = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]
Outcome = tuple[bool, Any]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# A batch bounds how long one commit keeps later callers waiting.
MAX_BATCH = 256
# Called with every raw connection a Database opens (the writer and the readers), after its
# pragmas: the test suite installs its query-plan recorder here.
CONNECT_HOOKS: list[Callable[[sqlite3.Connection], None]] = []


# Every SQLite file starts with these 16 bytes (sqlite.org/fileformat.html, 1.3.1).
SQLITE_HEADER = b"SQLite format 3\x00"


class DatabaseError(Exception):
    """The database cannot be opened or used; the message says why, and nothing was changed."""


class MigrationError(DatabaseError):
    """A migration failed; the database is left at the version before it."""


def _check_openable(path: Path) -> None:
    """Refuse, before SQLite touches anything, a path that cannot be this bot's database.

    SQLite would otherwise create `-wal`/`-shm` files beside a file that is not a database,
    or fail with a bare "unable to open database file".
    """
    if path.is_dir():
        raise DatabaseError(f"the database {path} is a folder, not a file")
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        header = None  # a new database
    except OSError as exc:
        raise DatabaseError(f"cannot read the database {path}: {exc.strerror}") from exc
    # An empty file is an empty database to SQLite (what `touch` or a fresh volume gives).
    if header and header != SQLITE_HEADER:
        raise DatabaseError(f"{path} is not an SQLite database; it was left as it was")
    if not path.parent.is_dir():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(
                f"cannot create the folder {path.parent} for the database: {exc.strerror}"
            ) from exc


def _migrations(folder: Path) -> list[tuple[int, Path]]:
    found = []
    for path in folder.glob("*.sql"):
        match = _MIGRATION_NAME.match(path.name)
        if match is None:
            # A misnamed file would otherwise be skipped silently and its schema never exist.
            raise MigrationError(f"migration {path.name} is not named like 0001_some_name.sql")
        found.append((int(match.group(1)), path))
    found.sort()
    numbers = [number for number, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise MigrationError(f"migrations in {folder} are not numbered 0001, 0002, ...")
    return found


def migrate(conn: sqlite3.Connection, folder: Path = MIGRATIONS) -> int:
    """Apply every migration newer than `PRAGMA user_version`, each atomically; return version."""
    current: int = conn.execute("PRAGMA user_version").fetchone()[0]
    migrations = _migrations(folder)
    if current > len(migrations):
        # Older code on a newer schema would misread it; refuse instead of guessing.
        raise MigrationError(
            f"the database is at version {current}, newer than this code's {len(migrations)}"
        )
    for number, path in migrations:
        if number <= current:
            continue
        # executescript commits a pending transaction first (Python 3.11), so the script
        # opens and closes its own; user_version lives in the file header and rolls back too.
        body = path.read_text(encoding="utf-8")
        script = f"BEGIN IMMEDIATE;\n{body}\n;PRAGMA user_version = {number};\nCOMMIT;"
        try:
            conn.executescript(script)
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise MigrationError(f"migration {path.name} failed: {exc}") from exc
        current = number
        log.info("Applied migration %s", path.name)
    return current


def _run_batch(conn: sqlite3.Connection, units: list[Unit]) -> list[Outcome]:
    """Run each unit in its own savepoint inside one transaction, then commit once."""
    outcomes: list[Outcome] = []
    try:
        conn.execute("BEGIN IMMEDIATE")
        for fn, args, kwargs in units:
            conn.execute("SAVEPOINT unit")
            try:
                value = fn(conn, *args, **kwargs)
            except Exception as exc:
                conn.execute("ROLLBACK TO unit")
                conn.execute("RELEASE unit")
                outcomes.append((False, exc))
            else:
                conn.execute("RELEASE unit")
                outcomes.append((True, value))
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        # BEGIN or COMMIT failed (disk full, I/O error): nothing of the batch stands.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return [(False, exc)] * len(units)
    return outcomes


class Database:
    """Owns the connection; every use case is one `run` call = one atomic transaction.

    Units queued while a commit is under way are run together and share one commit
    (group commit): with `synchronous=FULL` the fsync, not the SQL, is the cost of a write.
    Each unit runs whole in aiosqlite's worker thread, so no await (and no Telegram call)
    can ever happen inside a transaction.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        # The read-only connection's URI, worked out before any await.
        self._reader_uri = "" if self.path == ":memory:" else Path(self.path).absolute().as_uri()
        self._conn: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._pending: list[tuple[Unit, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, path: Path | str, migrations: Path = MIGRATIONS) -> Database:
        """Connect, set the pragmas and bring the schema to the latest version."""
        if str(path) != ":memory:":
            _check_openable(Path(path))
        db = cls(path)
        try:
            db._conn = await aiosqlite.connect(db.path, isolation_level=None)
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open the database {path}: {exc}") from exc
        try:
            try:
                await db._in_thread(_configure)
            except sqlite3.Error as exc:
                raise DatabaseError(f"cannot open the database {path}: {exc}") from exc
            await db._in_thread(migrate, migrations)
            # Fresh statistics for the planner: cheap (it analyses only what changed a lot).
            await db._in_thread(optimize)
        except BaseException:
            # aiosqlite's worker thread is not a daemon: an unclosed connection would keep
            # the process alive at exit.
            await db.close()
            raise
        return db

    async def close(self) -> None:
        """Finish queued work, then close the connection."""
        while self._flusher is not None and not self._flusher.done():
            await self._flusher
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        if self._conn is None:
            raise RuntimeError("database is closed")
        raw = self._conn._conn
        # aiosqlite has no public hook for running a function on its worker thread; this
        # one private call lets a whole transaction cost one thread hop instead of one per
        # statement (DESIGN.md, "Where the time goes").
        result: T = await self._conn._execute(fn, raw, *args)  # type: ignore[no-untyped-call]
        return result

    async def read(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(conn, ...)` on a read-only connection, in one read transaction.

        For long reads (exports, statistics): WAL lets a reader see one consistent commit
        while the writer goes on, so they never hold up the units queued behind `run`.
        An in-memory database has no second connection and reads through `run`.
        """
        if self.path == ":memory:":
            return await self.run(fn, *args, **kwargs)
        if self._reader is None:
            reader = await aiosqlite.connect(
                f"{self._reader_uri}?mode=ro", uri=True, isolation_level=None
            )
            await reader._execute(_configure_reader, reader._conn)  # type: ignore[no-untyped-call]
            if self._reader is None:
                self._reader = reader
            else:  # another caller opened one meanwhile
                await reader.close()
        reader_conn = self._reader
        result: T = await reader_conn._execute(  # type: ignore[no-untyped-call]
            _read, reader_conn._conn, fn, args, kwargs
        )
        return result

    async def run(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(conn, ...)` as one transaction; its exception rolls back only its changes."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append(((fn, args, kwargs), future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        # A cancelled caller cancels only its wait: the unit stays queued and runs (or has
        # run), and _flush skips setting a result nobody waits for.
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                outcomes = await self._in_thread(_run_batch, [unit for unit, _ in batch])
            except BaseException as exc:  # the connection itself is gone
                outcomes = [(False, exc)] * len(batch)
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)


def optimize(conn: sqlite3.Connection) -> None:
    """Let SQLite refresh the planner's statistics where they are stale (at start, daily)."""
    # 0x10002: also analyse tables never analysed yet (a fresh file, a new migration's
    # indexes), bounded by analysis_limit so a large table costs milliseconds.
    conn.execute("PRAGMA analysis_limit = 400")
    conn.execute("PRAGMA optimize = 0x10002")


def _read(
    conn: sqlite3.Connection,
    fn: Callable[..., T],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> T:
    conn.execute("BEGIN")
    try:
        return fn(conn, *args, **kwargs)
    finally:
        conn.execute("COMMIT")


def _configure_reader(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 5000")
    for hook in CONNECT_HOOKS:
        hook(conn)


def _configure(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    # GDPR erasure: deleted rows are overwritten in the file, not only unlinked.
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("PRAGMA busy_timeout = 5000")
    for hook in CONNECT_HOOKS:
        hook(conn)
