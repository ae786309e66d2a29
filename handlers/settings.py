"""Notification settings: /settings with buttons `set:...` that edit the message in place."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CommandHandler

from bot.context import App, Ctx
from bot.errors import DomainError, StaleButton
from bot.services import settings as settings_service
from bot.services.settings import SettingsView
from handlers.common import (
    PRIVATE,
    PersonalButton,
    answer_stale,
    is_consented,
    refuse,
    reply,
    require_actor,
    require_query,
    text,
)
from handlers.views.settings import (
    Lead,
    Menu,
    Mute,
    QuietEnd,
    QuietStart,
    hhmm,
    hours_keyboard,
    settings_keyboard,
    settings_text,
)


async def show_settings(update: Update, context: Ctx) -> None:
    """Show the notification settings with their buttons."""
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
    except DomainError as error:
        await refuse(update, context, error)
        return
    digest_hour = deps.config.notifications.digest_hour
    await reply(
        update,
        settings_text(view, actor.language, deps.texts, digest_hour),
        settings_keyboard(view, actor.language, deps.texts),
    )


async def _edit(update: Update, body: str, markup: InlineKeyboardMarkup) -> None:
    try:
        await require_query(update).edit_message_text(body, reply_markup=markup)
    except BadRequest as exc:
        # A double press renders the same message twice; Telegram refuses the no-op edit.
        if "not modified" not in exc.message:
            raise


async def _allowed(update: Update, context: Ctx) -> bool:
    """A current consent, else the press is answered and nothing changes (presses are private)."""
    if not is_consented(context):
        await require_query(update).answer(text(context, "error.consent-required"), show_alert=True)
        return False
    return True


async def on_quiet_start(update: Update, context: Ctx) -> None:
    """`set:quiet` shows the hours to start the window; `set:qs:<h>` the hours to end it."""
    if not await _allowed(update, context):
        return
    query = require_query(update)
    language = require_actor(context).language
    texts = context.deps.texts
    # Choosing the window: nothing is stored until its end is chosen.
    start = QuietStart.parse(query.data)
    if start is None:
        await query.answer()
        await _edit(
            update, texts.get(language, "settings.quiet-start"), hours_keyboard(language, texts)
        )
        return
    if start.hour >= 24:
        await answer_stale(update, context)
        return
    await query.answer()
    body = texts.get(language, "settings.quiet-end", start=hhmm(start.hour * 60))
    await _edit(update, body, hours_keyboard(language, texts, start.hour))


async def _changed(update: Update, context: Ctx, data: object) -> SettingsView:
    """Apply the pressed button's change (the service re-checks it) and return the view."""
    actor = require_actor(context)
    deps = context.deps
    db, user = deps.db, actor.user_id
    leads = deps.config.meetings.reminder_minutes
    version = deps.config.privacy.notice_version
    now = deps.clock()
    if (menu := Menu.parse(data)) is not None and menu.action != "quiet":
        if menu.action == "main":
            return await settings_service.settings_view(db, user, leads, version)
        if menu.action == "digest":
            return await settings_service.toggle_digest(db, user, leads, version, now)
        return await settings_service.set_quiet(db, user, None, leads, version, now)
    if (window := QuietEnd.parse(data)) is not None:
        minutes = (window.start * 60, window.end * 60)
        return await settings_service.set_quiet(db, user, minutes, leads, version, now)
    if (mute := Mute.parse(data)) is not None:
        return await settings_service.toggle_mute(db, user, mute.team_id, leads, version, now)
    if (lead := Lead.parse(data)) is not None:
        return await settings_service.toggle_lead(db, user, lead.minutes, leads, version, now)
    raise StaleButton()


async def on_change(update: Update, context: Ctx) -> None:
    """A `set:` button that changes one setting: change it, redraw the summary."""
    if not await _allowed(update, context):
        return
    query = require_query(update)
    try:
        view = await _changed(update, context, query.data)
    except DomainError as error:
        await refuse(update, context, error)
        return
    await query.answer(
        None if query.data == Menu("main").pack() else text(context, "settings.saved")
    )
    actor = require_actor(context)
    deps = context.deps
    digest_hour = deps.config.notifications.digest_hour
    await _edit(
        update,
        settings_text(view, actor.language, deps.texts, digest_hour),
        settings_keyboard(view, actor.language, deps.texts),
    )


def register(app: App) -> None:
    """Install /settings and its buttons."""
    app.add_handler(CommandHandler("settings", show_settings, PRIVATE))
    # Before Menu's: choosing hours changes nothing yet, so `set:quiet` is not a change.
    app.add_handler(PersonalButton(on_quiet_start, pattern=f"^{Menu('quiet').pack()}$"))
    app.add_handler(PersonalButton(on_quiet_start, pattern=QuietStart.pattern()))
    for changing in (Menu, QuietEnd, Mute, Lead):
        app.add_handler(PersonalButton(on_change, pattern=changing.pattern()))
