"""Gatekeeper: loads the actor (user and roles) from the database before any handler runs."""

from __future__ import annotations

from telegram import Update
from telegram.ext import TypeHandler

from bot.context import App, Ctx
from bot.services import users as users_service

# Negative group: PTB runs groups in ascending order and every group gets the update, so
# this runs first for every update, button presses included, and roles are never cached.
GROUP = -100


async def load_actor(update: Update, context: Ctx) -> None:
    """Attach the actor of the update to the context."""
    user = update.effective_user
    if user is None:
        return
    deps = context.deps
    language = users_service.language_from_telegram(
        user.language_code, deps.config.default_language
    )
    context.actor = await users_service.load_actor(deps.db, user.id, language)


def register(app: App) -> None:
    """Install the gatekeeper."""
    app.add_handler(TypeHandler(Update, load_actor), group=GROUP)
