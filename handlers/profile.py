"""Profile: /help (commands for my role), /language (Polish or English); /privacy is in
handlers/privacy.py."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.config import Language
from bot.context import App, Ctx
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
from handlers.views.sectors import SetLanguage, language_keyboard


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
    press = SetLanguage.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    actor = require_actor(context)
    language: Language = press.language
    deps = context.deps
    if actor.user is None:
        await users_service.register_contact(deps.db, actor.user_id, language, deps.clock())
    await users_service.set_language(deps.db, actor.user_id, language)
    await query.answer()
    await query.edit_message_text(deps.texts.get(language, "language.changed"))


def register(app: App) -> None:
    """Install /help and /language."""
    app.add_handler(CommandHandler("help", show_help))
    app.add_handler(CommandHandler("language", choose_language, PRIVATE))
    app.add_handler(PersonalButton(set_language, pattern=SetLanguage.pattern()))
