"""Meetings, moderator side: the steps, prompts and helpers /new_meeting and /edit_meeting share."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum
from typing import Any, Literal

from telegram import Update
from telegram.ext import (
    BaseHandler,
    MessageHandler,
    filters,
)

from bot.context import Ctx
from bot.services import meetings as service
from bot.services.meetings import EditField
from handlers import flow, views
from handlers.callbacks import Callback
from handlers.common import (
    reply,
    require_actor,
    text,
)
from handlers.prompts import Prompted, show

TIMEOUT = timedelta(minutes=30)
END = flow.END
StepCallback = Callable[[Update, Ctx], Coroutine[Any, Any, int]]


# ---------------------------------------------------------------- typed buttons


@dataclass(frozen=True)
class SectorButton(Callback, prefix="mtg:sector"):
    """/new_meeting: the sector team the meeting is for (re-checked: it may be forged)."""

    team_id: int


@dataclass(frozen=True)
class DefaultButton(Callback, prefix="mtg:default"):
    """/new_meeting: take the default duration or the default reminders."""


@dataclass(frozen=True)
class SkipButton(Callback, prefix="mtg:skip"):
    """/new_meeting: no agenda, no capacity limit or no reminders."""


@dataclass(frozen=True)
class RecurrenceButton(Callback, prefix="mtg:rec"):
    """/new_meeting: how the meeting repeats."""

    rule: Literal["none", "weekly", "weeks", "monthly"]


@dataclass(frozen=True)
class PublishButton(Callback, prefix="mtg:publish"):
    """/new_meeting's preview: publish."""


@dataclass(frozen=True)
class ChangeButton(Callback, prefix="mtg:change"):
    """/new_meeting's preview: go back to one answer."""


@dataclass(frozen=True)
class FieldButton(Callback, prefix="mtg:field"):
    """/new_meeting's preview: the answer (its step) to change."""

    step: int


@dataclass(frozen=True)
class AbortButton(Callback, prefix="mtg:abort"):
    """/new_meeting's preview: drop the draft."""


@dataclass(frozen=True)
class ScopeButton(Callback, prefix="mtg:scope"):
    """/edit_meeting of a series: this occurrence only, or it and the later ones."""

    scope: Literal["one", "series"]


@dataclass(frozen=True)
class EditFieldButton(Callback, prefix="mtg:efield"):
    """/edit_meeting's form: the field to change."""

    field: Literal["title", "start", "duration", "place", "agenda", "capacity"]


@dataclass(frozen=True)
class ClearButton(Callback, prefix="mtg:eclear"):
    """/edit_meeting: remove the agenda or the capacity limit."""


@dataclass(frozen=True)
class BackButton(Callback, prefix="mtg:eback"):
    """/edit_meeting: back to the form without changing this field."""


@dataclass(frozen=True)
class SaveButton(Callback, prefix="mtg:esave"):
    """/edit_meeting's form: save every change and send one notice."""


@dataclass(frozen=True)
class DiscardButton(Callback, prefix="mtg:ediscard"):
    """/edit_meeting's form: drop every change."""


@dataclass(frozen=True)
class CancelOneButton(Callback, prefix="mtg:cancel-one"):
    """/cancel_meeting's confirmation: cancel this meeting."""

    meeting_id: int


@dataclass(frozen=True)
class CancelSeriesButton(Callback, prefix="mtg:cancel-series"):
    """/cancel_meeting's confirmation: cancel it and the later ones of its series."""

    meeting_id: int


@dataclass(frozen=True)
class KeepButton(Callback, prefix="mtg:keep"):
    """/cancel_meeting's confirmation: keep the meeting."""


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


def zone_values(context: Ctx) -> dict[str, object]:
    """The `zone` placeholder of a prompt that names the deployment's time zone."""
    deps = context.deps
    language = require_actor(context).language
    return {"zone": views.meetings.zone_name(deps.config.timezone, language, deps.texts)}


async def ack(update: Update) -> None:
    """Answer a button press once (Telegram refuses a second answer)."""
    if update.callback_query is not None:
        await update.callback_query.answer()


async def abort(update: Update, context: Ctx) -> int:
    """/cancel or the Cancel button: nothing is stored; the prompt loses its buttons."""
    await ack(update)
    await show(update, context, flow.state(context, Prompted), text(context, "meetings.aborted"))
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
