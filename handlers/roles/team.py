"""Roles: /revoke (a picker of moderators, a confirmation in its place) and /team."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.context import Ctx
from bot.errors import DomainError
from bot.i18n import Html
from bot.services import roles as service
from handlers.common import (
    answer_stale,
    button,
    refuse,
    reply,
    require_actor,
    require_query,
    text,
)
from handlers.roles.people import label, person
from handlers.views.roles import Keep, Revoke, RevokeYes

# ---------------------------------------------------------------- /revoke, /team


async def revoke_start(update: Update, context: Ctx) -> None:
    """/revoke: every moderator role as a button (admins only)."""
    actor = require_actor(context)
    try:
        view = await service.revocable_roles(context.deps.db, actor)
    except DomainError as error:
        await refuse(update, context, error)
        return
    rows = [
        [
            button(
                context,
                "roles.revoke-button",
                Revoke(sector.team.id, moderator.user_id),
                sector=sector.team.name(actor.language),
                name=label(
                    context,
                    moderator.user_id,
                    view.names.get(moderator.user_id),
                    moderator.display_name,
                ),
            )
        ]
        for sector in view.sectors
        for moderator in sector.moderators
    ]
    if not rows:
        await reply(update, text(context, "roles.revoke-none"))
        return
    await reply(update, text(context, "roles.revoke-ask"), InlineKeyboardMarkup(rows))


async def on_revoke(update: Update, context: Ctx) -> None:
    """A person in the picker: the picker itself becomes the confirmation, so pressing
    twice (or on an old picker) never stacks confirmations."""
    query = require_query(update)
    press = Revoke.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    actor = require_actor(context)
    try:
        role = await service.revocable(context.deps.db, actor, press.team_id, press.user_id)
    except DomainError as error:
        await refuse(update, context, error)
        return
    markup = InlineKeyboardMarkup(
        [
            [button(context, "roles.button-revoke-yes", RevokeYes(role.team.id, role.user_id))],
            [button(context, "roles.button-keep", Keep())],
        ]
    )
    body = text(
        context,
        "roles.revoke-confirm",
        name=person(context, role.user_id, role.name, role.display_name),
        sector=role.team.name(actor.language),
    )
    # Edited before the answer: a repeated press is "not modified", which the error handler
    # answers, and a press is answered only once.
    await query.edit_message_text(body, reply_markup=markup)
    await query.answer()


async def on_revoke_yes(update: Update, context: Ctx) -> None:
    """Confirmed: the role goes at once; the person is told; the confirmation shows it."""
    query = require_query(update)
    press = RevokeYes.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    deps = context.deps
    actor = require_actor(context)
    try:
        revoked = await service.revoke(
            deps.db, actor, press.team_id, press.user_id, now=deps.clock()
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    body = text(
        context,
        "roles.revoked",
        name=person(context, revoked.user_id, revoked.name, revoked.display_name),
        sector=revoked.team.name(actor.language),
    )
    if revoked.cancelled_broadcasts:
        cancelled = deps.texts.plural(
            actor.language, "roles.revoked-broadcasts", revoked.cancelled_broadcasts
        )
        body = Html(f"{body}\n\n{cancelled}")
    await query.edit_message_text(body, reply_markup=None)
    await query.answer()


async def on_keep(update: Update, context: Ctx) -> None:
    """Not confirmed: the confirmation says nothing changed."""
    query = require_query(update)
    if Keep.parse(query.data) is None:
        await answer_stale(update, context)
        return
    await query.edit_message_text(text(context, "roles.kept"), reply_markup=None)
    await query.answer()


async def show_team(update: Update, context: Ctx) -> None:
    """/team: the admins and each sector team's moderators."""
    actor = require_actor(context)
    try:
        view = await service.team_view(context.deps.db, actor)
    except DomainError:
        await reply(update, text(context, "roles.moderators-only"))
        return
    nobody = text(context, "roles.team-nobody")
    lines = [
        text(context, "roles.team-title"),
        text(
            context,
            "roles.team-admins",
            admins=Html(
                ", ".join(person(context, i, view.names.get(i)) for i in view.admin_ids) or nobody
            ),
        ),
        "",
    ]
    for sector in view.sectors:
        names = ", ".join(
            person(context, m.user_id, view.names.get(m.user_id), m.display_name)
            for m in sector.moderators
        )
        lines.append(
            text(
                context,
                "roles.team-sector",
                sector=sector.team.name(actor.language),
                moderators=Html(names or nobody),
            )
        )
    await reply(update, "\n".join(lines))
