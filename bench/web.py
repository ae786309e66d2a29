"""Benchmark of the public site (issue 14, "Speed").

    .venv/bin/python -m bench.web [--repeat 50]

Uses bench/scale.py's 50,000-member database (built once and cached in
~/.cache/ngo-bot-bench), adds to a working copy what the site shows and the scale seed lacks
(past meetings with attendance, RSVPs, calls for postulates), then times every page type and
feed in process (ASGI, no sockets: the server's own time) against a bare Starlette "hello"
measured in the same run. Prints the median per path and PASS/FAIL against 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from bench import scale
from bot.i18n import Texts
from bot.web.site import build_site
from storage.database import Database, ReadOnlyDatabase
from storage.timefmt import db_time
from tests.sql import raw_sql

NOW = scale.NOW
TARGET_MS = 30.0
PAST_MEETINGS = 2_000
RSVPS_EACH = 20


def _seed(conn: sqlite3.Connection) -> None:
    """Past meetings with attendance, RSVPs to the upcoming ones, a call per sector."""
    teams = [row[0] for row in conn.execute("SELECT id FROM teams WHERE kind = 'sector'")]
    members = [row[0] for row in conn.execute("SELECT id FROM users ORDER BY id LIMIT 5000")]
    stamp = db_time(NOW - timedelta(days=400))
    conn.executemany(
        """INSERT INTO meetings (team_id, title, starts_at, duration_minutes, place, agenda,
               capacity, reminder_minutes, state, created_by, created_at, updated_at)
           VALUES (?, ?, ?, 120, 'ul. Józefińska 14, Kraków', 'Porządek', 50, '[1440]', ?,
               900, ?, ?6)""",
        [
            (
                teams[i % len(teams)],
                f"Spotkanie branżowe {i}",
                db_time(NOW - timedelta(days=1 + i % 380, hours=i % 7)),
                "cancelled" if i % 17 == 0 else "scheduled",
                stamp,
                stamp,
            )
            for i in range(PAST_MEETINGS)
        ],
    )
    meetings = [row[0] for row in conn.execute("SELECT id FROM meetings")]
    conn.executemany(
        """INSERT OR IGNORE INTO rsvps (meeting_id, user_id, answer, answered_at)
           VALUES (?, ?, 'going', ?)""",
        [
            (m, members[(m * 31 + k) % len(members)], stamp)
            for m in meetings
            for k in range(RSVPS_EACH)
        ],
    )
    for team in teams:
        conn.execute(
            """INSERT INTO postulate_calls (team_id, title, deadline, opened_by, created_at)
               VALUES (?, 'Nabór postulatów 2027', ?, 900, ?)""",
            (team, db_time(NOW + timedelta(days=30)), stamp),
        )
    conn.execute("ANALYZE")


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


async def main(repeat: int) -> None:
    """Build or reuse the 50k database, then print each path's median against the bare hello."""
    source = await scale.build(1.0)
    path = scale.working_copy(source, Path(tempfile.mkdtemp()))
    config = scale.make_config(path)
    db = await Database.open(config.database)
    await db.run(raw_sql(_seed))
    await db.close()
    reader = ReadOnlyDatabase(config.database)
    site = build_site(config, reader, Texts(), "ngo_bench_bot", lambda: NOW)

    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    bare = Starlette(routes=[Route("/", hello)])
    sizes = sqlite3.connect(path)
    counts = {
        table: sizes.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("users", "subscriptions", "meetings", "rsvps", "postulates")
    }
    sizes.close()
    print(
        "database (bench/scale.py, 50,000 members): "
        + ", ".join(f"{n:,} {table}" for table, n in counts.items())
    )
    baseline = await _time(bare, "/", repeat)
    print(f"{'bare Starlette hello':40} {baseline:7.2f} ms")
    paths = ["/", "/en/", "/sectors/culture", "/en/sectors/culture", "/meetings/5"]
    paths += ["/en/meetings/5", "/meetings/5.ics", "/postulates", "/postulates?sector=culture"]
    paths += ["/en/postulates?state=submitted", "/postulates/P-2026-00001"]
    paths += ["/en/postulates/P-2026-00001", "/dostepnosc", "/calendar.ics"]
    paths += ["/calendar/culture.ics", "/feed.atom", "/healthz"]
    passed = True
    for target in paths:
        median = await _time(site, target, repeat)
        verdict = "PASS" if median <= TARGET_MS else "FAIL"
        passed = passed and median <= TARGET_MS
        print(
            f"{target:40} {median:7.2f} ms  x{median / baseline:6.1f}  {verdict} "
            f"(<= {TARGET_MS:g} ms)"
        )
    print("ALL PASS" if passed else "SOME FAIL")
    await reader.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.repeat))
