"""The one error handler: log with traceback, tell the user something kind."""

from __future__ import annotations

import logging

from telegram import Chat, Update
from telegram.error import BadRequest, TelegramError

from bot.config import Language
from bot.context import App, Ctx
from bot.services import users as users_service

log = logging.getLogger(__name__)

# Telegram's 400s for an edit of the message a button sits on. "Not modified": the press
# repeats one already handled (a double tap), so the message shows the new state already.
# "Not found" / "can't be edited": the press points at a message that is gone or not ours
# (deleted, too old, or forged callback data) - the button is no longer valid.
_NOT_MODIFIED = "message is not modified"
_GONE = ("message to edit not found", "message can't be edited")


async def _answer_press(update: object, context: Ctx) -> bool:
    """Answer a press whose edit Telegram refused; True when the error was such a refusal."""
    if not isinstance(context.error, BadRequest):
        return False
    reason = context.error.message.lower()
    if _NOT_MODIFIED in reason:
        alert = None
    elif any(gone in reason for gone in _GONE):
        alert = "error.stale-button"
    else:
        return False
    log.info("Telegram refused an edit (%s); the press is answered", context.error.message)
    if not isinstance(update, Update) or update.callback_query is None:
        # An edit from a typed message or a job: nothing to answer, nothing went wrong.
        return True
    try:
        if alert is None:
            await update.callback_query.answer()
        else:
            language = await _language(update, context) or context.deps.config.default_language
            body = context.deps.texts.get(language, alert)
            await update.callback_query.answer(body, show_alert=True)
    except TelegramError:
        # The handler may have answered before its edit failed; a query is answered once.
        log.debug("The press was answered already")
    return True


async def on_error(update: object, context: Ctx) -> None:
    """Log the exception and apologise in the private chat it came from."""
    if await _answer_press(update, context):
        return
    log.error("Unhandled error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != Chat.PRIVATE:
        return
    deps = context.deps
    language = await _language(update, context) or deps.config.default_language
    try:
        await context.bot.send_message(
            update.effective_chat.id,
            deps.texts.get(language, "error.generic"),
        )
    except TelegramError:
        log.warning("Could not tell the user about the error")


async def _language(update: Update, context: Ctx) -> Language | None:
    """The user's language; PTB gives error handlers a fresh context (no actor)."""
    if update.effective_user is None:
        return None
    deps = context.deps
    telegram_language = users_service.language_from_telegram(
        update.effective_user.language_code, deps.config.default_language
    )
    try:
        actor = await users_service.load_actor(deps.db, update.effective_user.id, telegram_language)
    except Exception:
        log.warning("Could not read the user's language for the reply", exc_info=True)
        return None
    return actor.language


def register(app: App) -> None:
    """Install the error handler."""
    app.add_error_handler(on_error)
