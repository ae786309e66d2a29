"""Meetings, moderator side: /new_meeting (a conversation with a preview), /edit_meeting <id>,
/cancel_meeting <id> and the `mtg:edit:<id>` / `mtg:cancel:<id>` buttons for moderators' cards."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from enum import IntEnum
from typing import Any

from pydantic import BaseModel, Field
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import App, Ctx
from bot.errors import DomainError
from bot.i18n import Html
from bot.services import meeting_input as typed
from bot.services import meetings as service
from bot.services.meeting_input import InvalidInput, MeetingDraft
from bot.services.meetings import Change, EditField, Managed, Scope
from handlers import flow, views
from handlers.common import (
    PRIVATE,
    PersonalButton,
    answer_stale,
    callback_ints,
    is_consented,
    refuse,
    reply,
    require_actor,
    require_message,
    require_query,
    say,
    text,
)
from handlers.flow import Flow, Flows

# Long enough to look up an address or an agenda, short enough not to surprise anyone later.
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

# ---------------------------------------------------------------- state in the database


class NewMeetingState(BaseModel):
    """Where /new_meeting stands: the answers so far, and whether the preview was shown."""

    draft: MeetingDraft = Field(default_factory=MeetingDraft)
    # After the preview, a changed answer returns to the preview instead of the next question.
    editing: bool = False


class EditMeetingState(BaseModel):
    """Where /edit_meeting stands: which meeting, which occurrences, which field."""

    id: int = 0
    scope: Scope = "one"
    field: EditField | None = None


def _draft(context: Ctx) -> MeetingDraft:
    return flow.state(context, NewMeetingState).draft


def _editing(context: Ctx) -> bool:
    return flow.state(context, NewMeetingState).editing


def _button(context: Ctx, key: str, data: str, **values: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(text(context, key, **values), callback_data=data)


async def _ack(update: Update) -> None:
    """Answer a button press once (Telegram refuses a second answer)."""
    if update.callback_query is not None:
        await update.callback_query.answer()


# ---------------------------------------------------------------- /new_meeting


def _default_leads(context: Ctx) -> str:
    actor = require_actor(context)
    leads = context.deps.config.meetings.reminder_minutes
    texts = context.deps.texts
    return ", ".join(views.meetings.format_lead(m, actor.language, texts) for m in leads)


async def _ask(update: Update, context: Ctx, step: Step) -> int:
    """Ask the question of a step (with its buttons) and wait in that step."""
    if step == Step.PREVIEW:
        return await _show_preview(update, context)
    rows: list[list[InlineKeyboardButton]] = []
    values: dict[str, object] = {}
    if step == Step.SECTOR:
        teams = await service.moderated_sectors(context.deps.db, require_actor(context))
        language = require_actor(context).language
        rows = [
            [InlineKeyboardButton(team.name(language), callback_data=f"mtg:sector:{team.id}")]
            for team in teams
        ]
    elif step == Step.START:
        values["zone"] = context.deps.config.timezone
    elif step == Step.DURATION:
        values["default"] = typed.DURATION_DEFAULT
        rows = [
            [
                _button(
                    context,
                    "meetings.button-default-duration",
                    "mtg:default",
                    default=typed.DURATION_DEFAULT,
                )
            ]
        ]
    elif step == Step.AGENDA:
        values["max"] = typed.AGENDA_MAX
        rows = [[_button(context, "meetings.button-skip", "mtg:skip")]]
    elif step == Step.CAPACITY:
        rows = [[_button(context, "meetings.button-no-limit", "mtg:skip")]]
    elif step == Step.REMINDERS:
        values["default"] = _default_leads(context)
        rows = [
            [_button(context, "meetings.button-default-reminders", "mtg:default")],
            [_button(context, "meetings.button-no-reminders", "mtg:skip")],
        ]
    elif step == Step.RECURRENCE:
        rows = [
            [_button(context, f"meetings.button-rec-{rule}", f"mtg:rec:{rule}")]
            for rule in ("none", "weekly", "weeks", "monthly")
        ]
    elif step == Step.INTERVAL:
        values.update(min=typed.INTERVAL_MIN, max=typed.INTERVAL_MAX)
    elif step == Step.UNTIL:
        values["max"] = context.deps.config.meetings.max_occurrences
    markup = InlineKeyboardMarkup(rows) if rows else None
    await say(update, text(context, PROMPTS[step], **values), markup)
    return step


def _next(step: Step, draft: MeetingDraft, context: Ctx) -> Step:
    """The step after a valid answer (back to the preview when changing one field)."""
    if step == Step.RECURRENCE:
        if draft.recurrence == "none":
            return Step.PREVIEW
        return Step.INTERVAL if draft.interval_n > 1 else Step.UNTIL
    if step == Step.INTERVAL:
        return Step.UNTIL
    if _editing(context) or step == Step.UNTIL:
        return Step.PREVIEW
    return Step(step + 1)


def _fill(step: Step, raw: str, draft: MeetingDraft, context: Ctx) -> None:
    """Check a typed answer and put it in the draft (raises InvalidInput)."""
    deps = context.deps
    if step == Step.TITLE:
        draft.title = typed.parse_title(raw)
    elif step == Step.START:
        draft.local_start = typed.parse_start(raw, deps.config.zone, deps.clock())
    elif step == Step.DURATION:
        draft.duration_minutes = typed.parse_duration(raw)
    elif step == Step.PLACE:
        draft.place, draft.online_url = typed.parse_place(raw)
    elif step == Step.AGENDA:
        draft.agenda = typed.parse_agenda(raw)
    elif step == Step.CAPACITY:
        draft.capacity = typed.parse_capacity(raw)
    elif step == Step.REMINDERS:
        draft.reminder_minutes = typed.parse_leads(raw)
    elif step == Step.INTERVAL:
        draft.interval_n = typed.parse_interval(raw)
    elif step == Step.UNTIL:
        if draft.local_start is None:
            raise InvalidInput("meetings.draft-incomplete")
        until = typed.parse_until(raw, draft.local_start)
        typed.occurrences(draft.model_copy(update={"until": until}), _limit(context))
        draft.until = until


def _limit(context: Ctx) -> int:
    return context.deps.config.meetings.max_occurrences


def _on_text(step: Step) -> Callback:
    async def handle(update: Update, context: Ctx) -> int:
        draft = _draft(context)
        raw = require_message(update).text or ""
        try:
            _fill(step, raw, draft, context)
        except InvalidInput as error:
            # Bad input: say why and ask the same question again.
            await reply(update, text(context, error.key, **error.values))
            return await _ask(update, context, step)
        return await _ask(update, context, _next(step, draft, context))

    return handle


def _use_buttons(step: Step) -> Callback:
    async def handle(update: Update, context: Ctx) -> int:
        await reply(update, text(context, "meetings.use-buttons"))
        return await _ask(update, context, step)

    return handle


async def start(update: Update, context: Ctx) -> int:
    """/new_meeting: only for moderators (of the sectors they moderate) and admins."""
    actor = require_actor(context)
    if not is_consented(context):
        await reply(update, text(context, "error.consent-required"))
        return END
    if not actor.is_moderator:
        await reply(update, text(context, "meetings.not-moderator"))
        return END
    return await _ask(update, context, Step.SECTOR)


async def on_sector(update: Update, context: Ctx) -> int:
    """A sector button: re-checked, since callback data can be forged."""
    ids = callback_ints(require_query(update).data, SECTOR)
    if ids is None:
        await answer_stale(update, context)
        return Step.SECTOR
    try:
        team = await service.choose_sector(context.deps.db, require_actor(context), ids[0])
    except DomainError as error:
        await refuse(update, context, error)
        return Step.SECTOR
    await _ack(update)
    draft = _draft(context)
    draft.team_id = team.id
    await say(
        update,
        text(context, "meetings.sector-chosen", team=team.name(require_actor(context).language)),
    )
    return await _ask(update, context, _next(Step.SECTOR, draft, context))


def _on_default(step: Step) -> Callback:
    async def handle(update: Update, context: Ctx) -> int:
        await _ack(update)
        draft = _draft(context)
        if step == Step.DURATION:
            draft.duration_minutes = typed.DURATION_DEFAULT
        elif step == Step.REMINDERS:
            draft.reminder_minutes = None
        return await _ask(update, context, _next(step, draft, context))

    return handle


def _on_skip(step: Step) -> Callback:
    async def handle(update: Update, context: Ctx) -> int:
        await _ack(update)
        draft = _draft(context)
        if step == Step.AGENDA:
            draft.agenda = None
        elif step == Step.CAPACITY:
            draft.capacity = None
        elif step == Step.REMINDERS:
            draft.reminder_minutes = ()
        return await _ask(update, context, _next(step, draft, context))

    return handle


async def on_recurrence(update: Update, context: Ctx) -> int:
    """None, weekly, every N weeks or monthly (on the Nth weekday)."""
    rule = (require_query(update).data or "").removeprefix("mtg:rec:")
    draft = _draft(context)
    if rule == "none":
        draft.recurrence, draft.interval_n, draft.until = "none", 1, None
    elif rule in ("weekly", "weeks"):
        draft.recurrence, draft.until = "weekly", None
        draft.interval_n = 1 if rule == "weekly" else typed.INTERVAL_MIN
    elif rule == "monthly":
        draft.recurrence, draft.interval_n, draft.until = "monthly", 1, None
    else:
        await answer_stale(update, context)
        return Step.RECURRENCE
    await _ack(update)
    return await _ask(update, context, _next(Step.RECURRENCE, draft, context))


async def _show_preview(update: Update, context: Ctx) -> int:
    """The notice exactly as subscribers will get it, then Publish / Change / Cancel."""
    deps = context.deps
    draft = _draft(context)
    try:
        notice = await service.preview(
            deps.db,
            require_actor(context),
            draft,
            now=deps.clock(),
            zone=deps.config.zone,
            config=deps.config.meetings,
        )
    except InvalidInput as error:
        # Time passed while the draft waited, or a changed start no longer fits the series.
        await say(update, text(context, error.key, **error.values))
        step = Step.UNTIL if error.key.startswith("meetings.bad-until") else Step.START
        return await _ask(update, context, step)
    except DomainError as error:
        await say(update, text(context, error.key, **error.values))
        return END
    flow.state(context, NewMeetingState).editing = True
    await say(update, text(context, "meetings.preview-intro"))
    language = require_actor(context).language
    message = views.meetings.publication(notice, language, deps.texts, deps.config.zone)
    await say(update, message.text, message.markup)
    actions = InlineKeyboardMarkup(
        [
            [_button(context, "meetings.button-publish", "mtg:publish")],
            [_button(context, "meetings.button-change", "mtg:change")],
            [_button(context, "meetings.button-abort", "mtg:abort")],
        ]
    )
    await say(update, text(context, "meetings.preview-actions"), actions)
    return Step.PREVIEW


async def on_change(update: Update, context: Ctx) -> int:
    """From the preview: which answer to change."""
    await _ack(update)
    rows = [
        [_button(context, f"meetings.field-{step.name.lower()}", f"mtg:field:{int(step)}")]
        for step in PREVIEW_FIELDS
    ]
    await say(update, text(context, "meetings.ask-field"), InlineKeyboardMarkup(rows))
    return Step.PREVIEW


async def on_field(update: Update, context: Ctx) -> int:
    """Go back to one question; a valid answer returns to the preview."""
    data = (require_query(update).data or "").removeprefix("mtg:field:")
    if not data.isdigit() or int(data) not in {int(step) for step in PREVIEW_FIELDS}:
        await answer_stale(update, context)
        return Step.PREVIEW
    await _ack(update)
    return await _ask(update, context, Step(int(data)))


async def on_publish(update: Update, context: Ctx) -> int:
    """Publish: store everything and queue the notice and the reminders, in one transaction."""
    await _ack(update)
    deps = context.deps
    try:
        published = await service.publish(
            deps.db,
            require_actor(context),
            _draft(context),
            now=deps.clock(),
            zone=deps.config.zone,
            config=deps.config.meetings,
        )
    except InvalidInput as error:
        await say(update, text(context, error.key, **error.values))
        step = Step.UNTIL if error.key.startswith("meetings.bad-until") else Step.START
        return await _ask(update, context, step)
    except DomainError as error:
        await say(update, text(context, error.key, **error.values))
        return END
    deps.engine.wake()  # its notices leave now, not at the next interval
    first = published.meetings[0]
    language = require_actor(context).language
    await say(
        update,
        context.deps.texts.plural(
            language,
            "meetings.published",
            len(published.meetings),
            id=first.id,
            team=published.team.name(language),
        ),
    )
    return END


async def abort(update: Update, context: Ctx) -> int:
    """/cancel or the Cancel button: nothing is stored."""
    await _ack(update)
    await say(update, text(context, "meetings.aborted"))
    return END


def _text_step(step: Step) -> list[BaseHandler[Update, Ctx, object]]:
    typed = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
    handlers: list[BaseHandler[Update, Ctx, object]] = [MessageHandler(typed, _on_text(step))]
    if step in (Step.DURATION, Step.REMINDERS):
        handlers.append(CallbackQueryHandler(_on_default(step), pattern=r"^mtg:default$"))
    if step in (Step.AGENDA, Step.CAPACITY, Step.REMINDERS):
        handlers.append(CallbackQueryHandler(_on_skip(step), pattern=r"^mtg:skip$"))
    return handlers


def _not_text() -> BaseHandler[Update, Ctx, object]:
    # Photos, stickers and the like in a text step: say what is expected.
    return MessageHandler(
        filters.UpdateType.MESSAGE & ~filters.TEXT & ~filters.COMMAND, _unexpected
    )


async def _unexpected(update: Update, context: Ctx) -> int | None:
    await reply(update, text(context, "meetings.text-expected"))
    return None


def new_meeting_flow() -> Flow:
    """The /new_meeting conversation."""
    typed = filters.UpdateType.MESSAGE & ~filters.COMMAND
    steps: dict[int, Sequence[BaseHandler[Update, Ctx, object]]] = {
        step: [*_text_step(step), _not_text()]
        for step in (
            Step.TITLE,
            Step.START,
            Step.DURATION,
            Step.PLACE,
            Step.AGENDA,
            Step.CAPACITY,
            Step.REMINDERS,
            Step.INTERVAL,
            Step.UNTIL,
        )
    }
    steps[Step.SECTOR] = [
        CallbackQueryHandler(on_sector, pattern=r"^mtg:sector:"),
        MessageHandler(typed, _use_buttons(Step.SECTOR)),
    ]
    steps[Step.RECURRENCE] = [
        CallbackQueryHandler(on_recurrence, pattern=r"^mtg:rec:"),
        MessageHandler(typed, _use_buttons(Step.RECURRENCE)),
    ]
    steps[Step.PREVIEW] = [
        CallbackQueryHandler(on_publish, pattern=r"^mtg:publish$"),
        CallbackQueryHandler(on_change, pattern=r"^mtg:change$"),
        CallbackQueryHandler(on_field, pattern=r"^mtg:field:"),
        CallbackQueryHandler(abort, pattern=r"^mtg:abort$"),
        MessageHandler(typed, _use_buttons(Step.PREVIEW)),
    ]
    return Flow(
        name="new_meeting",
        model=NewMeetingState,
        commands=("new_meeting",),
        entry_points=[CommandHandler("new_meeting", start, PRIVATE)],
        steps=steps,
        cancel=abort,
        timeout=TIMEOUT,
        expired_key="meetings.timeout",
        resume=resume,
    )


async def resume(update: Update, context: Ctx, step: int) -> int:
    """/new_meeting while a paused one waits: ask its question again."""
    await reply(update, text(context, "flow.resumed"))
    return await _ask(update, context, Step(step))


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
    await _ack(update)
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
            [_button(context, "meetings.button-scope-one", "mtg:scope:one")],
            [
                _button(
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
        [
            _button(
                context, f"meetings.field-{EDIT_STEPS[field].name.lower()}", f"mtg:efield:{field}"
            )
        ]
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
    await _ack(update)
    _edit_state(context).scope = "series" if scope == "series" else "one"
    return await _ask_edit_field(update, context)


async def on_edit_field(update: Update, context: Ctx) -> int:
    """Ask for the new value of the chosen field."""
    field = FIELDS_BY_NAME.get((require_query(update).data or "").removeprefix("mtg:efield:"))
    if field is None:
        await answer_stale(update, context)
        return Step.FIELD
    await _ack(update)
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
        rows = [[_button(context, "meetings.button-remove", "mtg:eclear")]]
    elif step == Step.CAPACITY:
        rows = [[_button(context, "meetings.button-no-limit", "mtg:eclear")]]
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
    await _ack(update)
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
            _not_text(),
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
    rows = [[_button(context, "meetings.button-cancel-one", f"mtg:cancel-one:{meeting_id}")]]
    if managed.later_in_series:
        rows.append(
            [
                _button(
                    context,
                    "meetings.button-cancel-series",
                    f"mtg:cancel-series:{meeting_id}",
                    count=managed.later_in_series + 1,
                )
            ]
        )
    rows.append([_button(context, "meetings.button-keep", "mtg:keep")])
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


def register(app: App, flows: Flows) -> None:
    """Install /new_meeting, /edit_meeting, /cancel_meeting and their buttons."""
    app.add_handler(CommandHandler("cancel_meeting", ask_cancel, PRIVATE))
    app.add_handler(PersonalButton(ask_cancel, pattern=r"^mtg:cancel:"))
    app.add_handler(PersonalButton(confirm_cancel, pattern=r"^mtg:cancel-(one|series):"))
    app.add_handler(CallbackQueryHandler(keep, pattern=r"^mtg:keep$"))
    flows.add(app, new_meeting_flow())
    flows.add(app, edit_flow())
