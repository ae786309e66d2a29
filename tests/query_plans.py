"""Query-plan recorder: every statement the suite runs, checked for full scans of growing tables.

tests/conftest.py installs `record` on every connection `storage.database.Database` opens
(sqlite3's trace callback, which sees the statements triggers run too); at the end of the
session `check` runs `EXPLAIN QUERY PLAN` for one example of each distinct statement on a
freshly migrated database and names every `SCAN` of a table that can grow (issue 12: at 50,000
members one such statement stalls everyone queued behind the single writer).
"""

from __future__ import annotations

import re
import sqlite3
import sys
from pathlib import Path
from types import FrameType

from storage.database import migrate

# Tables that may be scanned whole, and why: their size does not grow with the members.
SMALL_TABLES: dict[str, str] = {
    "teams": "the configured sector teams (a dozen rows)",
    "admins": "the configured coordinating team",
    "moderators": "a few per sector",
    "group_links": "at most a few groups per sector",
    "delivery_pause": "one row",
    "retention_runs": "one row",
    "postulate_counters": "one row per year",
    "postulate_calls": "a few calls per sector and year",
    "broadcasts": "moderators' broadcasts: a few a week, whatever the members",
    "audit_log": "moderators' and admins' actions: /audit pages it newest first by rowid",
    "consultations": "drafts of the programme put to consultation: a few a year",
    "sqlite_master": "the schema",
    "sqlite_schema": "the schema",
    "pragma_table_info": "the schema",
}
# Statement kinds worth a plan; the rest (BEGIN, PRAGMA, CREATE, ...) have none to check.
_PLANNED = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|REPLACE)\b", re.IGNORECASE)
_LITERAL = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b|X'[0-9A-F]*'", re.IGNORECASE)
_TABLE_REF = re.compile(
    r"\b(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?", re.IGNORECASE
)
_NOT_ALIAS = {
    "where", "join", "left", "inner", "cross", "on", "set", "order", "group", "limit", "using",
    "values", "select", "as", "default", "union", "natural", "having", "window", "returning",
    "indexed", "not", "and", "or", "except", "intersect",
}  # fmt: skip
_BOUNDED_WALK = re.compile(r"\bORDER BY\b.*\bLIMIT\b", re.IGNORECASE | re.DOTALL)
_SCAN = re.compile(r"^SCAN (\w+)(?: USING (?:COVERING )?INDEX (\w+))?")

# One example per statement shape (literals blanked): memory stays small over the suite.
recorded: dict[str, str] = {}
# Shapes seen only from a test's own code (assertions, setup): not the bot's queries.
_seen_from_tests: set[str] = set()
_TESTS = str(Path(__file__).resolve().parent)
_DATABASE = str(Path(migrate.__code__.co_filename))


def record(conn: sqlite3.Connection) -> None:
    """Record the statements `conn` runs from now on."""
    conn.set_trace_callback(_remember)


def _remember(statement: str) -> None:
    # Statements run by a trigger come as "-- TRIGGER name"; their bodies are traced as well.
    if not _PLANNED.match(statement):
        return
    shape = _LITERAL.sub("?", statement)
    if shape in recorded:
        return
    # Walk up to the Database method that ran the unit: who asked for the statement?
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename != _DATABASE:
        if frame.f_code.co_filename.startswith(_TESTS):
            _seen_from_tests.add(shape)
            return
        frame = frame.f_back
    if frame is not None and frame.f_code.co_name == "migrate":
        return  # a migration runs once per database, whatever its plan
    recorded[shape] = statement


def _aliases(sql: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for table, alias in _TABLE_REF.findall(sql):
        found[table] = table
        if alias and alias.lower() not in _NOT_ALIAS:
            found[alias] = table
    return found


# A statement meant to read a whole table (an export of everything) says so in its text.
READS_ALL = "/* reads all */"


def full_scans(conn: sqlite3.Connection, statement: str) -> list[str]:
    """The growing tables `statement` reads whole, as EXPLAIN QUERY PLAN shows them."""
    if READS_ALL in statement:
        return []
    try:
        plan = conn.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall()
    except sqlite3.Error:
        # A statement on a schema of a test's own (an old version, a broken migration).
        return []
    schema = conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
    partial = {name for kind, name, sql in schema if kind == "index" and " WHERE " in (sql or "")}
    # Real tables only: a subquery's or a CTE's name is no table, FTS5 keeps its own.
    fts = [name for kind, name, sql in schema if (sql or "").startswith("CREATE VIRTUAL")]
    tables = {
        name
        for kind, name, _ in schema
        if kind == "table" and not any(name.startswith(f"{v}_") for v in fts)
    }
    aliases = _aliases(statement)
    scans = []
    for row in plan:
        match = _SCAN.match(row[3])
        if match is None or " VIRTUAL TABLE " in row[3]:
            continue
        table = aliases.get(match.group(1), match.group(1))
        # Reading a whole partial index reads only the rows it holds (pending, sending, ...).
        if table in SMALL_TABLES or match.group(2) in partial:
            continue
        # Walking an index in order and stopping at LIMIT reads LIMIT entries, whatever the size.
        if match.group(2) and _BOUNDED_WALK.search(statement) and " WHERE " not in statement:
            continue
        if table not in tables:
            continue
        scans.append(f"{row[3]}  [{table}]")
    return scans


def check(folder: Path) -> list[str]:
    """Every recorded statement that scans a growing table, with its plan."""
    path = folder / "plans.sqlite3"
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        migrate(conn)
        offenders = []
        for statement in sorted(set(recorded.values())):
            for scan in full_scans(conn, statement):
                offenders.append(f"{scan}\n    {' '.join(statement.split())[:400]}")
        return offenders
    finally:
        conn.close()
