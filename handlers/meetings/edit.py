"""Meetings, moderator side: /edit_meeting (a form: several fields, a preview of old -> new,
Save and notify sends one notice), its picker's and the cards' Edit buttons."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field
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
from bot.services import meeting_input as typed
from bot.services import meetings as service
from bot.services.meeting_input import InvalidInput
from bot.services.meetings import Change, EditField, Managed, Scope
from handlers import flow, views
from handlers.common import (
    PRIVATE,
    PersonalButton,
    answer_stale,
    button,
    problem,
    reply,
    require_actor,
    require_message,
    require_query,
    text,
)
from handlers.flow import Flow
from handlers.meetings.pickers import (
    PickEdit,
    card,
    managed_meeting,
    picker,
    pressed_id,
    typed_id,
)
from handlers.meetings.steps import (
    EDIT_STEPS,
    END,
    PROMPTS,
    TIMEOUT,
    BackButton,
    ClearButton,
    DiscardButton,
    EditFieldButton,
    SaveButton,
    ScopeButton,
    Step,
    abort,
    ack,
    not_text,
    zone_values,
)
from handlers.prompts import Prompted, joined, show
from handlers.views.card import EditMeeting


class EditMeetingState(Prompted):
    """Where /edit_meeting stands: the meeting, its occurrences, the field asked, the changes."""

    id: int = 0
    scope: Scope = "one"
    field: EditField | None = None
    changes: dict[str, Change] = Field(default_factory=dict)


def _edit_state(context: Ctx) -> EditMeetingState:
    return flow.state(context, EditMeetingState)


# ---------------------------------------------------------------- /edit_meeting


async def edit_start(update: Update, context: Ctx) -> int:
    """/edit_meeting [number], a picker's or a card's Edit button: the form (after the scope,
    for a series)."""
    if update.callback_query is None:
        meeting_id = typed_id(context)
        if meeting_id is None:
            if context.args:
                await reply(update, text(context, "meetings.edit-usage"))
                return END
            await picker(update, context, "meetings.pick-edit", PickEdit)
            return END
    else:
        meeting_id = pressed_id(update)
        if meeting_id is None:
            await answer_stale(update, context)
            return END
    managed = await managed_meeting(update, context, meeting_id)
    if managed is None:
        return END
    state = _edit_state(context)
    state.id = managed.meeting.id
    query = update.callback_query
    if query is not None and query.message is not None and PickEdit.parse(query.data):
        state.prompt_id = query.message.message_id  # the picker becomes the form
    if managed.later_in_series:
        await _ask_scope(update, context, managed)
        return Step.SCOPE
    return await _menu(update, context)


async def _ask_scope(update: Update, context: Ctx, managed: Managed, before: str = "") -> None:
    """One occurrence or the rest of the series? (A series' meeting only.)"""
    rows = [
        [button(context, "meetings.button-scope-one", ScopeButton("one"))],
        [
            button(
                context,
                "meetings.button-scope-series",
                ScopeButton("series"),
                count=managed.later_in_series + 1,
            )
        ],
    ]
    body = joined(before, card(context, managed), text(context, "meetings.ask-scope"))
    await show(update, context, _edit_state(context), body, InlineKeyboardMarkup(rows))


async def on_scope(update: Update, context: Ctx) -> int:
    """This occurrence only, or it and the later ones of the series."""
    press = ScopeButton.parse(require_query(update).data)
    if press is None:
        await answer_stale(update, context)
        return Step.SCOPE
    await ack(update)
    _edit_state(context).scope = press.scope
    return await _menu(update, context)


async def _menu(update: Update, context: Ctx, before: str = "") -> int:
    """The form: what changes so far (old -> new), a button per field, Save / Discard."""
    state = _edit_state(context)
    deps = context.deps
    actor = require_actor(context)
    try:
        preview = await service.preview_edit(
            deps.db,
            actor,
            state.id,
            list(state.changes.values()),
            state.scope,
            now=deps.clock(),
            zone=deps.config.zone,
        )
    except DomainError as error:
        await show(update, context, state, problem(context, error))
        return END
    lines = views.meetings.change_lines(
        preview.old, preview.new, actor.language, deps.texts, deps.config.zone
    )
    header = text(context, "meetings.form-header", id=preview.old.id, title=preview.old.title)
    if lines:
        summary = joined(text(context, "meetings.form-changes"), "\n".join(lines))
        if preview.count > 1:
            summary = joined(
                summary, deps.texts.plural(actor.language, "meetings.changed-series", preview.count)
            )
    else:
        summary = text(context, "meetings.form-nothing")
    rows = [
        [
            button(
                context, f"meetings.field-{EDIT_STEPS[field].name.lower()}", EditFieldButton(field)
            )
        ]
        for field in service.EDIT_FIELDS
    ]
    if lines:
        rows.append([button(context, "meetings.button-save", SaveButton())])
    rows.append([button(context, "meetings.button-discard", DiscardButton())])
    body = joined(before, header, summary, text(context, "meetings.form-hint"))
    await show(update, context, state, body, InlineKeyboardMarkup(rows))
    return Step.FIELD


async def on_edit_field(update: Update, context: Ctx) -> int:
    """Ask for the new value of the chosen field (the form's message becomes the question)."""
    press = EditFieldButton.parse(require_query(update).data)
    if press is None:
        await answer_stale(update, context)
        return Step.FIELD
    await ack(update)
    _edit_state(context).field = press.field
    return await _ask_value(update, context, press.field)


async def _ask_value(update: Update, context: Ctx, field: EditField, before: str = "") -> int:
    step = EDIT_STEPS[field]
    values: dict[str, object] = {}
    rows: list[list[InlineKeyboardButton]] = []
    if step == Step.START:
        values.update(zone_values(context))
    elif step == Step.DURATION:
        values["default"] = typed.DURATION_DEFAULT
    elif step == Step.AGENDA:
        values["max"] = typed.AGENDA_MAX
        rows = [[button(context, "meetings.button-remove", ClearButton())]]
    elif step == Step.CAPACITY:
        rows = [[button(context, "meetings.button-no-limit", ClearButton())]]
    rows.append([button(context, "meetings.button-back", BackButton())])
    body = joined(before, text(context, PROMPTS[step], **values))
    await show(update, context, _edit_state(context), body, InlineKeyboardMarkup(rows))
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


async def _take(update: Update, context: Ctx, raw: str | None) -> int:
    """Keep a checked value in the form (nothing saved yet) and show the form again."""
    state = _edit_state(context)
    field = state.field
    if field is None or not state.id:
        await reply(update, text(context, "meetings.timeout"))
        return END
    deps = context.deps
    try:
        change = _read_change(field, raw, context)
        # Checked against the meeting (a series' later dates, a place left empty) now, so
        # the error comes with the question, not at Save.
        await service.preview_edit(
            deps.db,
            require_actor(context),
            state.id,
            [*(c for c in state.changes.values() if c.field != field), change],
            state.scope,
            now=deps.clock(),
            zone=deps.config.zone,
        )
    except InvalidInput as error:
        return await _ask_value(update, context, field, problem(context, error))
    except DomainError as error:
        await show(update, context, state, problem(context, error))
        return END
    state.changes[field] = change
    state.field = None
    return await _menu(update, context)


async def on_edit_value(update: Update, context: Ctx) -> int:
    """A typed new value: checked and kept in the form."""
    return await _take(update, context, require_message(update).text or "")


async def on_edit_clear(update: Update, context: Ctx) -> int:
    """Remove the agenda or the capacity limit."""
    if _edit_state(context).field not in ("agenda", "capacity"):
        await answer_stale(update, context)
        return Step.VALUE
    await ack(update)
    return await _take(update, context, None)


async def on_back(update: Update, context: Ctx) -> int:
    """Back to the form without changing this field."""
    await ack(update)
    _edit_state(context).field = None
    return await _menu(update, context)


async def on_save(update: Update, context: Ctx) -> int:
    """Save and notify: every change in one transaction, ONE notice to the subscribers."""
    state = _edit_state(context)
    deps = context.deps
    actor = require_actor(context)
    try:
        changed = await service.edit(
            deps.db,
            actor,
            state.id,
            list(state.changes.values()),
            state.scope,
            now=deps.clock(),
            zone=deps.config.zone,
        )
    except InvalidInput as error:
        await ack(update)
        return await _menu(update, context, problem(context, error))
    except DomainError as error:
        await ack(update)
        await show(update, context, state, problem(context, error))
        return END
    await ack(update)
    deps.engine.wake()  # its notice leaves now, not at the next interval
    done = deps.texts.plural(actor.language, "meetings.edited", len(changed), id=changed[0].id)
    await show(update, context, state, done)
    return END


async def on_discard(update: Update, context: Ctx) -> int:
    """Drop the form's changes: nothing is saved, nobody is told."""
    await ack(update)
    await show(update, context, _edit_state(context), text(context, "meetings.edit-discarded"))
    return END


async def _edit_use_buttons(update: Update, context: Ctx) -> int | None:
    return await _menu(update, context, text(context, "meetings.use-buttons"))


async def _scope_use_buttons(update: Update, context: Ctx) -> int | None:
    # One message: the hint and the question again, with its buttons (the old ones go).
    managed = await managed_meeting(update, context, _edit_state(context).id)
    if managed is None:
        return END
    await _ask_scope(update, context, managed, text(context, "meetings.use-buttons"))
    return None


def edit_flow() -> Flow:
    """The /edit_meeting conversation."""
    typed_message = filters.UpdateType.MESSAGE & ~filters.COMMAND
    steps: dict[int, Sequence[BaseHandler[Update, Ctx, object]]] = {
        Step.SCOPE: [
            CallbackQueryHandler(on_scope, pattern=ScopeButton.pattern()),
            MessageHandler(typed_message, _scope_use_buttons),
        ],
        Step.FIELD: [
            CallbackQueryHandler(on_edit_field, pattern=EditFieldButton.pattern()),
            CallbackQueryHandler(on_save, pattern=SaveButton.pattern()),
            CallbackQueryHandler(on_discard, pattern=DiscardButton.pattern()),
            MessageHandler(typed_message, _edit_use_buttons),
        ],
        Step.VALUE: [
            MessageHandler(typed_message & filters.TEXT, on_edit_value),
            CallbackQueryHandler(on_edit_clear, pattern=ClearButton.pattern()),
            CallbackQueryHandler(on_back, pattern=BackButton.pattern()),
            not_text(),
        ],
    }
    return Flow(
        name="edit_meeting",
        model=EditMeetingState,
        commands=("edit_meeting",),
        entry_points=[
            CommandHandler("edit_meeting", edit_start, PRIVATE),
            PersonalButton(edit_start, pattern=EditMeeting.pattern()),
            PersonalButton(edit_start, pattern=PickEdit.pattern()),
        ],
        steps=steps,
        cancel=abort,
        timeout=TIMEOUT,
        expired_key="meetings.timeout",
    )
