"""Many users at once: no "database is locked", handler latency measured (CI-sized).

200 simulated members use the real Application (built by bot.app.build_application on a real
SQLite file, network faked) at the same time, each in a closed loop with about a second of
"thinking" between two actions (under the per-user flood limit): sector toggles, /sectors,
RSVPs to a meeting with a small capacity (so the waiting list moves), /start, /help and
unknown text. Each update goes through the bot's update processor (PerUserUpdateProcessor,
`max_concurrent_updates` as configured) as in production, and its latency is taken from
submission to the end of its handlers. Meanwhile:

- the delivery engine runs in a loop, with a broadcast to a sector team queued every 2 s, so
  its claims and settlements compete with the users' transactions;
- a second SQLite connection, as another process would hold (an operator's export or
  `ngo-bot backup`), writes an announcement with `BEGIN IMMEDIATE` every 0.3 s and copies
  the database with the online backup API every 2 s.

Any "database is locked" (in a log record, an error handler, or either side's exceptions) is
counted and must be 0. bench/concurrency.py runs the same for 60 s and prints the figures;
the CI run is 5 s: the load is at its steady state within a second, and 5 s already holds
about a thousand user updates, a hundred backup-connection writes and two broadcasts.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import sqlite3
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import Update

from bot.config import Config
from bot.deps import Deps
from bot.dispatcher import dispatch_once
from bot.services import delivery
from storage.unit import Unit
from tests.conftest import make_config, start_driver, stop_driver
from tests.fakes import BOT_ID
from tests.harness import BotDriver, Clock
from tests.sql import raw_sql

FIRST_USER = 50_000
LOCKED = "database is locked"
ACTIONS = ("toggle", "sectors", "rsvp", "start", "help", "text")
WEIGHTS = (35, 10, 30, 10, 10, 5)


@dataclass
class LoadResult:
    """Latencies per action and every trace of lock contention."""

    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # what reached the error handlers
    locked: int = 0
    side_writes: int = 0
    backups: int = 0
    broadcasts: int = 0
    delivered: int = 0
    calls: Counter[str] = field(default_factory=Counter)  # Bot API calls by method

    @property
    def all_latencies(self) -> list[float]:
        return [value for values in self.latencies.values() for value in values]

    @property
    def updates(self) -> int:
        return len(self.all_latencies)

    def lines(self) -> list[str]:
        def row(name: str, values: list[float]) -> str:
            cuts = (
                statistics.quantiles(values, n=100, method="inclusive")
                if len(values) >= 2
                else values * 99
            )
            return (
                f"  {name:<8} n={len(values):6d}  p50={cuts[49] * 1000:7.1f} ms  "
                f"p95={cuts[94] * 1000:7.1f} ms  p99={cuts[98] * 1000:7.1f} ms  "
                f"max={max(values) * 1000:7.1f} ms"
            )

        lines = [
            f"{self.updates} updates in {self.seconds:.1f} s = "
            f"{self.updates / self.seconds:.0f} updates/s; "
            f"'{LOCKED}': {self.locked}; errors: {len(self.errors)}",
            f"  side connection: {self.side_writes} writes, {self.backups} backups; "
            f"{self.broadcasts} broadcasts, {self.delivered} copies sent meanwhile",
            row("all", self.all_latencies),
        ]
        lines += [row(name, values) for name, values in sorted(self.latencies.items()) if values]
        return lines


class _LockSpotter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen = 0

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += str(record.exc_info[1])
        if LOCKED in text:
            self.seen += 1


def _private(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "type": "private", "first_name": "U"}


def _from(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "U", "language_code": "pl"}


def _message(user_id: int, text: str, date: int) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": 1,
        "date": date,
        "chat": _private(user_id),
        "from": _from(user_id),
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"message": message}


_QUERY_IDS = itertools.count(1)


def _press(user_id: int, data: str, date: int) -> dict[str, Any]:
    return {
        "callback_query": {
            # Each press is a new query: Telegram takes one answer per query id.
            "id": f"{user_id}-{next(_QUERY_IDS)}",
            "from": _from(user_id),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": 1,
                "date": date,
                "chat": _private(user_id),
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "NGO bot"},
                "text": "…",
            },
        }
    }


class Load:
    """The bot, its members, a meeting and the side connection; `run(seconds)` drives them."""

    def __init__(self, config: Config, clock: Clock, users: int, rng: random.Random) -> None:
        self.config = config
        self.clock = clock
        self.users = [FIRST_USER + n for n in range(users)]
        self.rng = rng
        self.update_ids = iter(range(1, 1 << 62))
        self.teams: list[int] = []
        self.meeting = 0
        self.spotter = _LockSpotter()

    async def setup(self) -> BotDriver:
        self.driver = await start_driver(self.config, self.clock)
        self.result = LoadResult(seconds=0.0)

        async def count(update: object, context: Any) -> None:
            self.result.errors.append(repr(context.error))

        self.driver.app.add_error_handler(count)
        self.deps: Deps = self.driver.app.bot_data["deps"]
        now = self.clock()

        def seed(conn: sqlite3.Connection) -> tuple[list[int], int]:
            teams = [
                int(row[0])
                for row in conn.execute("SELECT id FROM teams WHERE kind = 'sector' ORDER BY id")
            ]
            for user_id in self.users:
                Unit(conn).users.add_user(user_id, "pl", now)
                Unit(conn).users.update_consent(user_id, 1, now)
                Unit(conn).subscriptions.add_subscription(user_id, teams[0], now)
            row = conn.execute(
                """INSERT INTO meetings (team_id, title, starts_at, duration_minutes, place,
                       capacity, reminder_minutes, created_by, created_at, updated_at)
                   VALUES (?, 'Spotkanie branżowe', ?, 90, 'Sala 3, Kraków', 20, '[]',
                           900, ?, ?) RETURNING id""",
                (teams[0], (now + timedelta(days=7)).isoformat(), now.isoformat(), now.isoformat()),
            ).fetchone()
            return teams, int(row[0])

        self.teams, self.meeting = await self.deps.db.run(raw_sql(seed))
        return self.driver

    def _update(self, user_id: int, action: str) -> dict[str, Any]:
        date = int(self.clock().timestamp())
        if action == "toggle":
            raw = _press(user_id, f"sectors:toggle:{self.rng.choice(self.teams)}", date)
        elif action == "rsvp":
            choice = self.rng.choice(("going", "going", "maybe", "no"))
            raw = _press(user_id, f"rsvp:{choice}:{self.meeting}", date)
        elif action == "sectors":
            raw = _message(user_id, "/sectors", date)
        elif action == "start":
            raw = _message(user_id, "/start", date)
        elif action == "help":
            raw = _message(user_id, "/help", date)
        else:
            raw = _message(user_id, "dzień dobry <b>&", date)
        return {"update_id": next(self.update_ids), **raw}

    async def _user(self, user_id: int, until: float) -> None:
        app = self.driver.app
        await asyncio.sleep(self.rng.uniform(0, 1.0))  # users do not all start together
        while time.monotonic() < until:
            action = self.rng.choices(ACTIONS, WEIGHTS)[0]
            update = Update.de_json(self._update(user_id, action), app.bot)
            began = time.perf_counter()
            # Production's path: the update processor (per-user order, bounded concurrency).
            await app.update_processor.process_update(update, app.process_update(update))
            self.result.latencies.setdefault(action, []).append(time.perf_counter() - began)
            await asyncio.sleep(self.rng.uniform(0.6, 1.4))

    async def _dispatcher(self, until: float) -> None:
        last = 0.0
        while time.monotonic() < until:
            if time.monotonic() - last >= 2.0:
                last = time.monotonic()
                team = self.rng.choice(self.teams)

                def queue(conn: sqlite3.Connection, team: int = team) -> int:
                    return delivery.announce(
                        Unit(conn),
                        kind="broadcast",
                        audience="team",
                        audience_id=team,
                        messages=delivery.messages_for(
                            lambda lang: delivery.OutgoingMessage(text=f"Ogłoszenie ({lang})")
                        ),
                        now=self.clock(),
                    )

                await self.deps.db.run(raw_sql(queue))
                self.result.broadcasts += 1
            # A broadcast to 200 takes 8 s at the pace: yield every 2 s (as a shutdown would
            # make it) so that new broadcasts keep coming and the run ends on time.
            yield_at = min(until, time.monotonic() + 2.0)

            def stopping(at: float = yield_at) -> bool:
                return time.monotonic() >= at

            report = await dispatch_once(self.deps, self.driver.app.bot, stopping=stopping)
            self.result.delivered += report.sent
            await asyncio.sleep(0.2)

    def _side_connection(self, until: float, stop: threading.Event) -> None:
        """Another process's connection: short write transactions and online backups."""
        conn = sqlite3.connect(self.config.database, timeout=5, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 5000")
        target = sqlite3.connect(":memory:")
        last_backup = 0.0
        try:
            while time.monotonic() < until and not stop.is_set():
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    delivery.announce(
                        Unit(conn),
                        kind="broadcast",
                        audience="team",
                        audience_id=self.teams[-1],
                        messages=delivery.messages_for(
                            lambda lang: delivery.OutgoingMessage(text=f"Z zewnątrz ({lang})")
                        ),
                        now=datetime.now(UTC),
                        due_at=datetime.now(UTC) + timedelta(days=365),
                    )
                    conn.execute("COMMIT")
                    self.result.side_writes += 1
                    if time.monotonic() - last_backup >= 2.0:
                        last_backup = time.monotonic()
                        conn.backup(target)
                        self.result.backups += 1
                except sqlite3.OperationalError as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    self.result.errors.append(f"side connection: {exc}")
                    if LOCKED in str(exc):
                        self.result.locked += 1
                time.sleep(0.3)
        finally:
            target.close()
            conn.close()

    async def run(self, seconds: float) -> LoadResult:
        root = logging.getLogger()
        root.addHandler(self.spotter)
        stop = threading.Event()
        began = time.monotonic()
        until = began + seconds
        side = threading.Thread(target=self._side_connection, args=(until, stop), daemon=True)
        side.start()
        try:
            await asyncio.gather(
                self._dispatcher(until), *(self._user(user_id, until) for user_id in self.users)
            )
        finally:
            stop.set()
            await asyncio.to_thread(side.join, 10)
            root.removeHandler(self.spotter)
        self.result.seconds = time.monotonic() - began
        self.result.locked += self.spotter.seen + sum(LOCKED in e for e in self.result.errors)
        return self.result


async def run_load(
    folder: Path,
    seconds: float,
    users: int = 200,
    seed: int = 0,
    print_: Callable[[str], Any] = print,
) -> LoadResult:
    """The whole scenario on a fresh database in `folder`."""
    config = make_config(folder)
    load = Load(config, Clock(), users, random.Random(seed))
    driver = await load.setup()
    try:
        result = await load.run(seconds)
        result.calls = Counter(call.method for call in driver.api.calls)
    finally:
        await stop_driver(driver)
    for line in result.lines():
        print_(line)
    return result


async def test_200_users_at_once_never_see_database_is_locked(tmp_path: Path) -> None:
    result = await run_load(tmp_path, seconds=10.0, users=200)

    assert result.locked == 0, result.errors[:5]
    assert result.errors == []
    # 10 s, as the issue sizes it for CI. Everyone was served throughout (about one action
    # per user per second).
    assert result.updates >= 200 * 2, result.lines()
    assert set(result.latencies) == set(ACTIONS)
    assert result.side_writes >= 5
    assert result.backups >= 1
    assert result.broadcasts >= 2  # the dispatcher yields every 2 s for new ones
    assert result.delivered > 0
    # Every update was answered (an error path would be faster and the figures a lie).
    presses = len(result.latencies["toggle"]) + len(result.latencies["rsvp"])
    assert result.calls["answerCallbackQuery"] >= presses
    typed = sum(len(result.latencies[name]) for name in ("sectors", "start", "help", "text"))
    assert result.calls["sendMessage"] >= typed + result.delivered
