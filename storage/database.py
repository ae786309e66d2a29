"""The SQLite connections: pragmas, migrations, group-committed units and read-only reads."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Concatenate, NamedTuple, ParamSpec, TypeVar

from storage.unit import Unit

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
# A queued unit of work: fn(unit, *args, **kwargs), kept apart so queuing it makes no closure.
Work = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]
Outcome = tuple[bool, Any]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# A batch bounds how long one commit keeps later callers waiting.
MAX_BATCH = 256
# Tables whose rows the /meetings pages show: every row the writer inserts, updates or deletes
# in them (cascades and raw SQL included) bumps `Database.data_version`.
WATCHED_TABLES = ("meetings", "rsvps", "subscriptions", "teams")
# Read-only connections (and threads) per reader: see ReadOnlyDatabase.
READERS = 2
# Called with every raw connection opened here (the writer and the read-only ones), after its
# pragmas: the test suite installs its query-plan recorder here.
CONNECT_HOOKS: list[Callable[[sqlite3.Connection], None]] = []


# Every SQLite file starts with these 16 bytes (sqlite.org/fileformat.html, 1.3.1).
SQLITE_HEADER = b"SQLite format 3\x00"


class Checkpoint(NamedTuple):
    """What one PASSIVE WAL checkpoint did (the three columns of `PRAGMA wal_checkpoint`)."""

    busy: bool
    log_frames: int
    checkpointed: int


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


def _run_batch(conn: sqlite3.Connection, units: list[Work]) -> list[Outcome]:
    """Run each unit in its own savepoint inside one transaction, then commit once."""
    outcomes: list[Outcome] = []
    try:
        conn.execute("BEGIN IMMEDIATE")
        for fn, args, kwargs in units:
            conn.execute("SAVEPOINT unit")
            try:
                value = fn(Unit(conn), *args, **kwargs)
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


def _connect(path: str) -> sqlite3.Connection:
    # Made and used only in the writer's one thread; check_same_thread=False because that
    # thread is the executor's, not the one that asked for it.
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


class Database:
    """Owns the writer connection; every use case is one `run` call = one atomic transaction.

    Units queued while a commit is under way are run together and share one commit
    (group commit): with `synchronous=FULL` the fsync, not the SQL, is the cost of a write.
    Each batch runs whole in the writer's single thread (one thread hop per transaction,
    where aiosqlite would make one per statement), so no await (and no Telegram call) can
    ever happen inside a transaction.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._reader = None if self.path == ":memory:" else ReadOnlyDatabase(self.path)
        self._checkpointer: ThreadPoolExecutor | None = None
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._pending: list[tuple[Work, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        # Bumped in the writer's thread by the watch triggers (see `_watch`); read anywhere.
        self.data_version = 0

    def _changed(self) -> None:
        self.data_version += 1

    @classmethod
    async def open(cls, path: Path | str, migrations: Path = MIGRATIONS) -> Database:
        """Connect, set the pragmas and bring the schema to the latest version."""
        if str(path) != ":memory:":
            _check_openable(Path(path))
        db = cls(path)
        _share_the_gil()
        db._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-writer")
        loop = asyncio.get_running_loop()
        try:
            try:
                db._conn = await loop.run_in_executor(db._executor, _connect, db.path)
                await db._in_thread(_configure)
            except sqlite3.Error as exc:
                raise DatabaseError(f"cannot open the database {path}: {exc}") from exc
            await db._in_thread(migrate, migrations)
            # After the migrations: a table they rebuild would take its triggers with it.
            await db._in_thread(_watch, db._changed)
            # Fresh statistics for the planner: cheap (it analyses only what changed a lot).
            await db._in_thread(optimize)
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        """Finish queued work, then close the connections and stop their threads."""
        while self._flusher is not None and not self._flusher.done():
            await self._flusher
        if self._reader is not None:
            await self._reader.close()
            # A later read (the connection closed and the database opened again) starts anew.
            self._reader = ReadOnlyDatabase(self.path)
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            conn, self._checkpoint_conn = self._checkpoint_conn, None
            if conn is not None:
                await asyncio.get_running_loop().run_in_executor(checkpointer, conn.close)
            checkpointer.shutdown(wait=True)
        executor, self._executor = self._executor, None
        if executor is None:
            return
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(executor, conn.close)
        executor.shutdown(wait=True)

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` in the writer's thread."""
        if self._executor is None or self._conn is None:
            raise RuntimeError("database is closed")
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, fn, self._conn, *args
        )

    async def optimize(self) -> None:
        """Refresh the planner's statistics where they are stale (daily), between batches."""
        await self._in_thread(optimize)

    async def checkpoint(self) -> Checkpoint:
        """Copy the WAL into the database file (PASSIVE), on a connection of its own.

        The writer never checkpoints (`wal_autocheckpoint = 0`): one run at commit made that
        unit hold every queued update for tens of milliseconds (issue 12). PASSIVE takes no
        write lock, so the writer goes on meanwhile; a housekeeping job calls this often.
        """
        if self.path == ":memory:":
            return Checkpoint(False, 0, 0)
        if self._checkpointer is None:
            self._checkpointer = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="db-checkpoint"
            )
        return await asyncio.get_running_loop().run_in_executor(
            self._checkpointer, self._checkpoint_in_thread
        )

    def _checkpoint_in_thread(self) -> Checkpoint:
        if self._checkpoint_conn is None:
            conn = _connect(self.path)
            conn.execute("PRAGMA busy_timeout = 5000")
            for hook in CONNECT_HOOKS:
                hook(conn)
            self._checkpoint_conn = conn
        busy, log_frames, checkpointed = self._checkpoint_conn.execute(
            "PRAGMA wal_checkpoint(PASSIVE)"
        ).fetchone()
        return Checkpoint(bool(busy), log_frames, checkpointed)

    async def read(
        self, fn: Callable[Concatenate[Unit, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(unit, ...)` on the read-only connection, in one read transaction.

        For long reads (exports, statistics): WAL lets a reader see one consistent commit
        while the writer goes on, so they never hold up the units queued behind `run`.
        An in-memory database has no second connection and reads through `run`.
        """
        if self._reader is None:
            return await self.run(fn, *args, **kwargs)
        return await self._reader.run(fn, *args, **kwargs)

    async def run(
        self, fn: Callable[Concatenate[Unit, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(unit, ...)` as one transaction; its exception rolls back only its changes."""
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


class ReadOnlyDatabase:
    """`mode=ro` connections, one per worker thread; each read sees one snapshot.

    The one read-only facility: the public site, exports and /stats read here. In WAL mode
    readers never block the writer nor wait for it, so a read costs its own queries only, and
    the connection cannot write: a bug in a page cannot change the data. Two threads by
    default: a short read (a member's view of a consultation, a broadcast's recipient count)
    goes on beside a long one (an export of 20,000 postulates takes seconds at 50,000
    members) instead of waiting for it.
    """

    def __init__(self, path: Path | str, workers: int = READERS) -> None:
        # The URI is worked out now, before any await or thread.
        self._uri = f"{Path(path).absolute().as_uri()}?mode=ro"
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db-reader")
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self._uri, uri=True, isolation_level=None, check_same_thread=False
            )
            _configure_reader(conn)
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def _read(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        conn = self._connect()
        # One transaction per read: all its queries see the same committed state.
        conn.execute("BEGIN")
        try:
            return fn(Unit(conn), *args, **kwargs)
        finally:
            conn.execute("ROLLBACK")

    async def run(
        self, fn: Callable[Concatenate[Unit, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(unit, ...)` over a read-only connection, in its thread."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._read, fn, args, kwargs
        )

    async def close(self) -> None:
        """Let running reads finish and stop the threads, then close their connections."""
        # Closing twice (a shutdown after a failed start) is harmless; idle threads end.
        self._executor.shutdown(wait=True)
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            # No thread uses it any more (check_same_thread=False allows closing it here).
            conn.close()


# How long a thread holding the GIL keeps it while another waits (CPython's default: 5 ms).
GIL_SWITCH_SECONDS = 0.0001


def _share_the_gil() -> None:
    """Let the writer's thread have the GIL back sooner while another thread computes.

    sqlite3 releases the GIL around each statement and needs it back after: while another
    thread computes in pure Python (an export rendered on the reader's thread, the event
    loop's own work), each statement of the writer waited up to the switch interval. On
    bench/scale.py's loaded 2-core machine, a member's longest /meetings wait was 40-86 ms
    with CPython's 5 ms and 31-60 ms with 0.1 ms (same code, same session). Process-wide,
    so set once and only ever lowered.
    """
    if sys.getswitchinterval() > GIL_SWITCH_SECONDS:
        sys.setswitchinterval(GIL_SWITCH_SECONDS)


def optimize(conn: sqlite3.Connection) -> None:
    """Let SQLite refresh the planner's statistics where they are stale (at start, daily)."""
    # 0x10002: also analyse tables never analysed yet (a fresh file, a new migration's
    # indexes), bounded by analysis_limit so a large table costs milliseconds.
    conn.execute("PRAGMA analysis_limit = 400")
    conn.execute("PRAGMA optimize = 0x10002")


def _watch(conn: sqlite3.Connection, changed: Callable[[], None]) -> None:
    """Call `changed` for every row written to WATCHED_TABLES through this connection.

    TEMP triggers live in this connection only (no migration, nothing in the file), so other
    connections and processes neither need the function nor pay for it. A change rolled back
    has bumped the version too: that costs a cache miss, never a stale page.
    """
    conn.create_function("ngo_data_changed", 0, changed)
    for table in WATCHED_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            conn.execute(
                f"CREATE TEMP TRIGGER IF NOT EXISTS watch_{table}_{event.lower()} "
                f"AFTER {event} ON main.{table} BEGIN SELECT ngo_data_changed(); END"
            )


def _configure_reader(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA query_only = ON")
    for hook in CONNECT_HOOKS:
        hook(conn)


def _configure(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    # No checkpoint at commit: Database.checkpoint runs them on another connection.
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("PRAGMA foreign_keys = ON")
    # GDPR erasure: deleted rows are overwritten in the file, not only unlinked.
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("PRAGMA busy_timeout = 5000")
    for hook in CONNECT_HOOKS:
        hook(conn)
