"""Raw SQL for tests and benchmarks: set up or inspect tables behind the unit of work."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from storage.unit import Unit

P = ParamSpec("P")
T = TypeVar("T")


def connection(unit: Unit) -> sqlite3.Connection:
    """The SQLite connection under `unit` (tests only: services never see it)."""
    return unit._conn


def raw_sql(
    fn: Callable[Concatenate[sqlite3.Connection, P], T],
) -> Callable[Concatenate[Unit, P], T]:
    """Adapt `fn(conn, ...)` to `Database.run`, which hands out a unit."""

    def adapted(unit: Unit, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return fn(unit._conn, *args, **kwargs)

    return adapted
