"""Sector teams: /sectors shows every sector team as a toggle; a press edits in place."""

from __future__ import annotations

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CommandHandler

from bot.context import App, Ctx
from bot.errors import ConsentRequired, UnknownSector
from bot.services import sectors as sectors_service
from handlers.common import (
    PRIVATE,
    PersonalButton,
    answer_stale,
    is_consented,
    reply,
    require_actor,
    require_query,
    text,
)
from handlers.views.sectors import Toggle, sectors_keyboard, sectors_text


async def show_sectors(update: Update, context: Ctx) -> None:
    """List the sector teams with subscribe toggles."""
    if not is_consented(context):
        await reply(update, text(context, "error.consent-required"))
        return
    actor = require_actor(context)
    view = await sectors_service.sectors_view(context.deps.db, actor.user_id)
    texts = context.deps.texts
    await reply(
        update,
        sectors_text(view, actor.language, texts),
        sectors_keyboard(view, actor.language, texts),
    )


async def toggle(update: Update, context: Ctx) -> None:
    """Toggle one subscription and redraw the keyboard in the same message."""
    query = require_query(update)
    press = Toggle.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    actor = require_actor(context)
    deps = context.deps
    try:
        view = await sectors_service.toggle(
            deps.db, actor.user_id, press.team_id, deps.config.privacy.notice_version, deps.clock()
        )
    except UnknownSector:
        await answer_stale(update, context)
        return
    except ConsentRequired:
        await query.answer(text(context, "error.consent-required"), show_alert=True)
        return
    team = next(team for team in view.teams if team.id == press.team_id)
    key = "sectors.toggled-on" if team.id in view.subscribed else "sectors.toggled-off"
    await query.answer(text(context, key, name=team.name(actor.language)))
    try:
        await query.edit_message_text(
            sectors_text(view, actor.language, deps.texts),
            reply_markup=sectors_keyboard(view, actor.language, deps.texts),
        )
    except BadRequest as exc:
        # A double press renders the same keyboard twice; Telegram refuses the no-op edit.
        if "not modified" not in exc.message:
            raise


def register(app: App) -> None:
    """Install /sectors and its toggles."""
    app.add_handler(CommandHandler("sectors", show_sectors, PRIVATE))
    app.add_handler(PersonalButton(toggle, pattern=Toggle.pattern()))
