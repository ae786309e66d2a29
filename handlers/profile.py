"""Profile: /help (commands for my role), /language (Polish or English); /privacy is in
handlers/privacy.py."""

from __future__ import annotations

import re

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import CommandHandler

from bot.config import Language
from bot.context import App, Ctx
from bot.keyboards import language_keyboard
from bot.services import sectors as sectors_service
from bot.services import users as users_service
from handlers.common import (
    PRIVATE,
    PersonalButton,
    answer_stale,
    reply,
    require_actor,
    require_query,
    text,
)

SET_LANGUAGE = re.compile(r"lang:set:(pl|en)")


async def show_help(update: Update, context: Ctx) -> None:
    """List the commands the actor may use, by role."""
    actor = require_actor(context)
    parts = [text(context, "help.member")]
    if actor.is_moderator:
        view = await sectors_service.sectors_view(context.deps.db, actor.user_id)
        names = [t.name(actor.language) for t in view.teams if actor.moderates(t.id)]
        parts.append(text(context, "help.moderator", sectors=", ".join(names)))
    if actor.is_admin:
        parts.append(text(context, "help.admin"))
    await reply(update, "\n\n".join(parts))


async def choose_language(update: Update, context: Ctx) -> None:
    """Offer Polish and English."""
    actor = require_actor(context)
    await reply(
        update,
        text(context, "language.choose"),
        language_keyboard(context.deps.texts, actor.language),
    )


async def set_language(update: Update, context: Ctx) -> None:
    """Store the chosen language and confirm in it."""
    query = require_query(update)
    match = SET_LANGUAGE.fullmatch(query.data or "")
    if match is None:
        await answer_stale(update, context)
        return
    actor = require_actor(context)
    language: Language = "pl" if match.group(1) == "pl" else "en"
    deps = context.deps
    if actor.user is None:
        await users_service.register_contact(deps.db, actor.user_id, language, deps.clock())
    await users_service.set_language(deps.db, actor.user_id, language)
    await query.answer()
    await query.edit_message_text(
        deps.texts.get(language, "language.changed"), parse_mode=ParseMode.HTML
    )


def register(app: App) -> None:
    """Install /help and /language."""
    app.add_handler(CommandHandler("help", show_help))
    app.add_handler(CommandHandler("language", choose_language, PRIVATE))
    app.add_handler(PersonalButton(set_language, pattern=r"^lang:"))
