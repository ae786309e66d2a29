"""The base of every SQLite repository: the one transaction's connection it works on."""

from __future__ import annotations

import sqlite3


class Repository:
    """Methods over one transaction's connection; they never commit (the `Database` does)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
