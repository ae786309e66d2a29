"""Meetings, moderator side: what /edit_meeting and /cancel_meeting share: the pickers of
upcoming meetings (the command without a number), which meeting a button or `/command <id>`
names, the rights re-checked, and the meeting's card above a question."""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import Ctx
from bot.errors import DomainError
from bot.i18n import Html
from bot.services import meetings as service
from bot.services.meetings import Managed
from handlers import views
from handlers.callbacks import Callback
from handlers.common import refuse, reply, require_actor, text
from handlers.meetings.steps import ack
from handlers.views.card import CancelMeeting, EditMeeting

ID_ARGUMENT = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class PickEdit(Callback, prefix="mtg:pick-edit"):
    """/edit_meeting's picker: the meeting to edit (its message becomes the form)."""

    meeting_id: int


@dataclass(frozen=True)
class PickCancel(Callback, prefix="mtg:pick-cancel"):
    """/cancel_meeting's picker: the meeting to cancel (its message becomes the question)."""

    meeting_id: int


async def picker(
    update: Update, context: Ctx, intro: str, press: type[PickEdit | PickCancel]
) -> None:
    """The upcoming meetings the actor may change, as buttons (the command without a number)."""
    actor = require_actor(context)
    deps = context.deps
    managed = await service.managed_meetings(deps.db, actor, deps.clock())
    if not managed:
        await reply(update, text(context, "meetings.pick-none"))
        return
    rows = [
        [
            InlineKeyboardButton(
                views.meetings.pick_label(item.meeting, actor.language, deps.config.zone),
                callback_data=press(item.meeting.id).pack(),
            )
        ]
        for item in managed
    ]
    await reply(update, text(context, intro), InlineKeyboardMarkup(rows))


def pressed_id(update: Update) -> int | None:
    """The meeting of a picker or card button, or of `/command <id>`."""
    query = update.callback_query
    if query is None:
        return None
    for kind in (PickEdit, PickCancel, EditMeeting, CancelMeeting):
        press = kind.parse(query.data)
        if press is not None:
            return press.meeting_id
    return None


async def managed_meeting(update: Update, context: Ctx, meeting_id: int) -> Managed | None:
    """Load the meeting, if the actor may change it (re-checked: buttons can be forged)."""
    deps = context.deps
    try:
        managed = await service.get_managed(
            deps.db, require_actor(context), meeting_id, deps.clock()
        )
    except DomainError as error:
        await refuse(update, context, error)
        return None
    await ack(update)
    return managed


def typed_id(context: Ctx) -> int | None:
    """The meeting number typed after the command, if that is all that was typed."""
    args = context.args or []
    if len(args) == 1 and ID_ARGUMENT.fullmatch(args[0]):
        return int(args[0])
    return None


def card(context: Ctx, managed: Managed) -> Html:
    """The meeting's card, shown above the question about it."""
    actor = require_actor(context)
    deps = context.deps
    return views.meetings.card_text(
        managed.meeting, managed.team, actor.language, deps.texts, deps.config.zone
    )
