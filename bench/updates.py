"""Update throughput and idle memory: the real bot against a bare PTB Application.

Run from the repository root: `.venv/bin/python bench/updates.py` (about a minute on 2 cores).
Both applications get the same faked network (tests.fakes.FakeBotApi at PTB's BaseRequest
seam) and the same update processor; the bot also has its real SQLite file (WAL,
synchronous=FULL) in a temporary folder. Prints figures and a PASS/FAIL table; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import itertools
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Only PTB, aiosqlite and the fake network at module level: the idle "bare" child process
# runs this file too and must not load the bot's own modules (pydantic, Babel, ...).
import aiosqlite  # noqa: E402
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update  # noqa: E402
from telegram.constants import ParseMode  # noqa: E402
from telegram.ext import (  # noqa: E402
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)
from telegram.request import RequestData  # noqa: E402

from bot.updates import PerUserUpdateProcessor  # noqa: E402
from tests.fakes import ANSWERED, BOT_ID, Call, FakeBotApi  # noqa: E402

if TYPE_CHECKING:
    from bot.config import Config
    from bot.context import App

TOKEN = "123456:BENCH-token"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
RATIO_TARGET = 0.5
RSS_TARGET = 1.3
BareApp = Application[Any, Any, Any, Any, Any, Any]
Raw = dict[str, Any]
_ids = itertools.count(1)


def make_config(folder: Path) -> Config:
    from bot.config import EXAMPLE_CONFIG, FloodConfig, load_config

    env = {"BOT_TOKEN": TOKEN, "BOT_DATABASE": str(folder / "bench.sqlite3")}
    config = load_config(EXAMPLE_CONFIG, env)
    # Each simulated user presses far faster than a person: the per-user flood limit would
    # drop presses, and this measures handling them, not refusing them.
    return config.model_copy(update={"flood": FloodConfig(updates=1000, seconds=0.001)})


class CountingBotApi(FakeBotApi):
    """The tests' fake Bot API, counting the calls instead of keeping them.

    The tests' fake keeps every call with its decoded parameters for assertions: over a run
    of thousands of updates that is a heap of ~100,000 objects that a real network layer
    never holds, and every full garbage collection walks it. Here each call is counted by
    method and dropped, so the collector sees what production would.
    """

    def __init__(self) -> None:
        super().__init__()
        self.counts: collections.Counter[str] = collections.Counter()
        self.on_call = self._count

    def _count(self, call: Call) -> None:
        self.counts[call.method] += 1
        self.calls.clear()

    def clear(self) -> None:
        super().clear()
        self.counts.clear()
        self.answered.clear()

    def _remember(self, method: str, params: dict[str, Any], result: Any) -> None:
        # Nor does it keep what each message shows (for "message is not modified"): the
        # workload edits message 7 of every chat again and again, as no person would.
        return

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        # As cheap as a network layer: no strict checks of every message (the tests' fake
        # keeps them; ~0.24 ms an update that production never pays), only the answer PTB
        # needs, and still one answer per press.
        api_method = url.rsplit("/", 1)[-1]
        self.counts[api_method] += 1
        params = {} if request_data is None else request_data.parameters
        if api_method == "answerCallbackQuery":
            query_id = str(params.get("callback_query_id"))
            if query_id in self.answered:
                return 400, json.dumps(ANSWERED).encode()
            self.answered.add(query_id)
        result = self._result(api_method, params)
        markup = params.get("reply_markup")
        if isinstance(result, dict) and markup is not None:
            # Telegram answers with the whole Message, its inline keyboard included.
            result["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
        return 200, json.dumps({"ok": True, "result": result}).encode()


# --- the two applications --------------------------------------------------------------------


async def pong(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.message is not None:
        await update.message.reply_text("pong")


# The toggle's Bot API calls without the bot: same update, answer, edit with 8 buttons.
TWIN_KEYBOARD = InlineKeyboardMarkup(
    [[InlineKeyboardButton(f"▫️ Team {n}", callback_data=f"sectors:toggle:{n}")] for n in range(8)]
)


async def toggle_twin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    await query.answer("Zapisano: Kultura")
    await query.edit_message_text(
        "Wybierz zespoły branżowe, których wiadomości chcesz dostawać.\n\n"
        "Obserwujesz 3 zespoły branżowe.",
        parse_mode=ParseMode.HTML,
        reply_markup=TWIN_KEYBOARD,
    )


def build_bare(api: FakeBotApi, max_concurrent_updates: int) -> BareApp:
    """Plain PTB with the bot's network seam and update processor, one trivial command."""
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(api)
        .get_updates_request(api)
        .concurrent_updates(PerUserUpdateProcessor(max_concurrent_updates))
        .build()
    )
    app.add_handler(CommandHandler("ping", pong))
    app.add_handler(CallbackQueryHandler(toggle_twin))
    return app


async def start_bot(config: Config, api: FakeBotApi) -> App:
    """The production factory and startup hook, on the fake network."""
    from bot.app import build_application

    app = build_application(config, request=api)
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    return app


async def stop_bot(app: App) -> None:
    if app.post_shutdown is not None:
        await app.post_shutdown(app)
    await app.shutdown()


# --- updates ---------------------------------------------------------------------------------


def _private_chat(user_id: int) -> Raw:
    return {"id": user_id, "type": "private", "first_name": "U"}


def _user(user_id: int) -> Raw:
    return {"id": user_id, "is_bot": False, "first_name": "U", "language_code": "pl"}


def command_update(user_id: int, command: str) -> Raw:
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": 1_700_000_000,
            "chat": _private_chat(user_id),
            "from": _user(user_id),
            "text": command,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        },
    }


def ping_update(user_id: int) -> Raw:
    return command_update(user_id, "/ping")


def toggle_update(user_id: int, team_id: int) -> Raw:
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": str(next(_ids)),
            "from": _user(user_id),
            "chat_instance": "ci",
            "data": f"sectors:toggle:{team_id}",
            "message": {
                "message_id": 7,
                "date": 1_700_000_000,
                "chat": _private_chat(user_id),
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "NGO bot"},
                "text": "…",
            },
        },
    }


def workload(
    make: Callable[[int, int], Raw], users: int, count: int, teams: list[int]
) -> list[Raw]:
    """Round-robin over the users, so many users have updates in flight at once."""
    return [make(1 + n % users, teams[(n // users) % len(teams)]) for n in range(count)]


# --- measuring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One timed run: wall-clock throughput and the CPU time (all threads) per update."""

    rate: float
    cpu_us: float


def _finish(count: int, wall: float, cpu: float) -> Run:
    return Run(
        rate=count / (time.perf_counter() - wall),
        cpu_us=(time.process_time() - cpu) / count * 1e6,
    )


def fresh(raws: list[Raw]) -> list[Raw]:
    """The same updates under new update ids (the bot handles an update id at most once)
    and new callback query ids (Telegram takes one answer per press)."""
    renewed = []
    for raw in raws:
        raw = {**raw, "update_id": next(_ids)}
        if "callback_query" in raw:
            raw["callback_query"] = {**raw["callback_query"], "id": str(next(_ids))}
        renewed.append(raw)
    return renewed


async def concurrent_rate(app: BareApp | App, raws: list[Raw]) -> Run:
    """Production's path: update_queue -> update fetcher -> update processor -> handlers.

    The processor bounds the updates in flight (max_concurrent_updates) and keeps each
    user's updates in order; Update.de_json (done by the Updater in production) is timed too.
    """
    raws = fresh(raws)
    wall, cpu = time.perf_counter(), time.process_time()
    for raw in raws:
        app.update_queue.put_nowait(Update.de_json(raw, app.bot))
    await app.update_queue.join()
    return _finish(len(raws), wall, cpu)


async def sequential_rate(app: BareApp | App, raws: list[Raw]) -> Run:
    """One update at a time, each awaited to the end before the next one goes in."""
    raws = fresh(raws)
    wall, cpu = time.perf_counter(), time.process_time()
    for raw in raws:
        await app.process_update(Update.de_json(raw, app.bot))
    return _finish(len(raws), wall, cpu)


def check_calls(api: CountingBotApi, expected: dict[str, int]) -> None:
    """Every update did its work (an error would be much cheaper and the figure a lie)."""
    counts = {method: api.counts[method] for method in expected}
    api.clear()
    if counts != expected:
        raise SystemExit(f"unexpected Bot API calls: {counts}, wanted {expected}")


@dataclass
class Figures:
    """Updates per second of every run, by series ("bare", "twin", "bot") and mode."""

    concurrent: dict[str, list[Run]] = field(default_factory=dict)
    sequential: dict[str, list[Run]] = field(default_factory=dict)


async def consent_users(app: App, users: int) -> list[int]:
    from bot.context import DEPS_KEY
    from bot.deps import Deps
    from bot.services import sectors as sectors_service

    deps: Deps = app.bot_data[DEPS_KEY]
    version = deps.config.privacy.notice_version
    await asyncio.gather(
        *(
            sectors_service.give_consent(deps.db, user_id, "pl", version, NOW)
            for user_id in range(1, users + 1)
        )
    )
    teams = await deps.db.run(lambda unit: unit.teams.list_teams("sector"))
    return [team.id for team in teams]


# /meetings is asked by its own users: the toggles flip the first users' sectors, and each
# /meetings must show the same full page.
MEETINGS_USERS_FROM = 100_001


async def prepare_meetings(app: App, users: int, teams: list[int]) -> None:
    """Members following every sector, and 12 meetings still to come across the sectors."""
    from bot.context import DEPS_KEY
    from bot.deps import Deps
    from bot.services import sectors as sectors_service
    from storage.unit import Unit

    deps: Deps = app.bot_data[DEPS_KEY]
    version = deps.config.privacy.notice_version
    ids = range(MEETINGS_USERS_FROM, MEETINGS_USERS_FROM + users)
    await asyncio.gather(
        *(sectors_service.give_consent(deps.db, i, "pl", version, NOW) for i in ids)
    )
    now = datetime.now(UTC)

    def seed(unit: Unit) -> None:
        for user_id in ids:
            for team_id in teams:
                unit.subscriptions.add_subscription(user_id, team_id, now)
        for n in range(12):
            unit.meetings.add_meeting(
                team_id=teams[n % len(teams)],
                series_id=None,
                title=f"Spotkanie zespołu branżowego nr {n + 1}",
                starts_at=now + timedelta(days=2 + n, hours=n % 5),
                duration_minutes=90,
                place="Urząd Miasta, ul. Wielicka 28a, sala 301",
                online_url=None,
                agenda="1. Otwarcie\n2. Postulaty\n3. Wolne wnioski",
                capacity=None,
                reminder_minutes=[1440],
                created_by=MEETINGS_USERS_FROM,
                now=now,
            )

    await deps.db.run(seed)


async def throughput(users: int, count: int, repeats: int, folder: Path) -> Figures:
    config = make_config(folder)
    bare_api, bot_api = CountingBotApi(), CountingBotApi()
    bare = build_bare(bare_api, config.max_concurrent_updates)
    await bare.initialize()
    bot = await start_bot(config, bot_api)
    await bare.start()
    await bot.start()
    figures = Figures()
    try:
        teams = await consent_users(bot, users)
        await prepare_meetings(bot, users, teams)
        bot_api.clear()
        pings = workload(lambda user, _: ping_update(user), users, count, teams)
        toggles = workload(toggle_update, users, count, teams)
        listings = workload(
            lambda user, _: command_update(MEETINGS_USERS_FROM - 1 + user, "/meetings"),
            users,
            count,
            teams,
        )
        toggle_calls = {"answerCallbackQuery": 1, "editMessageText": 1}
        series: list[tuple[str, BareApp | App, CountingBotApi, list[Raw], dict[str, int]]] = [
            ("bare", bare, bare_api, pings, {"sendMessage": 1}),
            ("twin", bare, bare_api, toggles, toggle_calls),
            ("bot", bot, bot_api, toggles, toggle_calls),
            ("meetings", bot, bot_api, listings, {"sendMessage": 1}),
        ]

        # Warm-up: imports, caches, the database's pages, the allocator.
        for _, app, api, raws, _calls in series:
            await concurrent_rate(app, raws[: count // 4])
            api.clear()

        # Interleaved, so a slow moment of the machine hits every series alike.
        sequential = count // 2
        for _ in range(repeats):
            for name, app, api, raws, calls in series:
                run = await concurrent_rate(app, raws)
                check_calls(api, {method: n * count for method, n in calls.items()})
                figures.concurrent.setdefault(name, []).append(run)
        for _ in range(repeats):
            for name, app, api, raws, calls in series:
                run = await sequential_rate(app, raws[:sequential])
                check_calls(api, {method: n * sequential for method, n in calls.items()})
                figures.sequential.setdefault(name, []).append(run)
    finally:
        await bot.stop()
        await bare.stop()
        await stop_bot(bot)
        await bare.shutdown()
    return figures


# --- idle memory -----------------------------------------------------------------------------


async def idle(kind: str, folder: Path, max_concurrent_updates: int) -> None:
    """Child process: start one stack, say so, then sit idle until killed."""
    api = FakeBotApi()
    if kind == "bot":
        await start_bot(make_config(folder), api)
    else:
        bare = build_bare(api, max_concurrent_updates)
        await bare.initialize()
        connection = await aiosqlite.connect(folder / "bare.sqlite3", isolation_level=None)
        await connection.execute("PRAGMA journal_mode = WAL")
        if kind == "stack":
            # The fixed stack includes pydantic: its schema machinery loads with the first
            # model built (~9 MiB), however few models a program has.
            import pydantic

            class Probe(pydantic.BaseModel):
                value: int

            Probe.model_validate({"value": 1})
        forbidden = {"babel", "storage", "handlers"} | ({"pydantic"} if kind == "bare" else set())
        loaded = forbidden & set(sys.modules)
        if loaded:
            raise SystemExit(f"the {kind} process loaded the bot's dependencies: {loaded}")
    gc.collect()
    print("ready", flush=True)
    await asyncio.sleep(600)


def vm_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def idle_rss(kind: str, folder: Path, max_concurrent_updates: int, settle: float = 2.0) -> int:
    """Start an idle child, wait until it is ready and has settled, return its RSS in KiB."""
    command = [sys.executable, __file__, "--idle", kind, "--folder", str(folder)]
    command += ["--max-concurrent", str(max_concurrent_updates)]
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if line.strip() != "ready":
            raise SystemExit(f"the idle {kind} process did not start")
        time.sleep(settle)
        samples = []
        for _ in range(5):
            samples.append(vm_rss_kib(child.pid))
            time.sleep(0.1)
        return max(samples)
    finally:
        child.terminate()
        child.wait(timeout=10)


# --- report ----------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    return f"{min(values):,.0f}..{max(values):,.0f}"


def report(
    figures: Figures, bare_rss: int, stack_rss: int, bot_rss: int, args: argparse.Namespace
) -> bool:
    conc = {name: median([r.rate for r in runs]) for name, runs in figures.concurrent.items()}
    seq = {name: median([r.rate for r in runs]) for name, runs in figures.sequential.items()}
    cpu = {name: median([r.cpu_us for r in runs]) for name, runs in figures.concurrent.items()}
    ratio_c, ratio_s = conc["bot"] / conc["bare"], seq["bot"] / seq["bare"]
    ratio_m = conc["meetings"] / conc["bare"]
    rss_ratio = bot_rss / stack_rss
    print()
    print(
        f"Updates: {args.users} users, {args.updates} updates per concurrent run and "
        f"{args.updates // 2} per sequential run, median of {args.repeats} runs after a "
        f"warm-up; {os.cpu_count()} CPUs, Python {sys.version.split()[0]}."
    )
    print("  bare = PTB Application, /ping -> sendMessage (no keyboard)")
    print("  twin = the same bare Application, sectors:toggle:<id> -> answerCallbackQuery +")
    print("         editMessageText with a fixed 8-button keyboard: the toggle's PTB work, no bot")
    print("  bot  = build_application, sectors:toggle:<id> -> gatekeeper (1 transaction), toggle")
    print("         (1 transaction, SQLite WAL, synchronous=FULL), answerCallbackQuery +")
    print("         editMessageText with the rendered keyboard")
    print("  meetings = build_application, /meetings by members following all 9 sectors ->")
    print("         gatekeeper, one read of the page (5 of 12 meetings to come), sendMessage")
    print("         with the list and its keyboard")
    print("  concurrent = production's path: update_queue -> PerUserUpdateProcessor (64 at once)")
    print("  sequential = one update at a time, awaited (Application.process_update)")
    print("  Update.de_json of every incoming update is inside the timing.")
    print()
    print(f"  {'':24}{'median upd/s':>14}{'min..max':>16}{'CPU us/update':>16}")
    for mode, series in (("concurrent", figures.concurrent), ("sequential", figures.sequential)):
        for name in ("bare", "twin", "bot", "meetings"):
            rates = [r.rate for r in series[name]]
            cpu_us = median([r.cpu_us for r in series[name]])
            label = f"{name}, {mode}"
            print(f"  {label:24}{median(rates):>14,.0f}{spread(rates):>16}{cpu_us:>16,.0f}")
    print()
    print(
        f"Idle RSS: PTB + aiosqlite {bare_rss / 1024:.1f} MiB; the fixed stack (PTB + aiosqlite"
        f" + pydantic in use) {stack_rss / 1024:.1f} MiB; bot {bot_rss / 1024:.1f} MiB"
    )
    print()
    checks = [
        ("bot/bare throughput, concurrent", f"{ratio_c:.2f}", f">= {RATIO_TARGET}",
         ratio_c >= RATIO_TARGET),
        ("bot /meetings / bare, concurrent", f"{ratio_m:.2f}", f">= {RATIO_TARGET}",
         ratio_m >= RATIO_TARGET),
        ("bot/stack idle RSS", f"{rss_ratio:.2f}x", f"<= {RSS_TARGET}x", rss_ratio <= RSS_TARGET),
    ]  # fmt: skip
    print(f"  {'check':40}{'measured':>10}{'target':>10}  result")
    for name, measured, target, ok in checks:
        print(f"  {name:40}{measured:>10}{target:>10}  {'PASS' if ok else 'FAIL'}")
    info = [
        ("bot/(PTB + aiosqlite) idle RSS", bot_rss / bare_rss),
        ("bot/bare throughput, sequential", ratio_s),
        ("bot /meetings / bare, sequential", seq["meetings"] / seq["bare"]),
        ("twin/bare throughput, concurrent", conc["twin"] / conc["bare"]),
        ("bot/twin throughput, concurrent", conc["bot"] / conc["twin"]),
        ("bot/twin throughput, sequential", seq["bot"] / seq["twin"]),
        ("bare/bot CPU per update, concurrent", cpu["bare"] / cpu["bot"]),
        ("twin/bot CPU per update, concurrent", cpu["twin"] / cpu["bot"]),
    ]
    for name, value in info:
        print(f"  {name:40}{value:>10.2f}{'(info)':>10}")
    return all(ok for *_, ok in checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--updates", type=int, default=3000, help="updates per concurrent run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--idle", choices=["bot", "bare", "stack"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--max-concurrent", type=int, default=64, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    if args.idle:
        asyncio.run(idle(args.idle, args.folder, args.max_concurrent))
        return
    with tempfile.TemporaryDirectory(prefix="bench-updates-") as temp:
        folder = Path(temp)
        figures = asyncio.run(throughput(args.users, args.updates, args.repeats, folder))
        limit = make_config(folder).max_concurrent_updates
        (folder / "bot").mkdir()
        (folder / "bare").mkdir()
        (folder / "stack").mkdir()
        bare_rss = idle_rss("bare", folder / "bare", limit)
        stack_rss = idle_rss("stack", folder / "stack", limit)
        bot_rss = idle_rss("bot", folder / "bot", limit)
    ok = report(figures, bare_rss, stack_rss, bot_rss, args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
