"""Meetings, moderator side: /edit_meeting <id>, /cancel_meeting <id> and the
`mtg:edit:<id>` / `mtg:cancel:<id>` buttons on moderators' cards."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import Ctx
from bot.errors import DomainError
from bot.i18n import Html
from bot.services import meeting_input as typed
from bot.services import meetings as service
from bot.services.meeting_input import InvalidInput
from bot.services.meetings import Change, EditField, Managed, Scope
from handlers import flow, views
from handlers.common import (
    PRIVATE,
    PersonalButton,
    answer_stale,
    callback_ints,
    refuse,
    reply,
    require_actor,
    require_message,
    require_query,
    say,
    text,
)
from handlers.flow import Flow
from handlers.meetings.steps import (
    CANCEL,
    CANCEL_YES,
    EDIT,
    EDIT_STEPS,
    END,
    FIELDS_BY_NAME,
    ID_ARGUMENT,
    PROMPTS,
    TIMEOUT,
    Step,
    abort,
    ack,
    button,
    not_text,
)


class EditMeetingState(BaseModel):
    """Where /edit_meeting stands: which meeting, which occurrences, which field."""

    id: int = 0
    scope: Scope = "one"
    field: EditField | None = None


# ---------------------------------------------------------------- /edit_meeting


def _meeting_id(update: Update, context: Ctx, pattern: re.Pattern[str]) -> int | None:
    """The id of `/command <id>` or of a `mtg:<action>:<id>` button."""
    if update.callback_query is not None:
        ids = callback_ints(update.callback_query.data, pattern)
        return None if ids is None else ids[0]
    args = context.args or []
    if len(args) == 1 and ID_ARGUMENT.fullmatch(args[0]):
        return int(args[0])
    return None


async def _managed(
    update: Update, context: Ctx, pattern: re.Pattern[str], usage: str
) -> Managed | None:
    """Load the meeting named by the command or button, if the actor may change it."""
    meeting_id = _meeting_id(update, context, pattern)
    if meeting_id is None:
        if update.callback_query is not None:
            await answer_stale(update, context)
        else:
            await reply(update, text(context, usage))
        return None
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


def _card(context: Ctx, managed: Managed) -> Html:
    actor = require_actor(context)
    deps = context.deps
    return views.meetings.card_text(
        managed.meeting, managed.team, actor.language, deps.texts, deps.config.zone
    )


async def edit_start(update: Update, context: Ctx) -> int:
    """/edit_meeting <id> or the Edit button: the card, then (for a series) the scope."""
    managed = await _managed(update, context, EDIT, "meetings.edit-usage")
    if managed is None:
        return END
    flow.state(context, EditMeetingState).id = managed.meeting.id
    await say(update, _card(context, managed))
    if managed.later_in_series:
        rows = [
            [button(context, "meetings.button-scope-one", "mtg:scope:one")],
            [
                button(
                    context,
                    "meetings.button-scope-series",
                    "mtg:scope:series",
                    count=managed.later_in_series + 1,
                )
            ],
        ]
        await say(update, text(context, "meetings.ask-scope"), InlineKeyboardMarkup(rows))
        return Step.SCOPE
    return await _ask_edit_field(update, context)


async def _ask_edit_field(update: Update, context: Ctx) -> int:
    rows = [
        [button(context, f"meetings.field-{EDIT_STEPS[field].name.lower()}", f"mtg:efield:{field}")]
        for field in service.EDIT_FIELDS
    ]
    await say(update, text(context, "meetings.ask-edit-field"), InlineKeyboardMarkup(rows))
    return Step.FIELD


def _edit_state(context: Ctx) -> EditMeetingState:
    return flow.state(context, EditMeetingState)


async def on_scope(update: Update, context: Ctx) -> int:
    """This occurrence only, or it and the later ones of the series."""
    scope = (require_query(update).data or "").removeprefix("mtg:scope:")
    if scope not in ("one", "series"):
        await answer_stale(update, context)
        return Step.SCOPE
    await ack(update)
    _edit_state(context).scope = "series" if scope == "series" else "one"
    return await _ask_edit_field(update, context)


async def on_edit_field(update: Update, context: Ctx) -> int:
    """Ask for the new value of the chosen field."""
    field = FIELDS_BY_NAME.get((require_query(update).data or "").removeprefix("mtg:efield:"))
    if field is None:
        await answer_stale(update, context)
        return Step.FIELD
    await ack(update)
    _edit_state(context).field = field
    return await _ask_value(update, context, field)


async def _ask_value(update: Update, context: Ctx, field: EditField) -> int:
    step = EDIT_STEPS[field]
    values: dict[str, object] = {}
    rows: list[list[InlineKeyboardButton]] = []
    if step == Step.START:
        values["zone"] = context.deps.config.timezone
    elif step == Step.DURATION:
        values["default"] = typed.DURATION_DEFAULT
    elif step == Step.AGENDA:
        values["max"] = typed.AGENDA_MAX
        rows = [[button(context, "meetings.button-remove", "mtg:eclear")]]
    elif step == Step.CAPACITY:
        rows = [[button(context, "meetings.button-no-limit", "mtg:eclear")]]
    markup = InlineKeyboardMarkup(rows) if rows else None
    await say(update, text(context, PROMPTS[step], **values), markup)
    return Step.VALUE


def _read_change(field: EditField, raw: str | None, context: Ctx) -> Change:
    """Check the typed value (None: remove an optional field) into a Change."""
    deps = context.deps
    if raw is None:
        return Change(field=field)
    if field == "title":
        return Change(field=field, title=typed.parse_title(raw))
    if field == "start":
        return Change(
            field=field, local_start=typed.parse_start(raw, deps.config.zone, deps.clock())
        )
    if field == "duration":
        return Change(field=field, duration_minutes=typed.parse_duration(raw))
    if field == "place":
        place, url = typed.parse_place(raw)
        return Change(field=field, place=place, online_url=url)
    if field == "agenda":
        return Change(field=field, agenda=typed.parse_agenda(raw))
    return Change(field=field, capacity=typed.parse_capacity(raw))


async def _save_edit(update: Update, context: Ctx, raw: str | None) -> int:
    state = _edit_state(context)
    field = state.field
    if field is None or not state.id:
        await reply(update, text(context, "meetings.timeout"))
        return END
    deps = context.deps
    scope = state.scope
    try:
        change = _read_change(field, raw, context)
        changed = await service.edit(
            deps.db,
            require_actor(context),
            state.id,
            change,
            scope,
            now=deps.clock(),
            zone=deps.config.zone,
        )
    except InvalidInput as error:
        await say(update, text(context, error.key, **error.values))
        return await _ask_value(update, context, field)
    except DomainError as error:
        await say(update, text(context, error.key, **error.values))
        return END
    deps.engine.wake()  # its notices leave now, not at the next interval
    language = require_actor(context).language
    await say(
        update, deps.texts.plural(language, "meetings.edited", len(changed), id=changed[0].id)
    )
    return END


async def on_edit_value(update: Update, context: Ctx) -> int:
    """A typed new value: checked, saved, subscribers told what changed."""
    return await _save_edit(update, context, require_message(update).text or "")


async def on_edit_clear(update: Update, context: Ctx) -> int:
    """Remove the agenda or the capacity limit."""
    if _edit_state(context).field not in ("agenda", "capacity"):
        await answer_stale(update, context)
        return Step.VALUE
    await ack(update)
    return await _save_edit(update, context, None)


def edit_flow() -> Flow:
    """The /edit_meeting conversation."""
    typed = filters.UpdateType.MESSAGE & ~filters.COMMAND
    steps: dict[int, Sequence[BaseHandler[Update, Ctx, object]]] = {
        Step.SCOPE: [
            CallbackQueryHandler(on_scope, pattern=r"^mtg:scope:"),
            MessageHandler(typed, _edit_use_buttons),
        ],
        Step.FIELD: [
            CallbackQueryHandler(on_edit_field, pattern=r"^mtg:efield:"),
            MessageHandler(typed, _edit_use_buttons),
        ],
        Step.VALUE: [
            MessageHandler(typed & filters.TEXT, on_edit_value),
            CallbackQueryHandler(on_edit_clear, pattern=r"^mtg:eclear$"),
            not_text(),
        ],
    }
    return Flow(
        name="edit_meeting",
        model=EditMeetingState,
        commands=("edit_meeting",),
        entry_points=[
            CommandHandler("edit_meeting", edit_start, PRIVATE),
            PersonalButton(edit_start, pattern=r"^mtg:edit:"),
        ],
        steps=steps,
        cancel=abort,
        timeout=TIMEOUT,
        expired_key="meetings.timeout",
    )


async def _edit_use_buttons(update: Update, context: Ctx) -> int | None:
    await reply(update, text(context, "meetings.use-buttons"))
    return None


# ---------------------------------------------------------------- /cancel_meeting


async def ask_cancel(update: Update, context: Ctx) -> None:
    """/cancel_meeting <id> or the Cancel button: the card and a confirmation."""
    managed = await _managed(update, context, CANCEL, "meetings.cancel-usage")
    if managed is None:
        return
    meeting_id = managed.meeting.id
    rows = [[button(context, "meetings.button-cancel-one", f"mtg:cancel-one:{meeting_id}")]]
    if managed.later_in_series:
        rows.append(
            [
                button(
                    context,
                    "meetings.button-cancel-series",
                    f"mtg:cancel-series:{meeting_id}",
                    count=managed.later_in_series + 1,
                )
            ]
        )
    rows.append([button(context, "meetings.button-keep", "mtg:keep")])
    body = Html(_card(context, managed) + "\n\n" + text(context, "meetings.ask-cancel"))
    await say(update, body, InlineKeyboardMarkup(rows))


async def confirm_cancel(update: Update, context: Ctx) -> None:
    """Cancel the meeting (or the rest of the series); rights re-checked by the service."""
    query = require_query(update)
    match = CANCEL_YES.fullmatch(query.data or "")
    if match is None:
        await answer_stale(update, context)
        return
    scope: Scope = "series" if match[1] == "series" else "one"
    deps = context.deps
    try:
        cancelled = await service.cancel(
            deps.db,
            require_actor(context),
            int(match[2]),
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
