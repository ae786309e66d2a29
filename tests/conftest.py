"""Fixtures: a config on a temporary database, the real Application on the fake network."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from hypothesis import settings

from bot.app import build_application
from bot.config import EXAMPLE_CONFIG, Config, load_config
from bot.i18n import Texts
from bot.web.site import build_site
from storage import database
from storage.database import ReadOnlyDatabase
from tests import query_plans
from tests.fakes import FakeBotApi
from tests.harness import BotDriver, Clock, TgUser

# Hypothesis keeps no example database in the working tree (CI and local runs alike).
settings.register_profile("repo", database=None)
settings.load_profile("repo")

ADMIN_ID = 900
TEST_TOKEN = "123456:TEST-token-sentinel-do-not-log"


def make_config(tmp_path: Path, **overrides: str) -> Config:
    """The example configuration, on a database in tmp_path, with one admin."""
    env = {
        "BOT_TOKEN": TEST_TOKEN,
        "BOT_DATABASE": str(tmp_path / "bot.sqlite3"),
        "BOT_ADMINS": str(ADMIN_ID),
    }
    env.update(overrides)
    return load_config(EXAMPLE_CONFIG, env)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def start_driver(config: Config, clock: Clock, api: FakeBotApi | None = None) -> BotDriver:
    """Build the production application on the fake network and run its startup hook."""
    api = api or FakeBotApi()
    app = build_application(config, request=api, clock=clock)
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    # run_polling starts the JobQueue in production (conversation timeouts need it), but
    # tests let the clock tick by hand: the dispatcher and the housekeeping run only when a
    # test calls dispatch_once or run_housekeeping, never behind its back (without its job,
    # the engine's wake-up does nothing). A test in test_app checks the jobs are registered.
    assert app.job_queue is not None
    for job in app.job_queue.jobs():
        if job.name == "dispatcher" or (job.name or "").startswith("housekeeping:"):
            job.schedule_removal()
    await app.job_queue.start()
    return BotDriver(app=app, api=api, clock=clock)


async def stop_driver(driver: BotDriver) -> None:
    if driver.app.job_queue is not None:
        await driver.app.job_queue.stop(wait=False)
    if driver.app.post_shutdown is not None:
        await driver.app.post_shutdown(driver.app)
    await driver.app.shutdown()


@pytest.fixture
async def bot(config: Config, clock: Clock) -> AsyncIterator[BotDriver]:
    driver = await start_driver(config, clock)
    try:
        yield driver
    finally:
        await stop_driver(driver)


@pytest.fixture
async def site(bot: BotDriver, config: Config) -> AsyncIterator[httpx.AsyncClient]:
    """The public site over its own read-only connection to the bot's database."""
    reader = ReadOnlyDatabase(config.database)
    texts = bot.app.bot_data["texts"]
    assert isinstance(texts, Texts)
    app = build_site(config, reader, texts, bot.app.bot.username, bot.clock)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://site.test") as client:
        yield client
    await reader.close()


@pytest.fixture
def anna() -> TgUser:
    return TgUser(id=1001, language_code="pl", first_name="Anna")


@pytest.fixture
def john() -> TgUser:
    return TgUser(id=1002, language_code="en", first_name="John")


@pytest.fixture(autouse=True)
def _no_real_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("BOT_"):
            monkeypatch.delenv(name)


# Every statement the suite runs is recorded; a full scan of a growing table fails the run.
database.CONNECT_HOOKS.append(query_plans.record)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not query_plans.recorded:
        return
    with tempfile.TemporaryDirectory() as folder:
        offenders = query_plans.check(Path(folder))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if offenders:
        lines = [f"{len(offenders)} statement(s) scan a growing table (tests/query_plans.py):"]
        lines += offenders
        if reporter is not None:
            reporter.write_sep("=", "full table scans", red=True)
            reporter.write_line("\n".join(lines))
        if session.exitstatus == 0:
            session.exitstatus = 1
