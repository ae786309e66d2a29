"""Onboarding: /start (with deep links `sector-<slug>`), the consent button."""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler

from bot.context import App, Ctx
from bot.errors import UnknownSector
from bot.services import sectors as sectors_service
from bot.services import users as users_service
from handlers.callbacks import Slug
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
from handlers.privacy import consent_prompt
from handlers.views.sectors import Consent, ConsentToSector, sectors_keyboard, sectors_text

SECTOR_LINK = re.compile(r"sector-([a-z][a-z0-9-]{0,39})")


def _sector_slug(args: list[str] | None) -> str | None:
    match = SECTOR_LINK.fullmatch(args[0]) if args else None
    return match.group(1) if match else None


async def start(update: Update, context: Ctx) -> None:
    """Greet, ask for consent once, then offer the sector teams."""
    actor = require_actor(context)
    deps = context.deps
    slug = _sector_slug(context.args)
    if not is_consented(context):
        await users_service.register_contact(deps.db, actor.user_id, actor.language, deps.clock())
        callback = ConsentToSector(Slug(slug)).pack() if slug else Consent().pack()
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(text(context, "button.consent"), callback_data=callback)]]
        )
        # A returning user whose consent predates the current notice is told it changed.
        await reply(update, consent_prompt(context), markup)
        return
    if slug is not None:
        await _subscribe_and_show(update, context, slug)
        return
    view = await sectors_service.sectors_view(deps.db, actor.user_id)
    body = (
        text(context, "start.welcome-back")
        + "\n\n"
        + sectors_text(view, actor.language, deps.texts)
    )
    await reply(update, body, sectors_keyboard(view, actor.language, deps.texts))


async def _subscribe_and_show(update: Update, context: Ctx, slug: str) -> None:
    actor = require_actor(context)
    deps = context.deps
    try:
        outcome = await sectors_service.subscribe_by_slug(
            deps.db, actor.user_id, slug, deps.config.privacy.notice_version, deps.clock()
        )
    except UnknownSector:
        view = await sectors_service.sectors_view(deps.db, actor.user_id)
        body = (
            text(context, "error.unknown-sector")
            + "\n\n"
            + sectors_text(view, actor.language, deps.texts)
        )
        await reply(update, body, sectors_keyboard(view, actor.language, deps.texts))
        return
    key = "sectors.subscribed" if outcome.added else "sectors.already-subscribed"
    body = text(context, key, name=outcome.team.name(actor.language))
    await reply(update, body, sectors_keyboard(outcome.view, actor.language, deps.texts))


async def consent(update: Update, context: Ctx) -> None:
    """Record consent from the button, then show the sector teams."""
    query = require_query(update)
    press = Consent.parse(query.data) or ConsentToSector.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    if is_consented(context):
        # A second press of the same button: consent stands, the teams are shown already.
        await query.answer()
        await query.edit_message_reply_markup(reply_markup=None)
        return
    actor = require_actor(context)
    deps = context.deps
    outcome = await sectors_service.give_consent(
        deps.db,
        actor.user_id,
        actor.language,
        deps.config.privacy.notice_version,
        deps.clock(),
        subscribe_slug=press.slug if isinstance(press, ConsentToSector) else None,
        name=users_service.clean_name(
            query.from_user.first_name, query.from_user.last_name, query.from_user.username
        ),
    )
    await query.answer()
    await query.edit_message_reply_markup(reply_markup=None)
    if outcome is not None:
        body = (
            text(context, "start.consent-thanks")
            + "\n\n"
            + text(context, "sectors.subscribed", name=outcome.team.name(actor.language))
        )
        view = outcome.view
    else:
        view = await sectors_service.sectors_view(deps.db, actor.user_id)
        body = (
            text(context, "start.consent-thanks")
            + "\n\n"
            + sectors_text(view, actor.language, deps.texts)
        )
    await context.bot.send_message(
        actor.user_id,
        body,
        reply_markup=sectors_keyboard(view, actor.language, deps.texts),
    )


def register(app: App) -> None:
    """Install /start and the consent button."""
    app.add_handler(CommandHandler("start", start, PRIVATE))
    app.add_handler(PersonalButton(consent, pattern=Consent.pattern()))
    app.add_handler(PersonalButton(consent, pattern=ConsentToSector.pattern()))
