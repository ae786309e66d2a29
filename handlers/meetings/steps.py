"""Meetings, moderator side: the steps, prompts and helpers /new_meeting and /edit_meeting share."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from datetime import timedelta
from enum import IntEnum
from typing import Any

from telegram import InlineKeyboardButton, Update
from telegram.ext import (
    BaseHandler,
    MessageHandler,
    filters,
)

from bot.context import Ctx
from bot.services import meetings as service
from bot.services.meetings import EditField
from handlers import flow
from handlers.common import (
    reply,
    say,
    text,
)

TIMEOUT = timedelta(minutes=30)
END = flow.END
SECTOR = re.compile(r"mtg:sector:([0-9]{1,18})")
ID_ARGUMENT = re.compile(r"[0-9]{1,18}")
EDIT = re.compile(r"mtg:edit:([0-9]{1,18})")
CANCEL = re.compile(r"mtg:cancel:([0-9]{1,18})")
CANCEL_YES = re.compile(r"mtg:cancel-(one|series):([0-9]{1,18})")
Callback = Callable[[Update, Ctx], Coroutine[Any, Any, int]]


class Step(IntEnum):
    SECTOR = 1
    TITLE = 2
    START = 3
    DURATION = 4
    PLACE = 5
    AGENDA = 6
    CAPACITY = 7
    REMINDERS = 8
    RECURRENCE = 9
    INTERVAL = 10
    UNTIL = 11
    PREVIEW = 12
    # /edit_meeting
    SCOPE = 21
    FIELD = 22
    VALUE = 23


PROMPTS = {
    Step.SECTOR: "meetings.ask-sector",
    Step.TITLE: "meetings.ask-title",
    Step.START: "meetings.ask-start",
    Step.DURATION: "meetings.ask-duration",
    Step.PLACE: "meetings.ask-place",
    Step.AGENDA: "meetings.ask-agenda",
    Step.CAPACITY: "meetings.ask-capacity",
    Step.REMINDERS: "meetings.ask-reminders",
    Step.RECURRENCE: "meetings.ask-recurrence",
    Step.INTERVAL: "meetings.ask-interval",
    Step.UNTIL: "meetings.ask-until",
}
# The fields a moderator may go back to from the preview, in the order of the questions.
PREVIEW_FIELDS = (
    Step.SECTOR,
    Step.TITLE,
    Step.START,
    Step.DURATION,
    Step.PLACE,
    Step.AGENDA,
    Step.CAPACITY,
    Step.REMINDERS,
    Step.RECURRENCE,
)
EDIT_STEPS: dict[EditField, Step] = {
    "title": Step.TITLE,
    "start": Step.START,
    "duration": Step.DURATION,
    "place": Step.PLACE,
    "agenda": Step.AGENDA,
    "capacity": Step.CAPACITY,
}
FIELDS_BY_NAME: dict[str, EditField] = {field: field for field in service.EDIT_FIELDS}


def button(context: Ctx, key: str, data: str, **values: object) -> InlineKeyboardButton:
    """A button labelled with a text in the actor's language."""
    return InlineKeyboardButton(text(context, key, **values), callback_data=data)


async def ack(update: Update) -> None:
    """Answer a button press once (Telegram refuses a second answer)."""
    if update.callback_query is not None:
        await update.callback_query.answer()


async def abort(update: Update, context: Ctx) -> int:
    """/cancel or the Cancel button: nothing is stored."""
    await ack(update)
    await say(update, text(context, "meetings.aborted"))
    return END


def not_text() -> BaseHandler[Update, Ctx, object]:
    """A text step's handler for photos, stickers and the like."""
    # Photos, stickers and the like in a text step: say what is expected.
    return MessageHandler(
        filters.UpdateType.MESSAGE & ~filters.TEXT & ~filters.COMMAND, _unexpected
    )


async def _unexpected(update: Update, context: Ctx) -> int | None:
    await reply(update, text(context, "meetings.text-expected"))
    return None
