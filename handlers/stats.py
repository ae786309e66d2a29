"""Statistics: /stats for admins (every sector) and moderators (their sectors) - a PNG chart
and a short text summary."""

from __future__ import annotations

import asyncio

from telegram import InputFile, Update
from telegram.constants import ChatAction
from telegram.ext import CommandHandler

from bot.context import App, Ctx
from bot.errors import DomainError
from bot.services import stats as stats_service
from handlers.common import PRIVATE, refuse, reply, require_actor, require_message, text
from handlers.views.stats import month_label, render_chart, summary_text


async def show_stats(update: Update, context: Ctx) -> None:
    """Send the chart and the summary (moderators and admins only)."""
    actor = require_actor(context)
    deps = context.deps
    try:
        data = await stats_service.stats(deps.db, actor, deps.clock(), deps.config.zone)
    except DomainError as exc:
        await refuse(update, context, exc)
        return
    message = require_message(update)
    await message.reply_chat_action(ChatAction.UPLOAD_PHOTO)
    # Drawing takes a moment (and imports matplotlib the first time): not on the event loop.
    png = await asyncio.to_thread(render_chart, data, actor.language, deps.texts)
    month = month_label(data, actor.language, deps.config.zone)
    await message.reply_photo(
        photo=InputFile(png, filename="stats.png"),
        caption=text(context, "stats.caption", month=month),
        do_quote=False,
    )
    await reply(update, summary_text(data, actor.language, deps.texts, month))


def register(app: App) -> None:
    """Install /stats."""
    app.add_handler(CommandHandler("stats", show_stats, PRIVATE))
