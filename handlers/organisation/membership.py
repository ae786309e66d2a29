"""Organisation: stopping to represent an NGO, and deciding on requests to join it."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import Ctx
from bot.errors import DomainError
from bot.i18n import Html
from bot.services import organisations as service
from bot.services.organisations import (
    NotRepresenting,
    Request,
)
from handlers import views
from handlers.callbacks import Callback
from handlers.common import (
    answer_stale,
    refuse,
    reply,
    require_actor,
    require_query,
    text,
)
from handlers.organisation import buttons
from handlers.views.organisations import DecideButton

# Long enough to look a number up in the register, short enough not to surprise the user later.


def button(context: Ctx, key: str, press: Callback) -> list[InlineKeyboardButton]:
    """A one-button row labelled with a text in the actor's language."""
    return [InlineKeyboardButton(text(context, key), callback_data=press.pack())]


async def ask_leave(update: Update, context: Ctx) -> None:
    """Ask to confirm stopping to represent the organisation."""
    query = require_query(update)
    press = buttons.Leave.parse(query.data)
    card = await service.my_organisation(context.deps.db, require_actor(context).user_id)
    if press is None or card is None or card.organisation.id != press.organisation_id:
        await answer_stale(update, context)
        return
    organisation_id = press.organisation_id
    await query.answer()
    markup = InlineKeyboardMarkup(
        [
            button(context, "organisation.button-leave-yes", buttons.LeaveYes(organisation_id)),
            button(context, "organisation.button-leave-no", buttons.LeaveNo()),
        ]
    )
    key = (
        "organisation.leave-confirm"
        if card.state == "accepted"
        else "organisation.withdraw-confirm"
    )
    await reply(update, text(context, key, name=card.organisation.name), markup)


async def leave(update: Update, context: Ctx) -> None:
    """Stop representing the organisation the confirmation named."""
    query = require_query(update)
    press = buttons.LeaveYes.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    try:
        organisation = await service.stop_representing(
            context.deps.db,
            require_actor(context).user_id,
            press.organisation_id,
            context.deps.clock(),
        )
    except NotRepresenting as exc:
        await query.answer(text(context, exc.key), show_alert=True)
        return
    await query.answer()
    await query.edit_message_text(text(context, "organisation.left", name=organisation.name))


async def keep_representing(update: Update, context: Ctx) -> None:
    """The confirmation's No: nothing changes."""
    query = require_query(update)
    await query.answer()
    await query.edit_message_text(text(context, "organisation.leave-kept"))


# Requests to represent an organisation (outside the conversation)


def _request_text(context: Ctx, request: Request) -> Html:
    """The request as the decider saw it, with its state now."""
    actor = require_actor(context)
    notice = views.organisations.request_message(context.deps.texts, actor.language, request)
    state = text(
        context,
        f"organisation.request-state-{request.representative.state}",
        name=request.organisation.name,
    )
    return Html(notice.text + "\n\n" + state)


async def offer_requests(update: Update, context: Ctx) -> None:
    """For an admin: say how many requests wait, with a button to list them."""
    pending = await service.pending_requests(context.deps.db, require_actor(context))
    if pending.total:
        count = context.deps.texts.plural(
            require_actor(context).language, "organisation.requests-waiting", pending.total
        )
        markup = InlineKeyboardMarkup(
            [button(context, "organisation.button-requests", buttons.Requests())]
        )
        await reply(update, count, markup)


async def list_requests(update: Update, context: Ctx) -> None:
    """For an admin: each waiting request as its own message with Accept / Decline."""
    query = require_query(update)
    try:
        pending = await service.pending_requests(context.deps.db, require_actor(context))
    except DomainError as error:
        await refuse(update, context, error)
        return
    await query.answer()
    if not pending.requests:
        await query.edit_message_text(text(context, "organisation.requests-none"))
        return
    language = require_actor(context).language
    for request in pending.requests:
        message = views.organisations.request_message(context.deps.texts, language, request)
        await reply(update, message.text, message.markup)


async def decide(update: Update, context: Ctx) -> None:
    """Accept or Decline on a request: decide it, or show how it was already decided."""
    query = require_query(update)
    press = DecideButton.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    deps = context.deps
    try:
        decision = await service.decide(
            deps.db,
            require_actor(context),
            press.representative_id,
            press.decision == "accept",
            deps.clock(),
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    # A late or repeated press is quiet: the message just shows how things stand.
    await query.answer(None if decision.changed else text(context, "organisation.already-decided"))
    await query.edit_message_text(_request_text(context, decision.request))
