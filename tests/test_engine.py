"""The delivery engine as one object: what build_engine registers, that importing registers
nothing, that no module writes into another, and that a moderator's confirm wakes it."""

from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_application
from bot.config import Config
from bot.engine import DeliveryEngine, build_engine
from tests.conftest import ADMIN_ID
from tests.fakes import Call, FakeBotApi
from tests.harness import BotDriver, Clock, TgUser
from tests.meeting_factory import make_moderator
from tests.test_postulates_helpers import submit

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")


def _sources(root: Path = ROOT) -> list[Path]:
    return sorted(path for package in PACKAGES for path in (root / package).rglob("*.py"))


def _literal_arguments(name: str) -> set[str]:
    """Every string literal passed as `name=` to a call, and every `*_KIND = "..."`, in bot/."""
    found: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    value = keyword.value
                    if keyword.arg == name and isinstance(value, ast.Constant):
                        found.add(str(value.value))
            elif name == "kind" and isinstance(node, ast.Assign):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
                if any(t.endswith("_KIND") for t in targets) and isinstance(
                    node.value, ast.Constant
                ):
                    found.add(str(node.value.value))
    return found


def test_a_new_engine_has_every_audience_and_notice_kind_the_code_announces() -> None:
    engine = build_engine()
    announced_audiences = _literal_arguments("audience")
    assert {"user", "team", "meeting", "team-moderators", "broadcast"} <= announced_audiences
    assert announced_audiences <= set(engine.audiences)
    assert "all" in engine.audiences  # admins' broadcasts to everyone
    # Groups reach a meeting's changes and reminders: a second resolver of 'meeting'.
    assert len(engine.audiences["meeting"]) == 2
    kinds = _literal_arguments("kind")
    assert {"meeting-notice", "postulate-status", "broadcast", "digest", "role-change"} <= kinds
    assert kinds <= set(engine.kinds)
    assert engine.screen is not None
    # Each engine is its own: registering into one leaves another untouched.
    other = build_engine()
    other.add_audience("extra", lambda unit, audience_id: [])
    assert "extra" not in engine.audiences


def test_registering_twice_or_extending_an_unknown_audience_is_refused() -> None:
    engine = build_engine()
    with pytest.raises(ValueError, match="twice"):
        engine.add_audience("meeting", lambda unit, audience_id: [])
    with pytest.raises(LookupError, match="before it is extended"):
        DeliveryEngine().extend_audience("meeting", lambda unit, audience_id: [])
    with pytest.raises(ValueError, match="registered as news"):
        engine.add_kinds("transactional", "broadcast")


def test_importing_the_dispatcher_alone_registers_nothing() -> None:
    probe = """
import sys
import bot.dispatcher
from bot.engine import DeliveryEngine
from bot.services import delivery
engine = DeliveryEngine()
assert not engine.audiences and not engine.kinds, (engine.audiences, engine.kinds)
assert engine.screen is None and not engine.after_settle
assert not hasattr(delivery, "AUDIENCES") and not hasattr(delivery, "screen")
assert not hasattr(bot.dispatcher, "AFTER_SETTLE")
print("clean")
"""
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "clean"


_MUTATORS = {"append", "extend", "insert", "update", "setdefault", "add", "pop", "clear"}


def cross_module_writes(root: Path) -> list[str]:
    """Statements that assign into, or mutate, an attribute of another module."""
    modules = {
        ".".join(path.relative_to(root).with_suffix("").parts) for path in _sources(root)
    } | set(PACKAGES)
    found: list[str] = []
    for path in _sources(root):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                aliases |= {a.asname or a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module is not None:
                for a in node.names:
                    if f"{node.module}.{a.name}" in modules:
                        aliases.add(a.asname or a.name)

        def of_module(target: ast.expr, aliases: set[str] = aliases) -> bool:
            while isinstance(target, ast.Subscript | ast.Attribute):
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                    return target.value.id in aliases
                target = target.value
            return False

        for node in ast.walk(tree):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _MUTATORS
                and isinstance(node.func.value, ast.Attribute | ast.Subscript)
            ):
                targets = [node.func.value]
            for target in targets:
                if of_module(target):
                    found.append(f"{path.relative_to(root)}:{target.lineno}")
    return found


def test_no_module_writes_into_another_modules_attributes() -> None:
    assert cross_module_writes(ROOT) == []


# --- notices out within a second ---------------------------------------------------------

MOD = TgUser(id=3101, language_code="pl", first_name="Moderatorka")
ANNA = TgUser(id=3102, language_code="pl", first_name="Anna")
ADMIN = TgUser(id=ADMIN_ID, language_code="pl", first_name="Admin")


@pytest.fixture
async def running(config: Config, clock: Clock) -> AsyncIterator[BotDriver]:
    """The bot with its JobQueue really running the engine's job, every 60 s: only a
    wake-up can explain a notice leaving within a second."""
    slow = config.delivery.model_copy(update={"interval_seconds": 60.0})
    api = FakeBotApi()
    app = build_application(config.model_copy(update={"delivery": slow}), request=api, clock=clock)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    assert app.job_queue is not None
    for job in app.job_queue.jobs():
        if (job.name or "").startswith("housekeeping:"):
            job.schedule_removal()
    # Running as in production: the JobQueue started, and the engine's stop signal is off.
    await app.start()
    driver = BotDriver(app=app, api=api, clock=clock)
    try:
        await driver.onboard(MOD)
        await driver.onboard(ANNA)
        await make_moderator(driver, MOD.id, "culture")
        await driver.send(ANNA, "/sectors")
        await driver.press(ANNA, "Kultura", exact=False)
        # The job's first run (at start) is over: the next one is a minute away.
        async with app.bot_data["engine"].lock:
            pass
        yield driver
    finally:
        await app.stop()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
        await app.shutdown()


async def _first_copy(bot: BotDriver, chat_id: int, confirm: object) -> float:
    """Seconds from the confirm (awaited) until the first sendMessage to `chat_id`."""
    arrived = asyncio.Event()

    def watch(call: Call) -> None:
        if call.method == "sendMessage" and call.chat_id == chat_id:
            arrived.set()

    bot.api.on_call = watch
    started = time.monotonic()
    assert asyncio.iscoroutine(confirm)
    await confirm
    try:
        await asyncio.wait_for(arrived.wait(), timeout=10)
    except TimeoutError:
        pytest.fail(f"no copy for {chat_id}: {[(c.method, c.chat_id) for c in bot.api.calls]}")
    return time.monotonic() - started


async def test_a_sent_broadcast_reaches_a_member_within_a_second(running: BotDriver) -> None:
    bot = running
    await bot.send(MOD, "/broadcast")
    await bot.press(MOD, "Kultura", exact=False)
    await bot.press(MOD, bot.label(MOD, "broadcasts.button-next"))
    await bot.send(MOD, "Spotkanie w piątek")
    await bot.press(MOD, bot.label(MOD, "broadcasts.button-now"))
    confirm = bot.press(MOD, bot.label(MOD, "broadcasts.button-confirm"))
    elapsed = await _first_copy(bot, ANNA.id, confirm)
    assert elapsed < 1.0


async def test_a_published_meeting_reaches_a_member_within_a_second(running: BotDriver) -> None:
    bot = running
    await bot.send(MOD, "/new_meeting")
    await bot.press(MOD, "Kultura", exact=False)
    await bot.send(MOD, "Budżet obywatelski 2027")
    await bot.send(MOD, "2026-12-03 17:00")
    await bot.press(MOD, "(domyślnie)", exact=False)
    await bot.send(MOD, "ul. Józefińska 14, Kraków")
    await bot.press(MOD, bot.label(MOD, "meetings.button-skip"))
    await bot.press(MOD, bot.label(MOD, "meetings.button-no-limit"))
    await bot.press(MOD, bot.label(MOD, "meetings.button-default-reminders"))
    await bot.press(MOD, bot.label(MOD, "meetings.button-rec-none"))
    publish = bot.press(MOD, bot.label(MOD, "meetings.button-publish"))
    elapsed = await _first_copy(bot, ANNA.id, publish)
    assert elapsed < 1.0


async def test_a_review_action_reaches_the_author_within_a_second(running: BotDriver) -> None:
    bot = running
    reference = await submit(bot, ANNA)
    await bot.send(MOD, "/review")
    await bot.press(MOD, reference)
    await bot.press(MOD, bot.label(MOD, "postulates.action-forward"))
    confirm = bot.press(MOD, bot.label(MOD, "postulates.button-confirm"))
    elapsed = await _first_copy(bot, ANNA.id, confirm)
    assert elapsed < 1.0
