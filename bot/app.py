"""The application factory: the one place a PTB Application is built, in production and tests."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from datetime import datetime

from telegram import BotCommandScopeDefault
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest, HTTPXRequest

from bot.commands import menus
from bot.config import Config
from bot.context import DEPS_KEY, ENGINE_KEY, App, Ctx, engine_of
from bot.deps import Deps, utcnow
from bot.dispatcher import dispatch_once
from bot.engine import build_engine
from bot.flood import FloodLimiter
from bot.guarded import GuardedBot
from bot.housekeeping import CHORES, Chore, run_chore
from bot.i18n import Texts
from bot.services import delivery as delivery_service
from bot.services import sectors as sectors_service
from bot.updates import PerUserUpdateProcessor
from handlers import register_all
from storage.database import Database

log = logging.getLogger(__name__)


def build_application(
    config: Config,
    *,
    request: BaseRequest | None = None,
    clock: Callable[[], datetime] = utcnow,
    texts: Texts | None = None,
) -> App:
    """Build the bot; `request` replaces the network (tests), `clock` pins time."""
    if config.token is None:
        raise ValueError("BOT_TOKEN is not set")
    # No PTB rate limiter: the delivery engine owns Telegram's limits for notices (its pace,
    # one send at a time per chat, each group's 20 a minute, a 429's retry_after), and a
    # limiter in front of it would pace the same sends twice. Direct replies answer updates
    # the flood limit already bounds per user (README, "How notices are delivered").
    # Our own bot class checks every outgoing message; ApplicationBuilder takes a built bot
    # only without its network options, so the bot gets them here (PTB's default pools).
    guarded = GuardedBot(
        token=config.token.get_secret_value(),
        base_url=config.api_base_url,
        base_file_url=config.api_file_url,
        request=request or HTTPXRequest(connection_pool_size=256),
        get_updates_request=request or HTTPXRequest(connection_pool_size=1),
        # Every text the bot writes is HTML (user text escaped where it is inserted).
        defaults=Defaults(parse_mode=ParseMode.HTML),
    )
    builder = (
        ApplicationBuilder()
        .bot(guarded)
        .context_types(ContextTypes(context=Ctx))
        .concurrent_updates(
            PerUserUpdateProcessor(
                config.max_concurrent_updates,
                FloodLimiter(config.flood.updates, config.flood.seconds),
            )
        )
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    app: App = builder.build()  # type: ignore[assignment]
    app.bot_data["config"] = config
    app.bot_data["clock"] = clock
    app.bot_data["texts"] = texts or Texts()
    # Before the handlers: some register hooks in it (broadcasts' progress messages).
    app.bot_data[ENGINE_KEY] = build_engine()
    register_all(app)
    return app


async def _post_init(app: App) -> None:
    config: Config = app.bot_data["config"]
    db = await Database.open(config.database)
    try:
        await sectors_service.sync_from_config(db, config)
    except BaseException:
        await db.close()
        raise
    texts: Texts = app.bot_data["texts"]
    deps = Deps(
        config=config, db=db, texts=texts, engine=engine_of(app), clock=app.bot_data["clock"]
    )
    app.bot_data[DEPS_KEY] = deps
    # Before the first poll: sends a crash interrupted may have arrived -> `unknown`.
    interrupted = await delivery_service.recover(db, deps.clock())
    if interrupted:
        log.warning("%d deliveries were interrupted by a stop; counted as unknown", interrupted)
    _schedule_dispatcher(app, config)
    _schedule_housekeeping(app)
    for language, commands in menus(texts).items():
        scope = BotCommandScopeDefault()
        await app.bot.set_my_commands(commands, scope=scope, language_code=language)
    await app.bot.set_my_commands(
        menus(texts)[config.default_language], scope=BotCommandScopeDefault()
    )
    log.info("Bot @%s ready with database %s", app.bot.username, config.database)
    # What exists now (modules, the Application, the catalogues) lives as long as the bot:
    # the collector's full passes leave it out. Walking it stopped every thread, the event
    # loop's too, for 50-70 ms a pass while an export ran (issue 12, bench/scale.py).
    gc.freeze()


def _schedule_dispatcher(app: App, config: Config) -> None:
    """Register the one scheduler job, however many notices and reminders are pending."""
    if app.job_queue is None:
        raise RuntimeError("python-telegram-bot[job-queue] is needed for the dispatcher")
    job = app.job_queue.run_repeating(
        _dispatch_job,
        interval=config.delivery.interval_seconds,
        first=0,
        name="dispatcher",
        # A long broadcast outlasts the interval; the overlapping run returns at once
        # (dispatch_once holds a lock) instead of APScheduler logging a skipped run.
        job_kwargs={"max_instances": 2, "coalesce": True, "misfire_grace_time": None},
    )
    # A committed announcement moves this job to now (engine.wake): notices leave within a
    # second, and the interval stays as the safety net.
    engine_of(app).drive(job)


def _schedule_housekeeping(app: App) -> None:
    """Register one job per chore, each with its own interval (bot.housekeeping)."""
    if app.job_queue is None:
        raise RuntimeError("python-telegram-bot[job-queue] is needed for housekeeping")
    for chore in CHORES:
        app.job_queue.run_repeating(
            _chore_job,
            interval=chore.every_seconds,
            first=0,
            name=f"housekeeping:{chore.name}",
            data=chore,
            job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
        )


async def _chore_job(context: Ctx) -> None:
    chore = context.job.data if context.job is not None else None
    if isinstance(chore, Chore):
        await run_chore(context.deps, chore)


async def _dispatch_job(context: Ctx) -> None:
    # Application.stop waits for running jobs: a long broadcast must yield to a shutdown.
    application = context.application
    await dispatch_once(context.deps, context.bot, stopping=lambda: not application.running)


async def _post_shutdown(app: App) -> None:
    # Collectable again once the bot stops (a test process starts and stops many).
    gc.unfreeze()
    deps = app.bot_data.get(DEPS_KEY)
    if isinstance(deps, Deps):
        await deps.db.close()
