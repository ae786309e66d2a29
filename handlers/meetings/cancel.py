"""Meetings, moderator side: /cancel_meeting [number], its picker's and the cards' Cancel
buttons: the card and a confirmation, then the meeting (or the rest of its series) cancelled."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.context import Ctx
from bot.errors import DomainError
from bot.services import meetings as service
from bot.services.meetings import Scope
from handlers.common import answer_stale, button, refuse, reply, require_actor, require_query, text
from handlers.meetings.pickers import (
    PickCancel,
    card,
    managed_meeting,
    picker,
    pressed_id,
    typed_id,
)
from handlers.meetings.steps import CancelOneButton, CancelSeriesButton, KeepButton
from handlers.prompts import joined


async def ask_cancel(update: Update, context: Ctx) -> None:
    """/cancel_meeting [number], a picker's or a card's Cancel button: the card and a
    confirmation."""
    if update.callback_query is None:
        meeting_id = typed_id(context)
        if meeting_id is None:
            if context.args:
                await reply(update, text(context, "meetings.cancel-usage"))
            else:
                await picker(update, context, "meetings.pick-cancel", PickCancel)
            return
    else:
        meeting_id = pressed_id(update)
        if meeting_id is None:
            await answer_stale(update, context)
            return
    managed = await managed_meeting(update, context, meeting_id)
    if managed is None:
        return
    rows = [[button(context, "meetings.button-cancel-one", CancelOneButton(meeting_id))]]
    if managed.later_in_series:
        rows.append(
            [
                button(
                    context,
                    "meetings.button-cancel-series",
                    CancelSeriesButton(meeting_id),
                    count=managed.later_in_series + 1,
                )
            ]
        )
    rows.append([button(context, "meetings.button-keep", KeepButton())])
    body = joined(card(context, managed), text(context, "meetings.ask-cancel"))
    query = update.callback_query
    if query is not None and PickCancel.parse(query.data) is not None:
        # The picker becomes the question, so its other meetings' buttons go.
        await query.edit_message_text(body, reply_markup=InlineKeyboardMarkup(rows))
        return
    chat = update.effective_chat
    if query is not None and chat is not None:
        await chat.send_message(body, reply_markup=InlineKeyboardMarkup(rows))
    else:
        await reply(update, body, InlineKeyboardMarkup(rows))


async def confirm_cancel(update: Update, context: Ctx) -> None:
    """Cancel the meeting (or the rest of the series); rights re-checked by the service."""
    query = require_query(update)
    one, rest = CancelOneButton.parse(query.data), CancelSeriesButton.parse(query.data)
    press = one or rest
    if press is None:
        await answer_stale(update, context)
        return
    scope: Scope = "one" if one is not None else "series"
    deps = context.deps
    try:
        cancelled = await service.cancel(
            deps.db,
            require_actor(context),
            press.meeting_id,
            scope,
            now=deps.clock(),
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    deps.engine.wake()  # its notices leave now, not at the next interval
    await query.answer()
    language = require_actor(context).language
    await query.edit_message_text(
        deps.texts.plural(language, "meetings.cancelled", len(cancelled), id=cancelled[0].id),
    )


async def keep(update: Update, context: Ctx) -> None:
    """The confirmation's No: nothing changes."""
    query = require_query(update)
    await query.answer()
    await query.edit_message_text(text(context, "meetings.kept"))
