"""Statistics: /stats for admins (every sector) and moderators (their sectors) - a PNG chart
and a short text summary."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from babel.dates import format_date
from telegram import InputFile, Update
from telegram.constants import ChatAction, ParseMode
from telegram.ext import CommandHandler

from bot.config import Language
from bot.context import App, Ctx
from bot.errors import NotAllowed
from bot.i18n import Html, Texts
from bot.services import stats as stats_service
from bot.services.stats import POSTULATE_STATES, Stats
from handlers.common import reply, require_actor, require_message, require_private, text


def month_label(data: Stats, language: Language, zone: ZoneInfo) -> str:
    """'listopad 2026' / 'November 2026'."""
    local = data.since.astimezone(zone)
    return str(format_date(local.date(), "LLLL y", locale=language))


def summary_text(data: Stats, language: Language, texts: Texts, month: str) -> Html:
    """The figures behind the chart, one paragraph per sector, then the deliveries."""
    scope = "stats.scope-all" if data.all_sectors else "stats.scope-mine"
    parts = [texts.get(language, "stats.title", month=month, scope=texts.get(language, scope))]
    for sector in data.sectors:
        states = [
            texts.get(
                language,
                "stats.postulate-state",
                state=texts.get(language, f"stats.state-{state}"),
                count=sector.postulates[state],
            )
            for state in POSTULATE_STATES
            if sector.postulates.get(state)
        ]
        parts.append(
            texts.get(
                language,
                "stats.sector",
                name=sector.team.name(language),
                subscribers=sector.subscribers,
                change=f"{sector.change:+d}",
                joined=sector.joined,
                left=sector.left,
                meetings=sector.meetings_held,
                going=sector.rsvps.get("going", 0),
                waiting=sector.rsvps.get("waiting", 0),
                maybe=sector.rsvps.get("maybe", 0),
                not_going=sector.rsvps.get("not_going", 0),
                postulates=Html(", ".join(states))
                if states
                else texts.get(language, "stats.postulates-none"),
            )
        )
    rate = data.success_rate
    if rate is None:
        parts.append(texts.get(language, "stats.deliveries-none"))
    else:
        counts = data.deliveries
        parts.append(
            texts.get(
                language,
                "stats.deliveries",
                sent=counts.get("sent", 0),
                total=data.finished_deliveries,
                rate=stats_service.format_rate(rate, language),
                failed=counts.get("failed", 0),
                blocked=counts.get("blocked", 0),
                unknown=counts.get("unknown", 0),
                expired=counts.get("expired", 0),
                pending=counts.get("pending", 0) + counts.get("sending", 0),
            )
        )
    return Html("\n\n".join(parts))


async def show_stats(update: Update, context: Ctx) -> None:
    """Send the chart and the summary (moderators and admins only)."""
    if not await require_private(update, context):
        return
    actor = require_actor(context)
    deps = context.deps
    try:
        data = await stats_service.stats(deps.db, actor, deps.clock(), deps.config.zone)
    except NotAllowed:
        await reply(update, text(context, "error.not-allowed"))
        return
    message = require_message(update)
    await message.reply_chat_action(ChatAction.UPLOAD_PHOTO)
    # Drawing takes a moment (and imports matplotlib the first time): not on the event loop.
    png = await asyncio.to_thread(stats_service.render_chart, data, actor.language, deps.texts)
    month = month_label(data, actor.language, deps.config.zone)
    await message.reply_photo(
        photo=InputFile(png, filename="stats.png"),
        caption=text(context, "stats.caption", month=month),
        parse_mode=ParseMode.HTML,
        do_quote=False,
    )
    await reply(update, summary_text(data, actor.language, deps.texts, month))


def register(app: App) -> None:
    """Install /stats."""
    app.add_handler(CommandHandler("stats", show_stats))
