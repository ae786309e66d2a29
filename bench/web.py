"""Benchmark of the public site (issue 14, "Speed").

    .venv/bin/python -m bench.web [--members 5000] [--meetings 2000] [--repeat 50]

Seeds a database with the storage layer's schema (members subscribed to sectors, meetings
with RSVPs, calls), then times each page and feed in process (ASGI, no sockets: the server's
own time) against a bare Starlette "hello" measured in the same run. Prints the median per
path and PASS/FAIL against 30 ms. Until the scale issue's 50,000-member builder is merged this
seeds its own, smaller database (the sizes are printed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from bot.config import EXAMPLE_CONFIG, load_config
from bot.i18n import Texts
from bot.services.sectors import sync_from_config
from bot.web.site import build_site
from storage.database import Database, ReadOnlyDatabase
from storage.timefmt import db_time
from tests.sql import raw_sql

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
TARGET_MS = 30.0


def _seed(conn: sqlite3.Connection, members: int, meetings: int) -> None:
    teams = [row[0] for row in conn.execute("SELECT id FROM teams WHERE kind = 'sector'")]
    stamp = db_time(NOW - timedelta(days=30))
    conn.executemany(
        """INSERT INTO users (id, language, consent_at, consent_version, created_at)
           VALUES (?, 'pl', ?, 1, ?)""",
        [(10_000 + i, stamp, stamp) for i in range(members)],
    )
    conn.executemany(
        "INSERT INTO subscriptions (user_id, team_id, created_at) VALUES (?, ?, ?)",
        [(10_000 + i, teams[i % len(teams)], stamp) for i in range(members)],
    )
    for i in range(meetings):
        start = NOW + timedelta(days=i % 400 - 200, hours=i % 7)
        row = conn.execute(
            """INSERT INTO meetings (team_id, title, starts_at, duration_minutes, place,
                   agenda, capacity, reminder_minutes, state, created_by, created_at, updated_at)
               VALUES (?, ?, ?, 120, 'ul. Józefińska 14, Kraków', 'Porządek', 50, ?, ?, 1, ?, ?)
               RETURNING id""",
            (
                teams[i % len(teams)],
                f"Spotkanie branżowe {i}",
                db_time(start),
                json.dumps([1440]),
                "cancelled" if i % 17 == 0 else "scheduled",
                stamp,
                stamp,
            ),
        ).fetchone()
        conn.executemany(
            """INSERT INTO rsvps (meeting_id, user_id, answer, answered_at)
               VALUES (?, ?, 'going', ?)""",
            [(row[0], 10_000 + (i * 31 + k) % members, stamp) for k in range(20)],
        )
    for team in teams:
        conn.execute(
            """INSERT INTO postulate_calls (team_id, title, deadline, opened_by, created_at)
               VALUES (?, 'Nabór postulatów 2027', ?, 1, ?)""",
            (team, db_time(NOW + timedelta(days=30)), stamp),
        )


async def _time(app: ASGIApp, path: str, repeat: int) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        answer = await client.get(path)
        if answer.status_code != 200:
            raise SystemExit(f"{path}: status {answer.status_code}")
        samples = []
        for _ in range(repeat):
            began = time.perf_counter()
            await client.get(path)
            samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


async def main(members: int, meetings: int, repeat: int) -> None:
    """Seed, then print each path's median server time against the bare hello."""
    config = load_config(EXAMPLE_CONFIG, {"BOT_DATABASE": str(Path(tempfile.mkdtemp()) / "b.db")})
    db = await Database.open(config.database)
    await sync_from_config(db, config)
    await db.run(raw_sql(_seed), members, meetings)
    await db.close()
    reader = ReadOnlyDatabase(config.database)
    site = build_site(config, reader, Texts(), "ngo_bench_bot", lambda: NOW)

    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    bare = Starlette(routes=[Route("/", hello)])
    print(f"database: {members} members, {meetings} meetings with 20 RSVPs each (own seed)")
    baseline = await _time(bare, "/", repeat)
    print(f"{'bare Starlette hello':32} {baseline:7.2f} ms")
    paths = ["/", "/en/", "/sectors/culture", "/meetings/5", "/meetings/5.ics", "/dostepnosc"]
    paths += ["/calendar.ics", "/calendar/culture.ics", "/feed.atom", "/healthz"]
    for path in paths:
        median = await _time(site, path, repeat)
        verdict = "PASS" if median <= TARGET_MS else "FAIL"
        print(
            f"{path:32} {median:7.2f} ms  x{median / baseline:6.1f}  {verdict} (<= {TARGET_MS} ms)"
        )
    await reader.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--meetings", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.members, args.meetings, args.repeat))
