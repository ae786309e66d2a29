"""Gatekeeper: at most once, the actor (user and roles) before any handler; edited messages
ignored; flood notices."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, MessageHandler, TypeHandler, filters

from bot.context import DEPS_KEY, App, Ctx
from bot.deps import Deps
from bot.services import updates as updates_service
from bot.services import users as users_service
from bot.services.users import Actor
from bot.updates import PerUserUpdateProcessor

log = logging.getLogger(__name__)

# Negative group: PTB runs groups in ascending order and every group gets the update, so
# this runs first for every update, button presses included, and roles are never cached.
GROUP = -100


async def _admit(update: Update, deps: Deps) -> updates_service.Admission:
    user = update.effective_user
    language = users_service.language_from_telegram(
        user.language_code if user else None, deps.config.default_language
    )
    if user is None:
        return await updates_service.admit(deps.db, update.update_id, None, language, deps.clock())
    name = users_service.clean_name(user.first_name, user.last_name, user.username)
    return await updates_service.admit(
        deps.db, update.update_id, user.id, language, deps.clock(), name
    )


async def load_actor(update: Update, context: Ctx) -> None:
    """Skip an update taken before (a redelivery); attach the actor of the update."""
    admission = await _admit(update, context.deps)
    if not admission.fresh:
        log.info("Update %d was taken before a restart; skipped", update.update_id)
        raise ApplicationHandlerStop
    if admission.actor is None:
        # No sender (channel posts, anonymous messages): nothing in the bot serves them,
        # and every feature handler needs to know who is asking.
        raise ApplicationHandlerStop
    context.actor = admission.actor


async def ignore_edit(update: Update, context: Ctx) -> None:
    """An edited message is never a new command or answer: stop it before any handler."""
    raise ApplicationHandlerStop


async def ask_to_slow_down(app: App, update: Update) -> None:
    """Instead of handling the first update over the flood limit, ask the user to slow down."""
    deps = app.bot_data.get(DEPS_KEY)
    if not isinstance(deps, Deps):
        return
    try:
        # Recorded like any update: a redelivery after a restart is not handled either.
        admission = await _admit(update, deps)
        if not admission.fresh:
            return
        language = admission.actor.language if isinstance(admission.actor, Actor) else None
        body = deps.texts.get(language or deps.config.default_language, "operations.slow-down")
        if update.callback_query is not None:
            await app.bot.answer_callback_query(update.callback_query.id, body)
        elif update.effective_chat is not None:
            await app.bot.send_message(update.effective_chat.id, body)
    except Exception:
        # Called from the update processor, outside PTB's error handling.
        log.exception("Could not ask a flooding user to slow down")


def register(app: App) -> None:
    """Install the gatekeeper and the flood notice."""
    # Before load_actor, in the same group (the first match in a group wins): Telegram sends
    # an edit of an old message as an update too, and PTB's CommandHandler and MessageHandler
    # take edits by default, so editing an old message into /forget would run it again.
    app.add_handler(MessageHandler(filters.UpdateType.EDITED, ignore_edit), group=GROUP)
    app.add_handler(TypeHandler(Update, load_actor), group=GROUP)
    processor = app.update_processor
    if isinstance(processor, PerUserUpdateProcessor):
        processor.on_flood = lambda update: ask_to_slow_down(app, update)
