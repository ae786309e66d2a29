"""The application factory: the one place a PTB Application is built, in production and tests."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from telegram import BotCommandScopeDefault, InlineKeyboardMarkup
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import BadRequest
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes, ExtBot
from telegram.request import BaseRequest, HTTPXRequest

from bot import limits
from bot.commands import menus
from bot.config import Config
from bot.context import DEPS_KEY, App, Ctx
from bot.deps import Deps, utcnow
from bot.dispatcher import dispatch_once
from bot.flood import FloodLimiter
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
    rate_limit: bool = True,
) -> App:
    """Build the bot; `request` replaces the network (tests), `clock` pins time."""
    if config.token is None:
        raise ValueError("BOT_TOKEN is not set")
    # Telegram's limits: ~30 messages/s per bot, 20/min per group. No hidden retries:
    # the delivery engine decides what a 429 means for a notice (it waits retry_after).
    limiter = AIORateLimiter(max_retries=0) if rate_limit else None
    # Our own bot class checks every outgoing message; ApplicationBuilder takes a built bot
    # only without its network options, so the bot gets them here (PTB's default pools).
    guarded = GuardedBot(
        token=config.token.get_secret_value(),
        base_url=config.api_base_url,
        base_file_url=config.api_file_url,
        request=request or HTTPXRequest(connection_pool_size=256),
        get_updates_request=request or HTTPXRequest(connection_pool_size=1),
        # PTB types the bot by the limiter's argument type; ours passes none per call.
        rate_limiter=limiter,  # type: ignore[arg-type]
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
    deps = Deps(config=config, db=db, texts=texts, clock=app.bot_data["clock"])
    app.bot_data[DEPS_KEY] = deps
    # Before the first poll: sends a crash interrupted may have arrived -> `unknown`.
    interrupted = await delivery_service.recover(db, deps.clock())
    if interrupted:
        log.warning("%d deliveries were interrupted by a stop; counted as unknown", interrupted)
    _schedule_dispatcher(app, config)
    for language, commands in menus(texts).items():
        scope = BotCommandScopeDefault()
        await app.bot.set_my_commands(commands, scope=scope, language_code=language)
    await app.bot.set_my_commands(
        menus(texts)[config.default_language], scope=BotCommandScopeDefault()
    )
    log.info("Bot @%s ready with database %s", app.bot.username, config.database)


def _schedule_dispatcher(app: App, config: Config) -> None:
    """Register the one scheduler job, however many notices and reminders are pending."""
    if app.job_queue is None:
        raise RuntimeError("python-telegram-bot[job-queue] is needed for the dispatcher")
    app.job_queue.run_repeating(
        _dispatch_job,
        interval=config.delivery.interval_seconds,
        first=0,
        name="dispatcher",
        # A long broadcast outlasts the interval; the overlapping run returns at once
        # (dispatch_once holds a lock) instead of APScheduler logging a skipped run.
        job_kwargs={"max_instances": 2, "coalesce": True, "misfire_grace_time": None},
    )


async def _dispatch_job(context: Ctx) -> None:
    # Application.stop waits for running jobs: a long broadcast must yield to a shutdown.
    application = context.application
    await dispatch_once(context.deps, context.bot, stopping=lambda: not application.running)


async def _post_shutdown(app: App) -> None:
    deps = app.bot_data.get(DEPS_KEY)
    if isinstance(deps, Deps):
        await deps.db.close()


class GuardedBot(ExtBot[None]):
    """The bot every message leaves through: Telegram's limits are checked before the request.

    Cards and lists are designed to fit; this catches what slips through. A text or caption
    over its limit is shortened with a marker (never inside a tag or entity) and logged;
    HTML Telegram cannot parse, callback data over 64 bytes and keyboards over 100 buttons
    are refused here with the BadRequest Telegram would answer, so nothing goes out broken.
    """

    async def _do_post(
        self,
        endpoint: str,
        data: JSONDict,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> bool | JSONDict | list[JSONDict]:
        _guard(endpoint, data)
        return await super()._do_post(
            endpoint,
            data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )


def _guard(endpoint: str, data: JSONDict) -> None:
    """Make `data` fit Telegram's limits in place, or raise the BadRequest Telegram would."""
    parse_mode = data.get("parse_mode")
    html_mode = isinstance(parse_mode, str) and parse_mode.upper() == "HTML"
    for key, limit in (("text", limits.TEXT_LIMIT), ("caption", limits.CAPTION_LIMIT)):
        value = data.get(key)
        if not isinstance(value, str) or endpoint == "answerCallbackQuery":
            continue
        data[key] = _fit(endpoint, key, value, limit, html_mode)
    if endpoint == "answerCallbackQuery" and isinstance(data.get("text"), str):
        data["text"] = limits.plain_prefix(str(data["text"]), limits.ALERT_LIMIT)
    markup = data.get("reply_markup")
    if isinstance(markup, InlineKeyboardMarkup):
        rows = [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]
        # Only str callback data reaches Telegram (arbitrary callback data is off).
        problem = limits.keyboard_problem(
            [[(label, d if isinstance(d, str) else None) for label, d in row] for row in rows]
        )
        if problem is not None:
            log.error("Refused %s before sending: %s", endpoint, problem)
            raise BadRequest(problem)


def _fit(endpoint: str, key: str, value: str, limit: int, html_mode: bool) -> str:
    if html_mode:
        try:
            length = limits.html_length(value)
        except limits.InvalidHtml as exc:
            log.error("Refused %s before sending: invalid HTML in %s: %s", endpoint, key, exc)
            raise BadRequest(f"Can't parse entities: {exc}") from exc
        if length <= limit:
            return value
        log.warning("Shortened the %s of %s: %d > %d UTF-16 units", key, endpoint, length, limit)
        return limits.shorten(value, limit)
    if limits.utf16_len(value) <= limit:
        return value
    log.warning("Shortened the %s of %s to %d UTF-16 units", key, endpoint, limit)
    return limits.plain_prefix(value, limit)
