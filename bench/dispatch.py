"""Benchmark of the delivery engine (DESIGN.md, "Where the time goes").

    .venv/bin/python -m bench.dispatch [--recipients 5000] [--rate 30] [--reminders 100000]

Prints, each against a baseline measured in the same run:
1. the engine's own cost per delivery, unthrottled (fake network, real SQLite with WAL and
   synchronous=FULL), next to the bare cost of one faked `send_message`; target <= 1 ms;
2. with `--reminders` pending future reminders: the number of scheduler jobs (target: the same
   as with none) and the time of one dispatcher poll (target <= 1 ms), next to an empty
   transaction;
3. the achieved rate of a notice to `--recipients` members at a `--rate` msg/s limit, through
   the engine's own pace as in production (no PTB limiter); target >= 0.95 x the limit (takes
   recipients/rate s).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from telegram import Bot
from telegram.constants import ParseMode
from telegram.ext import ExtBot

from bot.app import build_application
from bot.config import EXAMPLE_CONFIG, Config, load_config
from bot.deps import Deps
from bot.dispatcher import dispatch_once
from bot.engine import build_engine
from bot.i18n import Texts
from bot.services import delivery
from bot.services import sectors as sectors_service
from storage.database import Database
from storage.unit import Unit
from tests.fakes import FakeBotApi
from tests.sql import raw_sql

TOKEN = "123456:BENCH-token"
START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
FIRST_CHAT = 1_000_000


def make_config(folder: Path, name: str, **delivery_values: float) -> Config:
    config = load_config(
        EXAMPLE_CONFIG, {"BOT_TOKEN": TOKEN, "BOT_DATABASE": str(folder / f"{name}.sqlite3")}
    )
    # model_copy skips validation: the bench may go past the configurable 30 msg/s.
    paced = config.delivery.model_copy(update=delivery_values)
    return config.model_copy(update={"delivery": paced})


def culture_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT id FROM teams WHERE slug = 'culture'").fetchone()[0])


async def open_seeded(config: Config, members: int) -> Database:
    db = await Database.open(config.database)
    await sectors_service.sync_from_config(db, config)

    def seed(conn: sqlite3.Connection) -> None:
        team = culture_id(conn)
        for chat_id in range(FIRST_CHAT, FIRST_CHAT + members):
            Unit(conn).users.add_user(chat_id, "pl" if chat_id % 2 else "en", START)
            Unit(conn).users.update_consent(chat_id, 1, START)
            Unit(conn).subscriptions.add_subscription(chat_id, team, START)

    await db.run(raw_sql(seed))
    return db


def notice(language: str) -> delivery.OutgoingMessage:
    return delivery.OutgoingMessage(
        text=f"<b>Spotkanie zespołu branżowego</b> ({language}): czwartek 17:00, sala 3"
    )


async def announce_to_team(db: Database, now: datetime) -> int:
    def inner(conn: sqlite3.Connection) -> int:
        return delivery.announce(
            Unit(conn),
            kind="broadcast",
            audience="team",
            audience_id=culture_id(conn),
            messages=delivery.messages_for(notice),
            now=now,
        )

    return await db.run(raw_sql(inner))


async def timed(action: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


async def engine_cost(folder: Path, recipients: int) -> None:
    config = make_config(folder, "cost", messages_per_second=1e9)
    db = await open_seeded(config, recipients)
    bot = Bot(TOKEN, request=FakeBotApi())
    await bot.initialize()
    try:
        text = notice("pl").text

        async def bare() -> None:
            for chat_id in range(FIRST_CHAT, FIRST_CHAT + recipients):
                await bot.send_message(chat_id=chat_id, text=text, parse_mode=ParseMode.HTML)

        bare_total = await timed(bare)
        deps = Deps(
            config=config,
            db=db,
            texts=Texts(),
            engine=build_engine(),
            clock=lambda: datetime.now(UTC),
        )
        await announce_to_team(db, datetime.now(UTC))
        report = None

        async def engine() -> None:
            nonlocal report
            report = await dispatch_once(deps, bot)

        total = await timed(engine)
        assert report is not None
        assert report.sent == recipients, report
        per_bare = bare_total / recipients * 1e3
        per_total = total / recipients * 1e3
        own = per_total - per_bare
        print(f"1. engine cost, {recipients} deliveries unthrottled (fake network, real SQLite)")
        print(f"   bare fake send_message:          {per_bare:7.3f} ms per message (baseline)")
        print(f"   dispatch (fan-out, claim, send, settle): {per_total:7.3f} ms per delivery")
        print(
            f"   engine's own cost: {own:7.3f} ms per delivery"
            f" ({per_total / per_bare:.2f}x the bare send) - target <= 1 ms:"
            f" {'ok' if own <= 1.0 else 'MISSED'}"
        )
        print(f"   claims: {report.batches} batches of <= {config.delivery.batch_size}")
    finally:
        await bot.shutdown()
        await db.close()


async def achieved_rate(folder: Path, recipients: int, rate: float) -> None:
    config = make_config(folder, "rate", messages_per_second=rate)
    db = await open_seeded(config, recipients)
    # As in production: the engine's own pace is the only limit on its sends.
    bot: ExtBot[None] = ExtBot(TOKEN, request=FakeBotApi())
    await bot.initialize()
    try:
        deps = Deps(
            config=config,
            db=db,
            texts=Texts(),
            engine=build_engine(),
            clock=lambda: datetime.now(UTC),
        )
        await announce_to_team(db, datetime.now(UTC))
        print(f"3. {recipients} recipients at a {rate:g} msg/s limit (the engine's pace)")
        elapsed = await timed(lambda: dispatch_once(deps, bot))
        achieved = recipients / elapsed
        ratio = achieved / rate
        print(f"   {elapsed:.1f} s, {achieved:.2f} msg/s = {ratio:.3f}x the limit", end="")
        print(f" - target >= 0.95x: {'ok' if ratio >= 0.95 else 'MISSED'}")
    finally:
        await bot.shutdown()
        await db.close()


async def scheduler_jobs(config: Config) -> tuple[int, Deps, Bot]:
    app = build_application(config, request=FakeBotApi(), clock=lambda: START)
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    assert app.job_queue is not None
    jobs = len(app.job_queue.jobs())
    deps = app.bot_data["deps"]
    assert isinstance(deps, Deps)
    return jobs, deps, app.bot


async def many_reminders(folder: Path, reminders: int) -> None:
    empty = make_config(folder, "empty")
    jobs_without, deps, _ = await scheduler_jobs(empty)
    await deps.db.close()

    config = make_config(folder, "reminders")
    db = await open_seeded(config, 10)

    def seed(conn: sqlite3.Connection) -> None:
        team = culture_id(conn)
        messages = delivery.messages_for(notice)
        for n in range(reminders):
            due = START + timedelta(minutes=1 + n % 200_000)
            delivery.announce(
                Unit(conn),
                kind="meeting-reminder",
                audience="team",
                audience_id=team,
                messages=messages,
                now=START,
                due_at=due,
                expires_at=due + timedelta(hours=1),
                subject=f"meeting:{n}",
            )

    await db.run(raw_sql(seed))
    await db.close()
    jobs_with, deps, bot = await scheduler_jobs(config)
    try:
        polls = []
        empties = []
        for _ in range(300):
            polls.append(await timed(lambda: dispatch_once(deps, bot)))
            empties.append(await timed(lambda: deps.db.run(lambda unit: None)))
        poll = statistics.median(polls) * 1e3
        empty_tx = statistics.median(empties) * 1e3
        p95 = statistics.quantiles(polls, n=20)[-1] * 1e3
        print(f"2. {reminders} pending future reminders")
        print(
            f"   scheduler jobs: {jobs_with} (with none pending: {jobs_without})"
            f" - target constant: {'ok' if jobs_with == jobs_without else 'MISSED'}"
        )
        print(
            f"   one dispatcher poll: median {poll:.3f} ms, p95 {p95:.3f} ms;"
            f" empty transaction {empty_tx:.3f} ms ({poll / empty_tx:.2f}x)"
            f" - target <= 1 ms: {'ok' if poll <= 1.0 else 'MISSED'}"
        )
    finally:
        await deps.db.close()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-dispatch-") as tmp:
        folder = Path(tmp)
        await engine_cost(folder, args.recipients)
        await many_reminders(folder, args.reminders)
        await achieved_rate(folder, args.recipients, args.rate)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--reminders", type=int, default=100_000)
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
