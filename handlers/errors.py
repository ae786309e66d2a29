"""The one error handler: log with traceback, tell the user something kind."""

from __future__ import annotations

import logging

from telegram import Chat, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.context import App, Ctx
from bot.services import users as users_service

log = logging.getLogger(__name__)


async def on_error(update: object, context: Ctx) -> None:
    """Log the exception and apologise in the private chat it came from."""
    log.error("Unhandled error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != Chat.PRIVATE:
        return
    # PTB gives error handlers a fresh context (no actor): read the user's language again.
    deps = context.deps
    language = deps.config.default_language
    if update.effective_user is not None:
        telegram_language = users_service.language_from_telegram(
            update.effective_user.language_code, deps.config.default_language
        )
        try:
            actor = await users_service.load_actor(
                deps.db, update.effective_user.id, telegram_language
            )
            language = actor.language
        except Exception:
            log.warning("Could not read the user's language for the apology", exc_info=True)
    try:
        await context.bot.send_message(
            update.effective_chat.id,
            deps.texts.get(language, "error.generic"),
            parse_mode=ParseMode.HTML,
        )
    except TelegramError:
        log.warning("Could not tell the user about the error")


def register(app: App) -> None:
    """Install the error handler."""
    app.add_error_handler(on_error)
