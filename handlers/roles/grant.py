"""Roles: /grant (sector, then a forwarded message or a one-time invite link) and the invite
deep link `/start mod-<token>`."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import IntEnum

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageOriginHiddenUser,
    MessageOriginUser,
    Update,
)
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import datefmt
from bot.context import Ctx
from bot.errors import DomainError, NotAllowed
from bot.i18n import Html
from bot.services import roles as service
from handlers import flow
from handlers import start as start_handlers
from handlers.common import (
    PRIVATE,
    answer_stale,
    button,
    is_consented,
    problem,
    refuse,
    reply,
    require_actor,
    require_message,
    require_query,
    say,
    text,
)
from handlers.flow import Flow
from handlers.prompts import Prompted, joined, show
from handlers.roles.people import person
from handlers.views.roles import Accept, GrantSector, Invite
from storage.models import Team

TIMEOUT = timedelta(minutes=15)
END = flow.END
INVITE_LINK = re.compile(rf"{service.INVITE_PREFIX}({service.TOKEN_PATTERN})")


class Step(IntEnum):
    SECTOR = 1
    PERSON = 2


class GrantState(Prompted):
    """Where /grant stands: the sector team chosen (state kept by handlers/flow)."""

    team_id: int | None = None


def _chosen_sector(context: Ctx) -> int | None:
    return flow.state(context, GrantState).team_id


# ---------------------------------------------------------------- /grant


async def grant_start(update: Update, context: Ctx) -> int:
    """/grant [sector]: admins only; the sector team named, else chosen by a button."""
    require_actor(context)
    if not is_consented(context):
        await reply(update, text(context, "error.consent-required"))
        return END
    if context.args:
        return await _sector_typed(update, context, " ".join(context.args), END)
    try:
        await _ask_sector(update, context)
    except DomainError as error:
        await refuse(update, context, error)
        return END
    return Step.SECTOR


async def _ask_sector(update: Update, context: Ctx, before: str = "") -> None:
    """The sector question with a button per sector, after `before` (an error)."""
    actor = require_actor(context)
    teams = await service.grantable_sectors(context.deps.db, actor)
    rows = [
        [InlineKeyboardButton(team.name(actor.language), callback_data=GrantSector(team.id).pack())]
        for team in teams
    ]
    body = joined(before, text(context, "roles.grant-ask-sector"))
    await show(update, context, flow.state(context, GrantState), body, InlineKeyboardMarkup(rows))


def _ask_person(context: Ctx, team: Team) -> tuple[Html, InlineKeyboardMarkup]:
    flow.state(context, GrantState).team_id = team.id
    markup = InlineKeyboardMarkup([[button(context, "roles.button-invite", Invite(team.id))]])
    body = text(
        context, "roles.grant-ask-person", sector=team.name(require_actor(context).language)
    )
    return body, markup


async def on_sector(update: Update, context: Ctx) -> int:
    """The sector button, re-checked: the picker becomes the question for the person."""
    query = require_query(update)
    press = GrantSector.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return Step.SECTOR
    try:
        team = await service.choose_sector(context.deps.db, require_actor(context), press.team_id)
    except DomainError as error:
        await refuse(update, context, error)
        return END if isinstance(error, NotAllowed) else Step.SECTOR
    await query.answer()
    body, markup = _ask_person(context, team)
    await show(update, context, flow.state(context, GrantState), body, markup)
    return Step.PERSON


async def sector_typed(update: Update, context: Ctx) -> int:
    """The sector's name typed instead of pressed."""
    return await _sector_typed(update, context, require_message(update).text or "", Step.SECTOR)


async def _sector_typed(update: Update, context: Ctx, typed: str, unknown: int) -> int:
    try:
        team = await service.choose_sector_named(context.deps.db, require_actor(context), typed)
    except NotAllowed as error:
        await refuse(update, context, error)
        return END
    except DomainError as error:
        if unknown == END:  # `/grant name`: no question on screen yet, the error says it all
            await refuse(update, context, error)
            return END
        # One message: what was wrong and the question again; the old one loses its buttons.
        await _ask_sector(update, context, problem(context, error))
        return unknown
    body, markup = _ask_person(context, team)
    await show(update, context, flow.state(context, GrantState), body, markup)
    return Step.PERSON


async def on_forward(update: Update, context: Ctx) -> int:
    """A forwarded message names the person (if their privacy settings allow it)."""
    message = require_message(update)
    origin = message.forward_origin
    team_id = _chosen_sector(context)
    if team_id is None:
        await reply(update, text(context, "roles.grant-cancelled"))
        return END
    if isinstance(origin, MessageOriginHiddenUser):
        await _ask_invite_instead(update, context, "roles.forward-hidden", team_id)
        return Step.PERSON
    if not isinstance(origin, MessageOriginUser) or origin.sender_user.is_bot:
        await _ask_invite_instead(update, context, "roles.forward-not-person", team_id)
        return Step.PERSON
    user = origin.sender_user
    name = user.full_name + (f" (@{user.username})" if user.username else "")
    deps = context.deps
    try:
        granted = await service.grant(
            deps.db,
            require_actor(context),
            team_id,
            user.id,
            display_name=name,
            now=deps.clock(),
        )
    except (service.NeverUsedBot, service.NotConsentedYet) as error:
        await _ask_invite_instead(update, context, error.key, team_id)
        return Step.PERSON
    except DomainError as error:
        await refuse(update, context, error)
        return END
    language = require_actor(context).language
    await show(
        update,
        context,
        flow.state(context, GrantState),
        text(
            context,
            "roles.granted",
            name=person(context, granted.user_id, granted.name, granted.display_name),
            sector=granted.team.name(language),
        ),
    )
    return END


async def _ask_invite_instead(update: Update, context: Ctx, key: str, team_id: int) -> None:
    markup = InlineKeyboardMarkup([[button(context, "roles.button-invite", Invite(team_id))]])
    await show(update, context, flow.state(context, GrantState), text(context, key), markup)


async def not_forwarded(update: Update, context: Ctx) -> int:
    """Typed text instead of a forwarded message."""
    team_id = _chosen_sector(context)
    if team_id is None:
        return END
    await _ask_invite_instead(update, context, "roles.forward-expected", team_id)
    return Step.PERSON


async def on_invite(update: Update, context: Ctx) -> int:
    """The invite button (in /grant or an older one): a fresh one-time link."""
    query = require_query(update)
    press = Invite.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return END
    deps = context.deps
    actor = require_actor(context)
    try:
        invite = await service.create_invite(deps.db, actor, press.team_id, now=deps.clock())
    except DomainError as error:
        await refuse(update, context, error)
        return END
    await query.answer()  # before the edit: the link is new each time, never "not modified"
    link = f"https://t.me/{context.bot.username}?start={invite.payload}"
    body = text(
        context,
        "roles.invite-created",
        sector=invite.team.name(actor.language),
        **datefmt.phrases(invite.expires_at, actor.language, deps.config.zone),
        link=link,
    )
    await show(update, context, flow.state(context, GrantState), body)
    return END


async def grant_cancel(update: Update, context: Ctx) -> int:
    """/cancel: nothing is granted."""
    cancelled = text(context, "roles.grant-cancelled")
    await show(update, context, flow.state(context, GrantState), cancelled)
    return END


def grant_flow() -> Flow:
    """The /grant conversation."""
    typed = filters.UpdateType.MESSAGE & ~filters.COMMAND
    return Flow(
        name="grant",
        model=GrantState,
        commands=("grant",),
        entry_points=[CommandHandler("grant", grant_start, PRIVATE)],
        steps={
            Step.SECTOR: [
                CallbackQueryHandler(on_sector, pattern=GrantSector.pattern()),
                MessageHandler(typed, sector_typed),
            ],
            Step.PERSON: [
                CallbackQueryHandler(on_invite, pattern=Invite.pattern()),
                MessageHandler(typed & filters.FORWARDED, on_forward),
                MessageHandler(typed, not_forwarded),
            ],
        },
        cancel=grant_cancel,
        timeout=TIMEOUT,
        expired_key="roles.grant-timeout",
    )


async def invite_button(update: Update, context: Ctx) -> None:
    """An invite button outside /grant (an older message): still checked and served."""
    await on_invite(update, context)


# ---------------------------------------------------------------- the invite deep link


async def start_invite_link(update: Update, context: Ctx) -> None:
    """/start mod-<token>: which sector it grants, and an Accept button (consent first)."""
    match = INVITE_LINK.fullmatch((context.args or [""])[0])
    if match is None:
        await reply(update, text(context, service.InviteInvalid.key))
        return
    token = match.group(1)
    deps = context.deps
    actor = require_actor(context)
    try:
        preview = await service.invite_preview(deps.db, token, now=deps.clock())
    except DomainError as error:
        await refuse(update, context, error)
        return
    if not is_consented(context):
        # Greeting and the consent button first; Accept works once consent is given.
        await start_handlers.start(update, context)
    markup = InlineKeyboardMarkup([[button(context, "roles.button-accept", Accept(token))]])
    body = text(
        context,
        "roles.invite-preview",
        sector=preview.team.name(actor.language),
        **datefmt.phrases(preview.expires_at, actor.language, deps.config.zone),
    )
    await reply(update, body, markup)


async def on_accept(update: Update, context: Ctx) -> None:
    """Accept: the invite is used up and the role granted, or the reason it cannot be."""
    query = require_query(update)
    press = Accept.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    deps = context.deps
    actor = require_actor(context)
    user = update.effective_user
    name = None
    if user is not None:
        name = user.full_name + (f" (@{user.username})" if user.username else "")
    try:
        granted = await service.accept_invite(
            deps.db,
            actor,
            press.token,
            display_name=name,
            notice_version=deps.config.privacy.notice_version,
            now=deps.clock(),
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    await query.answer()
    await query.edit_message_reply_markup(reply_markup=None)
    await say(
        update,
        text(context, "roles.invite-accepted", sector=granted.team.name(actor.language)),
    )
