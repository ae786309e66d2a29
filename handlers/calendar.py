"""Calendar: "Add to calendar" on a meeting card (.ics + Google link) and /calendar (all mine)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot import ics
from bot.context import App, Ctx
from bot.errors import ConsentRequired
from bot.services import calendar as calendar_service
from handlers.common import (
    PRIVATE,
    PersonalButton,
    answer_stale,
    refuse,
    reply,
    require_actor,
    require_query,
    text,
)
from handlers.views.calendar import google_keyboard
from handlers.views.meetings import IcsButton


async def meeting_ics(update: Update, context: Ctx) -> None:
    """Send one meeting as an .ics file, with a Google Calendar link under it."""
    query = require_query(update)
    press = IcsButton.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    deps = context.deps
    entry = await calendar_service.meeting_entry(deps.db, press.meeting_id)
    if entry is None:
        await answer_stale(update, context)
        return
    actor = require_actor(context)
    username = context.bot.username
    zone = deps.config.zone
    data = ics.ics_bytes([entry], actor.language, username, zone)
    markup = None
    if entry.meeting.state == "scheduled":
        markup = google_keyboard(
            entry.meeting, entry.team, actor.language, deps.texts, bot_username=username, zone=zone
        )
    await query.answer()
    await context.bot.send_document(
        actor.user_id,
        document=data,
        filename=f"meeting-{entry.meeting.id}.ics",
        caption=text(context, "calendar.file-caption", title=entry.meeting.title),
        reply_markup=markup,
    )


async def all_meetings_ics(update: Update, context: Ctx) -> None:
    """/calendar: one .ics with every upcoming meeting of my sector teams."""
    actor = require_actor(context)
    deps = context.deps
    try:
        entries = await calendar_service.my_upcoming_entries(
            deps.db, actor.user_id, deps.config.privacy.notice_version, deps.clock()
        )
    except ConsentRequired as error:
        await refuse(update, context, error)
        return
    if not entries:
        await reply(update, text(context, "calendar.empty"))
        return
    data = ics.ics_bytes(entries, actor.language, context.bot.username, deps.config.zone)
    await context.bot.send_document(
        actor.user_id,
        document=data,
        filename="meetings.ics",
        caption=deps.texts.plural(actor.language, "calendar.all-caption", len(entries)),
    )


def register(app: App) -> None:
    """Install the calendar button and /calendar."""
    app.add_handler(CommandHandler("calendar", all_meetings_ics, PRIVATE))
    app.add_handler(PersonalButton(meeting_ics, pattern=IcsButton.pattern()))
