"""The schedule: /meetings, /schedule [slug], /meeting <id> and the deep link meeting-<id>."""

from __future__ import annotations

import re

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import App, Ctx
from bot.errors import ConsentRequired, UnknownSector
from bot.services import schedule as schedule_service
from bot.services.schedule import MeetingView, SchedulePage
from handlers import start as start_handlers
from handlers.common import (
    PRIVATE,
    PersonalButton,
    answer_stale,
    in_private_chat,
    is_consented,
    refuse,
    reply,
    require_actor,
    require_query,
    text,
)
from handlers.views.card import meeting_card
from handlers.views.schedule import (
    OpenMeeting,
    PageButton,
    TeamPage,
    sectors_keyboard,
)
from handlers.views.schedule_drawn import drawn_page

MEETING_ID = re.compile(r"[0-9]{1,9}")
MEETING_LINK = re.compile(r"meeting-([0-9]{1,9})")


async def send_card(update: Update, context: Ctx, view: MeetingView) -> None:
    """Send one meeting's card into the chat of the update."""
    actor = require_actor(context)
    deps = context.deps
    body, markup = meeting_card(
        view,
        actor.language,
        deps.texts,
        zone=deps.config.zone,
        bot_username=context.bot.username,
        now=deps.clock(),
        # Counts and the export stay out of groups: they are for the moderator alone.
        moderator_tools=in_private_chat(update),
    )
    chat = update.effective_chat
    if chat is None:
        return
    await context.bot.send_message(chat.id, body, reply_markup=markup)


async def _load_page(
    update: Update, context: Ctx, scope: schedule_service.Scope, number: int
) -> SchedulePage | None:
    actor = require_actor(context)
    deps = context.deps
    try:
        return await schedule_service.upcoming_page(
            deps.db,
            actor=actor,
            scope=scope,
            page=number,
            notice_version=deps.config.privacy.notice_version,
            now=deps.clock(),
        )
    except ConsentRequired as error:
        await refuse(update, context, error)
        return None


async def _reply_page(update: Update, context: Ctx, page: SchedulePage) -> None:
    language = require_actor(context).language
    deps = context.deps
    body, markup = drawn_page(page, language, deps.texts, deps.config.zone, context.bot.username)
    await reply(update, body, markup)


async def show_meetings(update: Update, context: Ctx) -> None:
    """/meetings: the upcoming meetings of my sector teams, 5 a page."""
    page = await _load_page(update, context, "mine", 0)
    if page is not None:
        await _reply_page(update, context, page)


async def turn_page(update: Update, context: Ctx) -> None:
    """‹ › and the mine/all toggle: redraw the list in place."""
    query = require_query(update)
    press = PageButton.parse(query.data) or TeamPage.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    scope: schedule_service.Scope = press.scope if isinstance(press, PageButton) else press.team_id
    try:
        page = await _load_page(update, context, scope, press.page)
    except UnknownSector:
        await answer_stale(update, context)
        return
    if page is None:
        return
    await query.answer()
    language = require_actor(context).language
    deps = context.deps
    try:
        body, markup = drawn_page(
            page, language, deps.texts, deps.config.zone, context.bot.username
        )
        await query.edit_message_text(body, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in exc.message:
            raise


async def _team_schedule(update: Update, context: Ctx, team_id: int) -> None:
    try:
        page = await _load_page(update, context, team_id, 0)
    except UnknownSector as error:
        await refuse(update, context, error)
        return
    if page is not None:
        await _reply_page(update, context, page)


async def _sector_buttons(update: Update, context: Ctx, intro_key: str) -> None:
    teams = await schedule_service.sector_teams(context.deps.db)
    markup = sectors_keyboard(teams, require_actor(context).language)
    await reply(update, text(context, intro_key), markup)


async def show_schedule(update: Update, context: Ctx) -> None:
    """/schedule <slug>: one sector's published schedule; without a slug, pick a sector."""
    args = context.args or []
    if not args:
        await _sector_buttons(update, context, "schedule.choose-sector")
        return
    team = await schedule_service.team_by_slug(context.deps.db, args[0].lower()[:40])
    if team is None:
        await _sector_buttons(update, context, "schedule.unknown-sector")
        return
    await _team_schedule(update, context, team.id)


async def _show_meeting(update: Update, context: Ctx, meeting_id: int) -> None:
    actor = require_actor(context)
    view = await schedule_service.meeting_view(
        context.deps.db, user_id=actor.user_id, meeting_id=meeting_id, moderates=actor.moderates
    )
    if view is None:
        await reply(update, text(context, "schedule.not-found"))
        return
    await send_card(update, context, view)


async def show_meeting(update: Update, context: Ctx) -> None:
    """/meeting <id>: one meeting's card; without a number, the upcoming meetings as buttons."""
    args = context.args or []
    if not args:
        await show_meetings(update, context)
        return
    if len(args) != 1 or MEETING_ID.fullmatch(args[0]) is None:
        await reply(update, text(context, "schedule.meeting-usage"))
        return
    await _show_meeting(update, context, int(args[0]))


async def start_meeting_link(update: Update, context: Ctx) -> None:
    """/start meeting-<id>: greet (and ask consent) if new, then open the meeting's card."""
    match = MEETING_LINK.fullmatch((context.args or [""])[0])
    if match is None:
        await start_handlers.start(update, context)
        return
    if not is_consented(context):
        await start_handlers.start(update, context)
    await _show_meeting(update, context, int(match.group(1)))


async def open_meeting(update: Update, context: Ctx) -> None:
    """A meeting's button in a list: send its card."""
    query = require_query(update)
    press = OpenMeeting.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    actor = require_actor(context)
    view = await schedule_service.meeting_view(
        context.deps.db,
        user_id=actor.user_id,
        meeting_id=press.meeting_id,
        moderates=actor.moderates,
    )
    if view is None:
        await answer_stale(update, context)
        return
    await query.answer()
    await send_card(update, context, view)


def register(app: App) -> None:
    """Install /meetings, /schedule, /meeting, the meeting deep link and the list buttons.

    Must run before handlers.start: the deep link is a /start with a `meeting-<id>` payload.
    """
    link = filters.Regex(r"^/start(@\w+)?\s+meeting-[0-9]{1,9}\s*$")
    app.add_handler(CommandHandler("start", start_meeting_link, filters=link & PRIVATE))
    app.add_handler(CommandHandler("meetings", show_meetings, PRIVATE))
    app.add_handler(CommandHandler("schedule", show_schedule, PRIVATE))
    app.add_handler(CommandHandler("meeting", show_meeting, PRIVATE))
    app.add_handler(CallbackQueryHandler(open_meeting, pattern=OpenMeeting.pattern()))
    app.add_handler(PersonalButton(turn_page, pattern=PageButton.pattern()))
    app.add_handler(PersonalButton(turn_page, pattern=TeamPage.pattern()))
