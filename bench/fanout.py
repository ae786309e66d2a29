"""Benchmark of a broadcast's fan-out (issue 5, "Tests and benchmark").

    .venv/bin/python -m bench.fanout [--subscribers 50000] [--repeat 3]

Prints the time to fan one broadcast out to `--subscribers` subscribers in one transaction -
the dispatcher's own step: the 'broadcast' audience resolver, the recipients' notification
settings and the `deliveries` insert, committed (WAL, synchronous=FULL) - against the time to
insert the same rows with a plain `executemany` in one transaction, measured in the same run
on the same database, and their ratio. Target: the fan-out <= 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.config import EXAMPLE_CONFIG, Config, load_config
from bot.engine import build_engine
from bot.services import delivery
from bot.services import sectors as sectors_service
from storage import broadcasts as broadcasts_storage
from storage.database import Database
from storage.timefmt import db_time
from storage.unit import Unit
from tests.sql import raw_sql

TOKEN = "123456:BENCH-token"
START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
FIRST_CHAT = 1_000_000
TARGET_SECONDS = 2.0
# The production engine: the 'broadcast' audience and the settings' screen, registered.
ENGINE = build_engine()


def make_config(folder: Path) -> Config:
    return load_config(
        EXAMPLE_CONFIG, {"BOT_TOKEN": TOKEN, "BOT_DATABASE": str(folder / "fanout.sqlite3")}
    )


def seed(conn: sqlite3.Connection, subscribers: int) -> int:
    """`subscribers` consented members of the culture team, the first its moderator; returns
    its id."""
    team = int(conn.execute("SELECT id FROM teams WHERE slug = 'culture'").fetchone()[0])
    when = db_time(START)
    ids = range(FIRST_CHAT, FIRST_CHAT + subscribers)
    conn.executemany(
        """INSERT INTO users (id, language, created_at, consent_at, consent_version)
           VALUES (?, ?, ?, ?, 1)""",
        [(chat_id, "pl" if chat_id % 2 else "en", when, when) for chat_id in ids],
    )
    conn.executemany(
        "INSERT INTO subscriptions (user_id, team_id, created_at) VALUES (?, ?, ?)",
        [(chat_id, team, when) for chat_id in ids],
    )
    # The author moderates the sector: fan-out re-checks it when a broadcast falls due.
    conn.execute(
        "INSERT INTO moderators (user_id, team_id, granted_at) VALUES (?, ?, ?)",
        (FIRST_CHAT, team, when),
    )
    return team


def queue_broadcast(conn: sqlite3.Connection, team: int, now: datetime) -> int:
    """A broadcast to the team, as /broadcast queues it; returns its announcement id."""
    broadcast_id = Unit(conn).broadcasts.add_broadcast(
        created_by=FIRST_CHAT,
        team_ids=[team],
        summary="bench",
        due_at=now,
        progress_chat_id=None,
        progress_message_id=None,
        now=now,
    )
    return delivery.announce(
        Unit(conn),
        kind="broadcast",
        audience="broadcast",
        audience_id=broadcast_id,
        messages=delivery.messages_for(
            lambda language: delivery.OutgoingMessage(text=f"<b>Komunikat</b> ({language})")
        ),
        now=now,
        subject=broadcasts_storage.subject(broadcast_id),
    )


def fan_out(conn: sqlite3.Connection, announcement_id: int, now: datetime, config: Config) -> int:
    announcement = Unit(conn).delivery.get_announcement(announcement_id)
    assert announcement is not None
    return ENGINE.fan_out(Unit(conn), announcement, now, config.zone)


def plain_insert(
    conn: sqlite3.Connection,
    announcement_id: int,
    rows: Sequence[tuple[int, str]],
    now: datetime,
) -> int:
    """The baseline: the same delivery rows, one plain executemany, nothing else."""
    when = db_time(now)
    conn.executemany(
        """INSERT INTO deliveries
           (announcement_id, chat_id, language, state, next_attempt_at, updated_at)
           VALUES (?, ?, ?, 'pending', ?, ?)""",
        [(announcement_id, chat_id, language, when, when) for chat_id, language in rows],
    )
    return len(rows)


async def measure(subscribers: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = make_config(Path(folder))
        db = await Database.open(config.database)
        try:
            await sectors_service.sync_from_config(db, config)
            team = await db.run(raw_sql(seed), subscribers)
            rows = await db.run(lambda unit: unit.broadcasts.list_recipients([team]))
            fan_times: list[float] = []
            plain_times: list[float] = []
            for _ in range(repeat):
                now = datetime.now(UTC)
                first = await db.run(raw_sql(queue_broadcast), team, now)
                second = await db.run(raw_sql(queue_broadcast), team, now)
                started = time.perf_counter()
                created = await db.run(raw_sql(fan_out), first, now, config)
                fan_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                inserted = await db.run(raw_sql(plain_insert), second, rows, now)
                plain_times.append(time.perf_counter() - started)
                if created != subscribers or inserted != subscribers:
                    raise SystemExit(f"expected {subscribers} rows, got {created}/{inserted}")
        finally:
            await db.close()
    fan = statistics.median(fan_times)
    plain = statistics.median(plain_times)
    verdict = "ok" if fan <= TARGET_SECONDS else "MISSED"
    print(f"Fan-out of one broadcast to {subscribers} subscribers, one transaction each")
    print(f"(median of {repeat}; SQLite WAL, synchronous=FULL, committed)")
    print(f"  plain executemany of the same rows: {plain:7.3f} s (baseline)")
    print(
        f"  broadcast fan-out (resolver, settings, insert): {fan:7.3f} s"
        f" - target <= {TARGET_SECONDS:.0f} s: {verdict}"
    )
    print(f"  ratio fan-out / plain executemany: {fan / plain:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(measure(args.subscribers, max(1, args.repeat)))


if __name__ == "__main__":
    main()
