"""A read-only SQLite connection for the public site, so pages never wait behind the writer."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class ReadOnlyDatabase:
    """One `mode=ro` connection used by one worker thread; each read sees one snapshot.

    In WAL mode readers never block the writer nor wait for it, so a page costs its own
    queries only. The connection cannot write: a bug in a page cannot change the data.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="site-db")
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA query_only = ON")
            self._conn = conn
        return self._conn

    def _read(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        conn = self._connect()
        # One transaction per page: all its queries see the same committed state.
        conn.execute("BEGIN")
        try:
            return fn(conn, *args, **kwargs)
        finally:
            conn.execute("ROLLBACK")

    async def run(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run `fn(conn, ...)` on the read-only connection, in its thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: self._read(fn, *args, **kwargs))

    async def close(self) -> None:
        """Close the connection in its own thread, then stop the thread."""

        def close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._executor, close)
        self._executor.shutdown(wait=True)
