"""Scale (issue 12): a city of 50,000 members against 1/50 of it, with PASS/FAIL targets.

Run from the repository root: `.venv/bin/python -m bench.scale` (the first run builds the
50,000-member database, about a minute; it is cached under ~/.cache/ngo-bot-bench, keyed by a
hash of the migrations and of the seed function). Every figure comes from the project's own
code: migrations, `sync_from_config`, the services the commands call, the real Application
with its JobQueue on the fake network (tests.fakes.FakeBotApi). Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import hashlib
import inspect
import logging
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import build_application
from bot.config import EXAMPLE_CONFIG, Config, load_config
from bot.context import App
from bot.export import ExportRequest, export_for_user
from bot.services import postulates as postulates_service
from bot.services import privacy as privacy_service
from bot.services import retention
from bot.services import sectors as sectors_service
from bot.services import stats as stats_service
from bot.services import users as users_service
from storage.database import MIGRATIONS, Database, _run_batch
from storage.timefmt import db_time
from tests.fakes import Call, FakeBotApi
from tests.harness import BotDriver, Clock, TgUser
from tests.sql import raw_sql

TOKEN = "123456:BENCH-token"
FULL = {"members": 50_000, "meetings": 5_000, "reminders": 100_000, "postulates": 20_000}
# Each member follows this many of the 9 sectors on average: ~20,000 subscribers a sector.
SECTORS_EACH = 3.6
NOW = datetime.now(UTC).replace(microsecond=0)
ADMIN = 900
UNIT_TARGET_MS = 50.0
WAIT_TARGET_MS = 100.0
RSS_TARGET = 1.1
SIMILAR_TARGET_MS = 10.0
# The broadcast preview counts its recipients (on the reader) before the admin confirms.
COUNT_TARGET_MS = 50.0
LATENCY_TARGET_S = 1.0
_PHRASES = (
    "budżet obywatelski kultura edukacja zieleń rower szkoła biblioteka seniorzy młodzież "
    "dotacja konkurs przestrzeń sąsiedzka świetlica park boisko ścieżka rowerowa festiwal "
    "teatr muzeum wolontariat pomoc społeczna niepełnosprawni dostępność mieszkańcy dzielnica "
    "konsultacje program współpraca organizacje pozarządowe remont targowisko ławka drzewa"
)
# Real postulates draw on thousands of words, a few of them very common: the city's words
# first, then 3,000 made-up ones, picked with Zipf-like weights.
WORDS = _PHRASES.split() + [f"{stem}{n}ek" for n in range(3000) for stem in ("slow",)]
WEIGHTS = [1 / (rank + 1) for rank in range(len(WORDS))]
CACHE = Path.home() / ".cache" / "ngo-bot-bench"


def make_config(path: Path) -> Config:
    return load_config(
        EXAMPLE_CONFIG,
        {"BOT_TOKEN": TOKEN, "BOT_DATABASE": str(path), "BOT_ADMINS": str(ADMIN)},
    )


# --- building the databases -------------------------------------------------------------------


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choices(WORDS, WEIGHTS, k=words))


def seed(conn: sqlite3.Connection, fraction: float) -> None:
    """Members, subscriptions, meetings, reminders, old copies and postulates, in bulk."""
    rng = random.Random(12)
    members = int(FULL["members"] * fraction)
    teams = [row[0] for row in conn.execute("SELECT id FROM teams WHERE kind = 'sector'")]
    old, when = db_time(NOW - timedelta(days=400)), db_time(NOW - timedelta(days=30))
    ids = range(10_000, 10_000 + members)
    # 1% blocked the bot long ago: retention erases them (200 a day).
    conn.executemany(
        """INSERT INTO users (id, language, created_at, consent_at, consent_version, active)
           VALUES (?, ?, ?, ?, 1, ?)""",
        [(i, "pl" if i % 5 else "en", when, when, 0 if i % 100 == 0 else 1) for i in ids],
    )
    conn.executemany(
        "INSERT INTO user_inactivity (user_id, inactive_since) VALUES (?, ?)",
        [(i, old) for i in ids if i % 100 == 0],
    )
    share = SECTORS_EACH / len(teams)
    conn.executemany(
        "INSERT INTO subscriptions (user_id, team_id, created_at) VALUES (?, ?, ?)",
        [(i, t, when) for i in ids for t in teams if rng.random() < share],
    )
    meetings = []
    for n in range(int(FULL["meetings"] * fraction)):
        start = db_time(NOW + timedelta(hours=6 + n * 3))
        meetings.append((teams[n % len(teams)], f"Spotkanie {n}", start, "Urząd, sala 1", when))
    conn.executemany(
        """INSERT INTO meetings (team_id, title, starts_at, duration_minutes, place,
               reminder_minutes, created_by, created_at, updated_at)
           VALUES (?, ?, ?, 90, ?, '[1440, 60]', 900, ?, ?5)""",
        meetings,
    )
    payload = '{"pl": {"text": "Przypomnienie"}, "en": {"text": "Reminder"}}'
    conn.executemany(
        """INSERT INTO announcements (kind, audience, audience_id, subject, payload, due_at,
               created_by, created_at)
           VALUES ('meeting-reminder', 'meeting', ?, ?, ?, ?, 900, ?)""",
        [
            (m, f"meeting:{m}", payload, db_time(NOW + timedelta(days=1 + n % 300)), when)
            for n in range(int(FULL["reminders"] * fraction))
            for m in [1 + n % max(1, len(meetings))]
        ],
    )
    # Last month's notices: one per sector, a copy per subscriber, settled long ago.
    for team in teams:
        cursor = conn.execute(
            """INSERT INTO announcements (kind, audience, audience_id, payload, due_at, state,
                   created_by, created_at)
               VALUES ('broadcast', 'team', ?, ?, ?, 'fanned_out', 900, ?)""",
            (team, payload, old, old),
        )
        conn.execute(
            """INSERT INTO deliveries (announcement_id, chat_id, language, state,
                   next_attempt_at, message_id, updated_at)
               SELECT ?, s.user_id, 'pl', 'sent', ?, 1, ? FROM subscriptions s
               WHERE s.team_id = ?""",
            (cursor.lastrowid, old, old, team),
        )
    postulates = []
    for n in range(int(FULL["postulates"] * fraction)):
        author = 10_000 + rng.randrange(members)
        title = _sentence(rng, 5).capitalize()
        content = _sentence(rng, 40)
        reference = f"P-2026-{n + 1:05d}"
        postulates.append(
            (reference, n + 1, teams[n % len(teams)], author, title, content, when, when)
        )
    conn.executemany(
        """INSERT INTO postulates (reference, draft_id, team_id, author_id, title, content,
               created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        postulates,
    )
    conn.executemany(
        """INSERT INTO postulate_history (postulate_id, at, actor_id, action, to_state)
           VALUES (?, ?, ?, 'submit', 'submitted')""",
        [(n + 1, when, p[3]) for n, p in enumerate(postulates)],
    )
    conn.executemany(
        """INSERT INTO postulate_supports (postulate_id, user_id, supporter_key, created_at)
           VALUES (?, ?, ?, ?)""",
        [(n + 1, p[3] + 1, f"u{p[3] + 1}", when) for n, p in enumerate(postulates) if n % 3 == 0],
    )
    conn.executemany(
        "INSERT INTO processed_updates (update_id, received_at) VALUES (?, ?)",
        [(1_000_000_000 + n, old) for n in range(members)],
    )


def cache_key() -> str:
    digest = hashlib.sha256(inspect.getsource(seed).encode())
    for path in sorted(MIGRATIONS.glob("*.sql")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


async def build(fraction: float) -> Path:
    """The cached database of that size, built with the migrations and the bulk seed."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"scale-{cache_key()}-{fraction:g}.sqlite3"
    if path.exists():
        return path
    started = time.perf_counter()
    building = path.with_suffix(".building")
    building.unlink(missing_ok=True)
    config = make_config(building)
    db = await Database.open(building)
    try:
        await sectors_service.sync_from_config(db, config)
        await db.run(raw_sql(seed), fraction)
        await db.run(raw_sql(lambda conn: conn.execute("ANALYZE")))
    finally:
        await db.close()
    building.rename(path)
    print(f"  built {path.name} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def working_copy(source: Path, folder: Path) -> Path:
    target = folder / source.name
    shutil.copyfile(source, target)
    return target


# --- a database that records how long each unit of work held it -------------------------------


@dataclass(frozen=True)
class Hold:
    """One thread hop of the writer (a batch of units sharing a commit) or of the reader."""

    started: float
    ended: float
    what: str
    reader: bool

    @property
    def ms(self) -> float:
        return (self.ended - self.started) * 1e3


def _label(fn: Callable[..., Any], args: tuple[Any, ...]) -> str:
    if fn is _run_batch:
        names = collections.Counter(unit[0].__qualname__ for unit in args[0])
        return " + ".join(f"{n}x {name}" if n > 1 else name for name, n in names.items())
    return str(getattr(fn, "__qualname__", fn))


class Holds:
    """Records every hop of every Database while installed (bench instrumentation only).

    The writer's hops are Database._in_thread (each a batch of units and one commit, or a
    pragma); the reader's are Database.read. Recorded on the event loop's side, so a hop's
    time includes waiting for the worker thread and the GIL: what a queued update sees.
    """

    def __init__(self) -> None:
        self.holds: list[Hold] = []
        self._saved: tuple[Any, Any] | None = None

    def __enter__(self) -> Holds:
        in_thread, read = Database._in_thread, Database.read
        self._saved = (in_thread, read)
        holds = self.holds

        async def timed_in_thread(db: Database, fn: Callable[..., Any], *args: Any) -> Any:
            started = time.perf_counter()
            try:
                return await in_thread(db, fn, *args)
            finally:
                holds.append(Hold(started, time.perf_counter(), _label(fn, args), False))

        async def timed_read(db: Database, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return await read(db, fn, *args, **kw)
            finally:
                holds.append(Hold(started, time.perf_counter(), _label(fn, args), True))

        # setattr: the wrappers are typed loosely on purpose (any unit, any reader).
        setattr(Database, "_in_thread", timed_in_thread)  # noqa: B010
        setattr(Database, "read", timed_read)  # noqa: B010
        return self

    def __exit__(self, *_: object) -> None:
        assert self._saved is not None
        setattr(Database, "_in_thread", self._saved[0])  # noqa: B010
        setattr(Database, "read", self._saved[1])  # noqa: B010

    def longest(self, since: float = 0.0) -> Hold | None:
        """The writer's longest hop that started at or after `since`."""
        writes = [h for h in self.holds if not h.reader and h.started >= since]
        return max(writes, key=lambda h: h.ms, default=None)

    def during(self, started: float, ended: float, least_ms: float = 5.0) -> list[Hold]:
        """The hops of at least `least_ms` overlapping [started, ended]."""
        return [
            h for h in self.holds if h.ended > started and h.started < ended and h.ms >= least_ms
        ]


@dataclass(frozen=True)
class Figure:
    """One operation: best wall time and the writer's longest hop (what it is), in ms."""

    wall_ms: float
    unit_ms: float
    unit: str


async def timed(holds: Holds, make: Callable[[], Awaitable[Any]], repeat: int = 1) -> Figure:
    """The best wall time of `make()` and the longest hold of the writer over all repeats."""
    best = float("inf")
    since = time.perf_counter()
    for _ in range(repeat):
        started = time.perf_counter()
        await make()
        best = min(best, time.perf_counter() - started)
    longest = holds.longest(since)
    if longest is None:
        return Figure(best * 1e3, 0.0, "(reader only)")
    return Figure(best * 1e3, longest.ms, longest.what)


async def operations(path: Path, holds: Holds) -> dict[str, Figure]:
    config = make_config(path)
    db = await Database.open(path)
    figures: dict[str, Figure] = {}
    try:
        members = await db.run(raw_sql(lambda c: [r[0] for r in c.execute("SELECT id FROM users")]))
        victim, reader = members[len(members) // 2 + 1], members[len(members) // 3 + 1]
        figures["daily retention run"] = await timed(
            holds, lambda: retention.retain_if_due(db, config, NOW, force=True)
        )
        figures["export of all postulates"] = await timed(
            holds, lambda: export_for_user(db, ADMIN, ExportRequest(formats=("csv",)), ";")
        )
        team = await db.run(
            raw_sql(lambda c: c.execute("SELECT min(team_id) FROM postulates").fetchone())
        )
        text = _sentence(random.Random(3), 40)
        # What the bot's common-words job does at start.
        await postulates_service.refresh_common_words(db)

        async def similar() -> None:
            await db.run(
                lambda unit: unit.postulates.list_similar(team[0], text, title="Budżet rower park")
            )

        figures["similar-postulate search"] = await timed(holds, similar, repeat=20)
        figures["/mydata"] = await timed(holds, lambda: privacy_service.export(db, reader, NOW))
        figures["/forget"] = await timed(
            holds,
            lambda: privacy_service.forget(db, victim, now=NOW),
        )
        # What the broadcast preview reads (broadcast_drafts.prepare) for "everyone".
        figures["broadcast preview's count"] = await timed(
            holds, lambda: db.read(lambda unit: unit.broadcasts.count_recipients(None)), repeat=3
        )
        actor = await users_service.load_actor(db, ADMIN, "pl")
        figures["/stats"] = await timed(
            holds, lambda: stats_service.stats(db, actor, NOW, config.zone), repeat=3
        )
    finally:
        await db.close()
    return figures


# --- the real Application on the fake network, its JobQueue running ----------------------------


async def start(config: Config, api: FakeBotApi) -> BotDriver:
    """The Application as `ngo-bot run` has it: initialised, post_init done, and started.

    `Application.start` (not only the JobQueue's): the engine's job stops claiming while the
    application is not running, so without it no notice would ever leave.
    """
    app: App = build_application(config, request=api)
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    await app.start()
    return BotDriver(app=app, api=api, clock=Clock(now=datetime.now(UTC)))


async def stop(driver: BotDriver) -> None:
    app = driver.app
    if app.running:
        await app.stop()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)
    await app.shutdown()


MOD = TgUser(id=777, language_code="pl", first_name="Moderator")


class FlowBroke(Exception):
    """A step of the moderator's flow did not show what a person would see next."""


async def step(driver: BotDriver, user: TgUser, action: Awaitable[list[Call]]) -> list[Call]:
    """One step of a flow, which must have answered the user (an error would be silent)."""
    calls = await action
    if not any(call.chat_id == user.id for call in calls):
        raise FlowBroke(f"no answer to {user.id}: {[(c.method, c.text[:60]) for c in calls]}")
    return calls


async def broadcast_to_all(driver: BotDriver, confirmed: list[float]) -> None:
    """An admin's broadcast to everyone, pressed by label; appends the confirm's instant.

    The instant is taken after the confirming press was handled (its transaction committed
    and the engine woken), and only once the admin was shown the "being sent" message of
    the broadcast the confirm created: a flow that went astray fails loudly instead of
    passing for a slow engine.
    """
    admin = TgUser(id=ADMIN, language_code="pl", first_name="Admin")
    await step(driver, admin, driver.send(admin, "/start"))
    await step(driver, admin, driver.press(admin, "Zgadzam się", exact=False))
    await step(driver, admin, driver.send(admin, "/broadcast"))
    await step(driver, admin, driver.press(admin, "Wszyscy", exact=False))
    await step(driver, admin, driver.press(admin, "Dalej", exact=False))
    await step(driver, admin, driver.send(admin, "Komunikat dla wszystkich"))
    await step(driver, admin, driver.press(admin, "Wyślij teraz", exact=False))
    pressed = time.perf_counter()
    calls = await step(driver, admin, driver.press(admin, "Potwierdź", exact=False))
    confirmed.append(time.perf_counter())
    deps = driver.app.bot_data["deps"]
    newest = await deps.db.run(
        raw_sql(lambda c: c.execute("SELECT max(id) FROM broadcasts").fetchone())
    )
    queued = deps.texts.get("pl", "broadcasts.queued", id=newest[0])
    if not any(call.text == queued for call in calls):
        raise FlowBroke(f"the confirm did not queue broadcast {newest[0]}: {calls}")
    print(f"  (the confirming press itself took {(confirmed[-1] - pressed) * 1e3:.0f} ms)")


async def confirm_to_first_copy(path: Path, holds: Holds) -> float:
    """Seconds from the handled confirm to the first member's sendMessage at the fake."""
    first: list[float] = []
    arrived = asyncio.Event()
    api = FakeBotApi()

    def seen(call: Call) -> None:
        if call.chat_id is not None and call.chat_id >= 10_000:
            if call.method == "sendMessage" and not first:
                first.append(time.perf_counter())
                arrived.set()
            # 50,000 kept calls would only weigh on the collector; the admin's are needed.
            if api.calls and api.calls[-1] is call:
                api.calls.pop()

    api.on_call = seen
    driver = await start(make_config(path), api)
    confirmed: list[float] = []
    try:
        # The engine's first run (at start) is over before the admin begins.
        async with driver.app.bot_data["engine"].lock:
            pass
        await broadcast_to_all(driver, confirmed)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(arrived.wait(), 15)
    finally:
        await stop(driver)
    if not first:
        return float("inf")
    for hold in holds.during(confirmed[0], first[0], least_ms=20.0):
        side = "reader" if hold.reader else "writer"
        print(f"    {side} {hold.ms:8.1f} ms  {hold.what}")
    return first[0] - confirmed[0]


@dataclass(frozen=True)
class Wait:
    """A member's /meetings under load: its longest wait and what overlapped it."""

    longest_ms: float
    median_ms: float
    count: int
    overlapping: list[Hold]


async def longest_wait(path: Path, holds: Holds) -> Wait:
    """A member's /meetings, every 20 ms, while retention, an export and a 50k fan-out run."""
    config = make_config(path)
    api = FakeBotApi()
    member = TgUser(id=10_001, language_code="pl", first_name="Anna")
    copies = [0]

    def forget_members_copies(call: Call) -> None:
        # 50,000 kept calls would only weigh on the collector; the admin's and the
        # waiting member's are needed.
        chat = call.chat_id or 0
        if chat >= 10_000 and chat != member.id and api.calls and api.calls[-1] is call:
            copies[0] += call.method == "sendMessage"
            api.calls.pop()

    api.on_call = forget_members_copies
    driver = await start(config, api)
    deps = driver.app.bot_data["deps"]
    waits: list[tuple[float, float]] = []

    async def ask() -> None:
        started = time.perf_counter()
        calls = await step(driver, member, driver.send(member, "/meetings"))
        waits.append((started, time.perf_counter()))
        if not any(call.method == "sendMessage" and call.buttons() for call in calls):
            raise FlowBroke(f"/meetings showed no list: {[c.text[:80] for c in calls]}")

    try:
        await ask()
        confirmed: list[float] = []
        background = asyncio.gather(
            retention.retain_if_due(deps.db, config, NOW, force=True),
            export_for_user(deps.db, ADMIN, ExportRequest(formats=("csv",)), ";"),
            broadcast_to_all(driver, confirmed),
        )
        while not background.done() or len(waits) < 50:
            await ask()
            await asyncio.sleep(0.02)
            if len(waits) > 1500:
                break
        await background
        # The broadcast is fanned out by the engine's run the confirm woke: keep asking
        # until its first hundred copies have left (the fan-out is over by then).
        for _ in range(500):
            await ask()
            await asyncio.sleep(0.02)
            if copies[0] >= 100:
                break
    finally:
        await stop(driver)
    durations = sorted(end - start for start, end in waits)
    worst = max(waits, key=lambda w: w[1] - w[0])
    return Wait(
        longest_ms=durations[-1] * 1e3,
        median_ms=durations[len(durations) // 2] * 1e3,
        count=len(waits),
        overlapping=holds.during(*worst),
    )


# --- a full backup ------------------------------------------------------------------------------


def full_backup(path: Path, folder: Path) -> tuple[float, int]:
    """`ngo-bot backup` of the 50k database, as the operator runs it: (seconds, bytes)."""
    target = folder / "backup.sqlite3"
    env = {"BOT_TOKEN": TOKEN, "BOT_DATABASE": str(path), "BOT_CONFIG": str(EXAMPLE_CONFIG)}
    command = [str(Path(sys.executable).with_name("ngo-bot")), "backup", str(target)]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, target.stat().st_size


# --- idle memory ------------------------------------------------------------------------------


async def idle(path: Path) -> None:
    await start(make_config(path), FakeBotApi())
    print("ready", flush=True)
    await asyncio.sleep(600)


def idle_rss(path: Path) -> int:
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.scale", "--idle", str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise SystemExit("the idle bot did not start")
        time.sleep(3)
        status = Path(f"/proc/{child.pid}/status").read_text()
        return next(int(line.split()[1]) for line in status.splitlines() if "VmRSS" in line)
    finally:
        child.terminate()
        child.wait(timeout=10)


# --- report -----------------------------------------------------------------------------------


def check(name: str, measured: str, target: str, ok: bool) -> tuple[str, str, str, bool]:
    return (name, measured, target, ok)


async def measure() -> bool:
    small_src, full_src = await build(1 / 50), await build(1.0)
    checks: list[tuple[str, str, str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as temp, Holds() as holds:
        folder = Path(temp)
        (folder / "s").mkdir()
        (folder / "f").mkdir()
        small = await operations(working_copy(small_src, folder / "s"), holds)
        full = await operations(working_copy(full_src, folder / "f"), holds)
        print()
        print("Operations at 1/50 (1,000 members) and at full size (50,000 members), ms:")
        print(f"  {'operation':28}{'1/50':>8}{'full':>9}{'ratio':>7}{'longest unit':>14}  (what)")
        for name, figure in full.items():
            small_ms = small[name].wall_ms
            print(
                f"  {name:28}{small_ms:>8.1f}{figure.wall_ms:>9.1f}"
                f"{figure.wall_ms / small_ms:>7.1f}{figure.unit_ms:>14.1f}  ({figure.unit})"
            )
            checks.append(
                check(f"{name}: longest unit", f"{figure.unit_ms:.1f} ms",
                      f"<= {UNIT_TARGET_MS:.0f} ms", figure.unit_ms <= UNIT_TARGET_MS)
            )  # fmt: skip
        counted = full["broadcast preview's count"].wall_ms
        checks.append(
            check("broadcast preview's count (50k, all)", f"{counted:.1f} ms",
                  f"<= {COUNT_TARGET_MS:.0f} ms", counted <= COUNT_TARGET_MS)
        )  # fmt: skip
        similar = full["similar-postulate search"].wall_ms
        checks.append(
            check("similar search at 20,000 postulates", f"{similar:.1f} ms",
                  f"<= {SIMILAR_TARGET_MS:.0f} ms", similar <= SIMILAR_TARGET_MS)
        )  # fmt: skip
        wait = await longest_wait(working_copy(full_src, folder / "f"), holds)
        print(
            f"\nA member's /meetings under load (50k): {wait.count} asked, median "
            f"{wait.median_ms:.0f} ms, longest {wait.longest_ms:.0f} ms; during the longest:"
        )
        for hold in wait.overlapping:
            side = "reader" if hold.reader else "writer"
            print(f"    {side} {hold.ms:8.1f} ms  {hold.what}")
        checks.append(
            check("/meetings wait under load (50k)", f"{wait.longest_ms:.0f} ms",
                  f"<= {WAIT_TARGET_MS:.0f} ms", wait.longest_ms <= WAIT_TARGET_MS)
        )  # fmt: skip
        for label, source, sub in (("1/50", small_src, "s"), ("50k", full_src, "f")):
            print(f"\nConfirm to first copy, {label} (an admin's broadcast to every member):")
            latency = await confirm_to_first_copy(working_copy(source, folder / sub), holds)
            checks.append(
                check(f"confirm to first copy ({label})", f"{latency:.2f} s",
                      f"<= {LATENCY_TARGET_S:.0f} s", latency <= LATENCY_TARGET_S)
            )  # fmt: skip
        empty = folder / "empty.sqlite3"
        db = await Database.open(empty)
        await sectors_service.sync_from_config(db, make_config(empty))
        await db.close()
        full_rss = idle_rss(working_copy(full_src, folder / "f"))
        empty_rss = idle_rss(empty)
        ratio = full_rss / empty_rss
        print(
            f"\nIdle RSS: empty database {empty_rss / 1024:.1f} MiB, 50k {full_rss / 1024:.1f} MiB"
        )
        checks.append(
            check("idle RSS 50k / empty", f"{ratio:.2f}x", f"<= {RSS_TARGET}x", ratio <= RSS_TARGET)
        )
        size = full_src.stat().st_size / 2**20
        print(f"Database file at 50,000 members: {size:.0f} MiB")
        seconds, copied = full_backup(working_copy(full_src, folder / "f"), folder)
        print(
            f"Full backup (`ngo-bot backup`, online backup API + integrity check): "
            f"{seconds:.1f} s, {copied / 2**20:.0f} MiB"
        )
    print()
    print(f"  {'check':40}{'measured':>12}{'target':>12}  result")
    for name, measured, target, ok in checks:
        print(f"  {name:40}{measured:>12}{target:>12}  {'PASS' if ok else 'FAIL'}")
    return all(ok for *_, ok in checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.idle:
        asyncio.run(idle(args.idle))
        return
    sys.exit(0 if asyncio.run(measure()) else 1)


if __name__ == "__main__":
    main()
