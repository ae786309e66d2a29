"""The schedule: /meetings, /schedule [slug], /meeting <id> and the deep link meeting-<id>."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import ics
from bot.config import Language
from bot.context import App, Ctx
from bot.errors import ConsentRequired, UnknownSector
from bot.i18n import Html, Texts
from bot.services import schedule as schedule_service
from bot.services.schedule import MeetingView, SchedulePage
from handlers import start as start_handlers
from handlers.common import (
    PRIVATE,
    PersonalButton,
    answer_stale,
    callback_ints,
    is_consented,
    reply,
    require_actor,
    require_query,
    text,
)
from handlers.views.meetings import card_keyboard, card_text, local_when

PAGE = re.compile(r"sched:page:(mine|all):([0-9]{1,3})")
TEAM_PAGE = re.compile(r"sched:team:([0-9]{1,9}):([0-9]{1,3})")
OPEN = re.compile(r"sched:open:([0-9]{1,9})")
MEETING_ID = re.compile(r"[0-9]{1,9}")
MEETING_LINK = re.compile(r"meeting-([0-9]{1,9})")
# Buttons carry a short title; Telegram cuts long labels anyway, but readably is better.
LABEL_TITLE = 40
_MARKS = {"going": "✅", "maybe": "🤔", "not_going": "❌"}


def _short(title: str) -> str:
    return title if len(title) <= LABEL_TITLE else title[: LABEL_TITLE - 1] + "…"


def _open_for_answers(view: MeetingView, now: datetime) -> bool:
    return view.meeting.state == "scheduled" and view.meeting.starts_at > now


def meeting_card(
    view: MeetingView,
    language: Language,
    texts: Texts,
    *,
    zone: ZoneInfo,
    bot_username: str,
    now: datetime,
    moderator_tools: bool,
) -> tuple[Html, InlineKeyboardMarkup]:
    """The card of one meeting for this member: counts and export only for its moderators."""
    meeting = view.meeting
    counts = view.counts if moderator_tools else None
    body = card_text(meeting, view.team, language, texts, zone, counts)
    rows = [list(row) for row in card_keyboard(meeting, language, texts).inline_keyboard]
    is_open = _open_for_answers(view, now)
    if not is_open:
        # Cancelled or started: the .ics stays (it carries the cancellation), answers go.
        rows = [
            [b for b in row if not str(b.callback_data or "").startswith("rsvp:")] for row in rows
        ]
        rows = [row for row in rows if row]
    else:
        url = ics.google_calendar_url(
            meeting, language, team=view.team, bot_username=bot_username, zone=zone
        )
        rows.append([InlineKeyboardButton(texts.get(language, "calendar.google"), url=url)])
    if moderator_tools and counts is not None:
        rows.append(
            [
                InlineKeyboardButton(
                    texts.get(language, "rsvp.export-csv"), callback_data=f"rsvp:csv:{meeting.id}"
                )
            ]
        )
        if is_open:
            # Handled by handlers.meetings (the moderator side), which re-checks the role.
            rows.append(
                [
                    InlineKeyboardButton(
                        texts.get(language, "schedule.button-edit"),
                        callback_data=f"mtg:edit:{meeting.id}",
                    ),
                    InlineKeyboardButton(
                        texts.get(language, "schedule.button-cancel"),
                        callback_data=f"mtg:cancel:{meeting.id}",
                    ),
                ]
            )
    return body, InlineKeyboardMarkup(rows)


def _is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == Chat.PRIVATE


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
        moderator_tools=_is_private(update),
    )
    chat = update.effective_chat
    if chat is None:
        return
    await context.bot.send_message(chat.id, body, reply_markup=markup)


def _page_text(page: SchedulePage, language: Language, texts: Texts, zone: ZoneInfo) -> Html:
    if page.scope == "mine":
        header = texts.get(language, "schedule.header-mine")
    elif page.scope == "all":
        header = texts.get(language, "schedule.header-all")
    else:
        name = page.team.name(language) if page.team is not None else ""
        header = texts.get(language, "schedule.header-team", team=name)
    lines: list[str] = [header]
    if not page.items:
        if page.page > 0:
            lines.append(texts.get(language, "schedule.page-empty"))
        elif page.scope == "mine" and page.subscribed == 0:
            lines.append(texts.get(language, "schedule.no-sectors"))
        elif page.scope == "mine":
            lines.append(texts.get(language, "schedule.empty-mine"))
        else:
            lines.append(texts.get(language, "schedule.empty"))
        return Html("\n\n".join(lines))
    for number, item in enumerate(page.items, start=page.page * schedule_service.PAGE_SIZE + 1):
        mark = ""
        if item.mine is not None:
            mark = " ⏳" if item.mine.waiting else " " + _MARKS[item.mine.answer]
        lines.append(
            texts.get(
                language,
                "schedule.line",
                number=number,
                title=item.meeting.title,
                when=local_when(item.meeting.starts_at, language, zone),
                team=item.team.name(language),
            )
            + mark
        )
    lines.append(texts.get(language, "schedule.open-hint"))
    return Html("\n\n".join(lines))


def _page_keyboard(
    page: SchedulePage, language: Language, texts: Texts, bot_username: str
) -> InlineKeyboardMarkup:
    rows = []
    first = page.page * schedule_service.PAGE_SIZE + 1
    for number, item in enumerate(page.items, start=first):
        label = f"{number}. {_short(item.meeting.title)}"
        rows.append([InlineKeyboardButton(label, callback_data=f"sched:open:{item.meeting.id}")])
    if page.scope in ("mine", "all"):
        prefix = f"sched:page:{page.scope}"
    else:
        prefix = f"sched:team:{page.scope}"
    nav = []
    if page.page > 0:
        nav.append(InlineKeyboardButton("‹", callback_data=f"{prefix}:{page.page - 1}"))
    if page.has_next:
        nav.append(InlineKeyboardButton("›", callback_data=f"{prefix}:{page.page + 1}"))
    if nav:
        rows.append(nav)
    if page.scope == "mine":
        toggle = ("schedule.show-all", "sched:page:all:0")
    else:
        toggle = ("schedule.show-mine", "sched:page:mine:0")
    rows.append([InlineKeyboardButton(texts.get(language, toggle[0]), callback_data=toggle[1])])
    if page.team is not None:
        # A sector's own schedule is its card: submit a postulate to it from here (the deep
        # link opens /postulate with the sector chosen).
        link = f"https://t.me/{bot_username}?start=postulate-{page.team.slug}"
        rows.append(
            [InlineKeyboardButton(texts.get(language, "schedule.button-postulate"), url=link)]
        )
    return InlineKeyboardMarkup(rows)


# Rendered pages by everything they show: many members see the same page (the same sectors,
# no answers yet), and drawing it (texts, dates, buttons) cost more than the database read.
_RENDERED: dict[tuple[object, ...], tuple[Html, InlineKeyboardMarkup]] = {}
RENDERED_PAGES = 512


def _render_page(
    page: SchedulePage, language: Language, texts: Texts, zone: ZoneInfo, bot_username: str
) -> tuple[Html, InlineKeyboardMarkup]:
    """The page's text and keyboard, drawn once per language and data version."""
    team = page.team
    key = (
        language,
        texts,
        zone,
        bot_username,
        page.scope,
        None if team is None else (team.slug, team.name(language)),
        page.page,
        page.has_next,
        page.subscribed,
        tuple(
            (
                item.meeting.id,
                item.meeting.title,
                item.meeting.starts_at,
                item.team.name(language),
                None if item.mine is None else (item.mine.waiting, item.mine.answer),
            )
            for item in page.items
        ),
    )
    drawn = _RENDERED.get(key)
    if drawn is None:
        drawn = (
            _page_text(page, language, texts, zone),
            _page_keyboard(page, language, texts, bot_username),
        )
        if len(_RENDERED) >= RENDERED_PAGES:
            del _RENDERED[next(iter(_RENDERED))]  # the oldest
        _RENDERED[key] = drawn
    return drawn


async def _load_page(
    update: Update, context: Ctx, scope: schedule_service.Scope, number: int
) -> SchedulePage | None:
    actor = require_actor(context)
    deps = context.deps
    try:
        return await schedule_service.upcoming_page(
            deps.db,
            user_id=actor.user_id,
            scope=scope,
            page=number,
            moderates=actor.moderates,
            notice_version=deps.config.privacy.notice_version,
            now=deps.clock(),
        )
    except ConsentRequired:
        if update.callback_query is not None:
            await update.callback_query.answer(
                text(context, "error.consent-required"), show_alert=True
            )
        else:
            await reply(update, text(context, "error.consent-required"))
        return None


async def show_meetings(update: Update, context: Ctx) -> None:
    """/meetings: the upcoming meetings of my sector teams, 5 a page."""
    page = await _load_page(update, context, "mine", 0)
    if page is None:
        return
    deps = context.deps
    body, keyboard = _render_page(
        page, require_actor(context).language, deps.texts, deps.config.zone, context.bot.username
    )
    await reply(update, body, keyboard)


async def turn_page(update: Update, context: Ctx) -> None:
    """‹ › and the mine/all toggle: redraw the list in place."""
    query = require_query(update)
    data = query.data or ""
    scope: schedule_service.Scope
    page_match = PAGE.fullmatch(data)
    team_ids = callback_ints(data, TEAM_PAGE)
    if page_match is not None:
        scope = "mine" if page_match.group(1) == "mine" else "all"
        number = int(page_match.group(2))
    elif team_ids is not None:
        scope, number = team_ids
    else:
        await answer_stale(update, context)
        return
    try:
        page = await _load_page(update, context, scope, number)
    except UnknownSector:
        await answer_stale(update, context)
        return
    if page is None:
        return
    await query.answer()
    language = require_actor(context).language
    texts = context.deps.texts
    try:
        await query.edit_message_text(
            _page_text(page, language, texts, context.deps.config.zone),
            reply_markup=_page_keyboard(page, language, texts, context.bot.username),
        )
    except BadRequest as exc:
        if "not modified" not in exc.message:
            raise


async def _team_schedule(update: Update, context: Ctx, team_id: int) -> None:
    try:
        page = await _load_page(update, context, team_id, 0)
    except UnknownSector:
        await reply(update, text(context, "error.unknown-sector"))
        return
    if page is None:
        return
    language = require_actor(context).language
    texts = context.deps.texts
    await reply(
        update,
        _page_text(page, language, texts, context.deps.config.zone),
        _page_keyboard(page, language, texts, context.bot.username),
    )


async def _sector_buttons(update: Update, context: Ctx, intro_key: str) -> None:
    actor = require_actor(context)
    teams = await schedule_service.sector_teams(context.deps.db)
    rows = [
        [InlineKeyboardButton(team.name(actor.language), callback_data=f"sched:team:{team.id}:0")]
        for team in teams
    ]
    await reply(update, text(context, intro_key), InlineKeyboardMarkup(rows))


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
    """/meeting <id>: one meeting's card."""
    args = context.args or []
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
    ids = callback_ints(query.data, OPEN)
    if ids is None:
        await answer_stale(update, context)
        return
    actor = require_actor(context)
    view = await schedule_service.meeting_view(
        context.deps.db, user_id=actor.user_id, meeting_id=ids[0], moderates=actor.moderates
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
    app.add_handler(CallbackQueryHandler(open_meeting, pattern=r"^sched:open:"))
    app.add_handler(PersonalButton(turn_page, pattern=r"^sched:(page|team):"))
