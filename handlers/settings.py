"""Notification settings: /settings with buttons `set:...` that edit the message in place."""

from __future__ import annotations

import html
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.config import Language
from bot.context import App, Ctx
from bot.errors import ConsentRequired, StaleButton
from bot.i18n import Html, Texts
from bot.services import settings as settings_service
from bot.services.settings import SettingsView
from handlers.common import (
    answer_stale,
    is_consented,
    reply,
    require_actor,
    require_private,
    require_query,
    text,
)
from handlers.views.meetings import format_lead

MUTE = re.compile(r"set:mute:([0-9]{1,9})")
LEAD = re.compile(r"set:lead:([0-9]{1,6})")
QUIET_START = re.compile(r"set:qs:([0-9]{1,2})")
QUIET_END = re.compile(r"set:qe:([0-9]{1,2}):([0-9]{1,2})")
HOURS_PER_ROW = 6


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _label(texts: Texts, language: Language, key: str, **values: object) -> str:
    # Button labels are plain text: what the catalogue escaped is shown unescaped.
    return html.unescape(texts.get(language, key, **values))


def settings_text(view: SettingsView, language: Language, texts: Texts, digest_hour: int) -> Html:
    """The /settings summary."""
    lines = [texts.get(language, "settings.title")]
    lines.append(texts.get(language, "settings.sectors" if view.teams else "settings.sectors-none"))
    chosen = [lead for lead in view.leads if lead in view.leads_on]
    if chosen:
        leads = ", ".join(format_lead(lead, language, texts) for lead in chosen)
        lines.append(texts.get(language, "settings.reminders", leads=leads))
    else:
        lines.append(texts.get(language, "settings.reminders-none"))
    if view.quiet is None:
        lines.append(texts.get(language, "settings.quiet-off"))
    else:
        start, end = (_hhmm(value) for value in view.quiet)
        lines.append(texts.get(language, "settings.quiet-on", start=start, end=end))
    if view.digest:
        lines.append(texts.get(language, "settings.digest-on", hour=_hhmm(digest_hour * 60)))
    else:
        lines.append(texts.get(language, "settings.digest-off"))
    return Html("\n\n".join(lines))


def settings_keyboard(view: SettingsView, language: Language, texts: Texts) -> InlineKeyboardMarkup:
    """One toggle per subscribed sector and per lead time, then quiet hours and digest."""
    rows = []
    for team in view.teams:
        key = "settings.button-muted" if team.id in view.muted else "settings.button-unmuted"
        label = _label(texts, language, key, name=team.name(language))
        rows.append([InlineKeyboardButton(label, callback_data=f"set:mute:{team.id}")])
    leads = []
    for lead in view.leads:
        key = "settings.button-lead-on" if lead in view.leads_on else "settings.button-lead-off"
        label = _label(texts, language, key, lead=format_lead(lead, language, texts))
        leads.append(InlineKeyboardButton(label, callback_data=f"set:lead:{lead}"))
    if leads:
        rows.append(leads)
    quiet = _label(texts, language, "settings.button-quiet")
    rows.append([InlineKeyboardButton(quiet, callback_data="set:quiet")])
    key = "settings.button-digest-on" if view.digest else "settings.button-digest-off"
    rows.append([InlineKeyboardButton(_label(texts, language, key), callback_data="set:digest")])
    return InlineKeyboardMarkup(rows)


def _hours_keyboard(
    language: Language, texts: Texts, data: str, skip: int | None
) -> InlineKeyboardMarkup:
    hours = [
        InlineKeyboardButton(_hhmm(hour * 60), callback_data=data.format(hour=hour))
        for hour in range(24)
        if hour != skip
    ]
    rows = [hours[i : i + HOURS_PER_ROW] for i in range(0, len(hours), HOURS_PER_ROW)]
    rows.append(
        [
            InlineKeyboardButton(
                _label(texts, language, "settings.button-quiet-off"), callback_data="set:qoff"
            ),
            InlineKeyboardButton(
                _label(texts, language, "settings.button-back"), callback_data="set:main"
            ),
        ]
    )
    return InlineKeyboardMarkup(rows)


async def show_settings(update: Update, context: Ctx) -> None:
    """Show the notification settings with their buttons."""
    if not await require_private(update, context):
        return
    if not is_consented(context):
        await reply(update, text(context, "error.consent-required"))
        return
    actor = require_actor(context)
    deps = context.deps
    try:
        view = await settings_service.settings_view(
            deps.db,
            actor.user_id,
            deps.config.meetings.reminder_minutes,
            deps.config.privacy.notice_version,
        )
    except ConsentRequired:
        await reply(update, text(context, "error.consent-required"))
        return
    digest_hour = deps.config.notifications.digest_hour
    await reply(
        update,
        settings_text(view, actor.language, deps.texts, digest_hour),
        settings_keyboard(view, actor.language, deps.texts),
    )


async def _edit(update: Update, body: str, markup: InlineKeyboardMarkup) -> None:
    try:
        await require_query(update).edit_message_text(
            body, parse_mode=ParseMode.HTML, reply_markup=markup
        )
    except BadRequest as exc:
        # A double press renders the same message twice; Telegram refuses the no-op edit.
        if "not modified" not in exc.message:
            raise


def _ints(pattern: re.Pattern[str], data: str) -> tuple[int, ...] | None:
    match = pattern.fullmatch(data)
    return None if match is None else tuple(int(group) for group in match.groups())


async def on_button(update: Update, context: Ctx) -> None:
    """Every `set:` button: change one setting (re-checked in the service), redraw."""
    query = require_query(update)
    if not await require_private(update, context):
        return
    actor = require_actor(context)
    deps = context.deps
    language = actor.language
    data = query.data or ""
    leads = deps.config.meetings.reminder_minutes
    version = deps.config.privacy.notice_version
    now = deps.clock()
    db = deps.db
    if not is_consented(context):
        await query.answer(text(context, "error.consent-required"), show_alert=True)
        return
    if data == "set:quiet":
        # Choosing the window: nothing is stored until its end is chosen.
        await query.answer()
        body = deps.texts.get(language, "settings.quiet-start")
        await _edit(update, body, _hours_keyboard(language, deps.texts, "set:qs:{hour}", None))
        return
    start = _ints(QUIET_START, data)
    if start is not None:
        if start[0] >= 24:
            await answer_stale(update, context)
            return
        await query.answer()
        body = deps.texts.get(language, "settings.quiet-end", start=_hhmm(start[0] * 60))
        data_end = f"set:qe:{start[0]}:{{hour}}"
        await _edit(update, body, _hours_keyboard(language, deps.texts, data_end, start[0]))
        return
    try:
        if data == "set:main":
            view = await settings_service.settings_view(db, actor.user_id, leads, version)
        elif data == "set:digest":
            view = await settings_service.toggle_digest(
                db, actor.user_id, leads, version, now, deps.texts
            )
        elif data == "set:qoff":
            view = await settings_service.set_quiet(db, actor.user_id, None, leads, version, now)
        elif (window := _ints(QUIET_END, data)) is not None:
            minutes = (window[0] * 60, window[1] * 60)
            view = await settings_service.set_quiet(db, actor.user_id, minutes, leads, version, now)
        elif (team := _ints(MUTE, data)) is not None:
            view = await settings_service.toggle_mute(
                db, actor.user_id, team[0], leads, version, now
            )
        elif (lead := _ints(LEAD, data)) is not None:
            view = await settings_service.toggle_lead(
                db, actor.user_id, lead[0], leads, version, now
            )
        else:
            raise StaleButton()
    except StaleButton:
        await answer_stale(update, context)
        return
    except ConsentRequired:
        await query.answer(text(context, "error.consent-required"), show_alert=True)
        return
    await query.answer(None if data == "set:main" else text(context, "settings.saved"))
    digest_hour = deps.config.notifications.digest_hour
    await _edit(
        update,
        settings_text(view, language, deps.texts, digest_hour),
        settings_keyboard(view, language, deps.texts),
    )


def register(app: App) -> None:
    """Install /settings and its buttons."""
    app.add_handler(CommandHandler("settings", show_settings))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^set:"))
