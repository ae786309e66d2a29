"""Meetings, moderator side: /new_meeting, a conversation that ends with a preview.

Each step edits its prompt in place after a press; a typed answer gets one new message (the
next question, or the error with the same question) and the old prompt loses its buttons."""

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
from bot.services.meeting_input import InvalidInput, MeetingDraft
from handlers import flow, views
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
    text,
)
from handlers.flow import Flow
from handlers.meetings.steps import (
    END,
    PREVIEW_FIELDS,
    PROMPTS,
    TIMEOUT,
    AbortButton,
    ChangeButton,
    DefaultButton,
    FieldButton,
    PublishButton,
    RecurrenceButton,
    SectorButton,
    SkipButton,
    Step,
    StepCallback,
    abort,
    ack,
    not_text,
    zone_values,
)
from handlers.prompts import Prompted, joined, show


class NewMeetingState(Prompted):
    """Where /new_meeting stands: the answers so far, and whether the preview was shown."""

    draft: MeetingDraft = Field(default_factory=MeetingDraft)
    # After the preview, a changed answer returns to the preview instead of the next question.
    editing: bool = False


def _state(context: Ctx) -> NewMeetingState:
    return flow.state(context, NewMeetingState)


def _draft(context: Ctx) -> MeetingDraft:
    return _state(context).draft


# ---------------------------------------------------------------- /new_meeting


def _default_leads(context: Ctx) -> str:
    actor = require_actor(context)
    leads = context.deps.config.meetings.reminder_minutes
    texts = context.deps.texts
    return ", ".join(views.meetings.format_lead(m, actor.language, texts) for m in leads)


async def _ask(update: Update, context: Ctx, step: Step, before: str = "") -> int:
    """Ask the question of a step (with its buttons) and wait in that step; `before` goes
    first in the same message (an error, or what the last answer chose)."""
    if step == Step.PREVIEW:
        return await _show_preview(update, context, before)
    rows: list[list[InlineKeyboardButton]] = []
    values: dict[str, object] = {}
    if step == Step.SECTOR:
        teams = await service.moderated_sectors(context.deps.db, require_actor(context))
        language = require_actor(context).language
        rows = [
            [InlineKeyboardButton(team.name(language), callback_data=SectorButton(team.id).pack())]
            for team in teams
        ]
    elif step == Step.START:
        values.update(zone_values(context))
    elif step == Step.DURATION:
        values["default"] = typed.DURATION_DEFAULT
        rows = [
            [
                button(
                    context,
                    "meetings.button-default-duration",
                    DefaultButton(),
                    default=typed.DURATION_DEFAULT,
                )
            ]
        ]
    elif step == Step.AGENDA:
        values["max"] = typed.AGENDA_MAX
        rows = [[button(context, "meetings.button-skip", SkipButton())]]
    elif step == Step.CAPACITY:
        rows = [[button(context, "meetings.button-no-limit", SkipButton())]]
    elif step == Step.REMINDERS:
        values["default"] = _default_leads(context)
        rows = [
            [button(context, "meetings.button-default-reminders", DefaultButton())],
            [button(context, "meetings.button-no-reminders", SkipButton())],
        ]
    elif step == Step.RECURRENCE:
        rows = [
            [button(context, f"meetings.button-rec-{rule}", RecurrenceButton(rule))]
            for rule in ("none", "weekly", "weeks", "monthly")
        ]
    elif step == Step.INTERVAL:
        values.update(min=typed.INTERVAL_MIN, max=typed.INTERVAL_MAX)
    elif step == Step.UNTIL:
        values["max"] = context.deps.config.meetings.max_occurrences
    markup = InlineKeyboardMarkup(rows) if rows else None
    body = joined(before, text(context, PROMPTS[step], **values))
    await show(update, context, _state(context), body, markup)
    return step


def _next(step: Step, draft: MeetingDraft, context: Ctx) -> Step:
    """The step after a valid answer (back to the preview when changing one field)."""
    if step == Step.RECURRENCE:
        if draft.recurrence == "none":
            return Step.PREVIEW
        return Step.INTERVAL if draft.interval_n > 1 else Step.UNTIL
    if step == Step.INTERVAL:
        return Step.UNTIL
    if _state(context).editing or step == Step.UNTIL:
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


def _on_text(step: Step) -> StepCallback:
    async def handle(update: Update, context: Ctx) -> int:
        draft = _draft(context)
        raw = require_message(update).text or ""
        try:
            _fill(step, raw, draft, context)
        except InvalidInput as error:
            # Bad input: one message says why and asks the same question again.
            return await _ask(update, context, step, problem(context, error))
        return await _ask(update, context, _next(step, draft, context))

    return handle


def _use_buttons(step: Step) -> StepCallback:
    async def handle(update: Update, context: Ctx) -> int:
        return await _ask(update, context, step, text(context, "meetings.use-buttons"))

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
    press = SectorButton.parse(require_query(update).data)
    if press is None:
        await answer_stale(update, context)
        return Step.SECTOR
    try:
        team = await service.choose_sector(context.deps.db, require_actor(context), press.team_id)
    except DomainError as error:
        await refuse(update, context, error)
        return Step.SECTOR
    await ack(update)
    draft = _draft(context)
    draft.team_id = team.id
    chosen = text(
        context, "meetings.sector-chosen", team=team.name(require_actor(context).language)
    )
    return await _ask(update, context, _next(Step.SECTOR, draft, context), chosen)


def _on_default(step: Step) -> StepCallback:
    async def handle(update: Update, context: Ctx) -> int:
        await ack(update)
        draft = _draft(context)
        if step == Step.DURATION:
            draft.duration_minutes = typed.DURATION_DEFAULT
        elif step == Step.REMINDERS:
            draft.reminder_minutes = None
        return await _ask(update, context, _next(step, draft, context))

    return handle


def _on_skip(step: Step) -> StepCallback:
    async def handle(update: Update, context: Ctx) -> int:
        await ack(update)
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
    press = RecurrenceButton.parse(require_query(update).data)
    if press is None:
        await answer_stale(update, context)
        return Step.RECURRENCE
    draft = _draft(context)
    if press.rule == "none":
        draft.recurrence, draft.interval_n, draft.until = "none", 1, None
    elif press.rule in ("weekly", "weeks"):
        draft.recurrence, draft.until = "weekly", None
        draft.interval_n = 1 if press.rule == "weekly" else typed.INTERVAL_MIN
    else:
        draft.recurrence, draft.interval_n, draft.until = "monthly", 1, None
    await ack(update)
    return await _ask(update, context, _next(Step.RECURRENCE, draft, context))


async def _show_preview(update: Update, context: Ctx, before: str = "") -> int:
    """The notice as subscribers will get it, then Publish / Change / Cancel, in one message.

    The preview carries no RSVP or calendar buttons: pressing them could not work yet, so
    only the flow's own buttons are shown (the notice's text is exactly the subscribers')."""
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
        step = Step.UNTIL if error.key.startswith("meetings.bad-until") else Step.START
        return await _ask(update, context, step, problem(context, error))
    except DomainError as error:
        await show(update, context, _state(context), problem(context, error))
        return END
    _state(context).editing = True
    language = require_actor(context).language
    body = joined(
        before,
        text(context, "meetings.preview-intro"),
        views.meetings.publication_text(notice, language, deps.texts, deps.config.zone),
        text(context, "meetings.preview-actions"),
    )
    actions = InlineKeyboardMarkup(
        [
            [button(context, "meetings.button-publish", PublishButton())],
            [button(context, "meetings.button-change", ChangeButton())],
            [button(context, "meetings.button-abort", AbortButton())],
        ]
    )
    await show(update, context, _state(context), body, actions)
    return Step.PREVIEW


async def on_change(update: Update, context: Ctx) -> int:
    """From the preview: which answer to change."""
    await ack(update)
    rows = [
        [button(context, f"meetings.field-{step.name.lower()}", FieldButton(int(step)))]
        for step in PREVIEW_FIELDS
    ]
    markup = InlineKeyboardMarkup(rows)
    await show(update, context, _state(context), text(context, "meetings.ask-field"), markup)
    return Step.PREVIEW


async def on_field(update: Update, context: Ctx) -> int:
    """Go back to one question; a valid answer returns to the preview."""
    press = FieldButton.parse(require_query(update).data)
    if press is None or press.step not in {int(step) for step in PREVIEW_FIELDS}:
        await answer_stale(update, context)
        return Step.PREVIEW
    await ack(update)
    return await _ask(update, context, Step(press.step))


async def on_publish(update: Update, context: Ctx) -> int:
    """Publish: store everything and queue the notice and the reminders, in one transaction."""
    await ack(update)
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
        step = Step.UNTIL if error.key.startswith("meetings.bad-until") else Step.START
        return await _ask(update, context, step, problem(context, error))
    except DomainError as error:
        await show(update, context, _state(context), problem(context, error))
        return END
    deps.engine.wake()  # its notices leave now, not at the next interval
    first = published.meetings[0]
    language = require_actor(context).language
    done = deps.texts.plural(
        language,
        "meetings.published",
        len(published.meetings),
        id=first.id,
        team=published.team.name(language),
    )
    await show(update, context, _state(context), done)
    return END


def _text_step(step: Step) -> list[BaseHandler[Update, Ctx, object]]:
    typed = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
    handlers: list[BaseHandler[Update, Ctx, object]] = [MessageHandler(typed, _on_text(step))]
    if step in (Step.DURATION, Step.REMINDERS):
        handlers.append(CallbackQueryHandler(_on_default(step), pattern=DefaultButton.pattern()))
    if step in (Step.AGENDA, Step.CAPACITY, Step.REMINDERS):
        handlers.append(CallbackQueryHandler(_on_skip(step), pattern=SkipButton.pattern()))
    return handlers


def new_meeting_flow() -> Flow:
    """The /new_meeting conversation."""
    typed = filters.UpdateType.MESSAGE & ~filters.COMMAND
    steps: dict[int, Sequence[BaseHandler[Update, Ctx, object]]] = {
        step: [*_text_step(step), not_text()]
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
        CallbackQueryHandler(on_sector, pattern=SectorButton.pattern()),
        MessageHandler(typed, _use_buttons(Step.SECTOR)),
    ]
    steps[Step.RECURRENCE] = [
        CallbackQueryHandler(on_recurrence, pattern=RecurrenceButton.pattern()),
        MessageHandler(typed, _use_buttons(Step.RECURRENCE)),
    ]
    steps[Step.PREVIEW] = [
        CallbackQueryHandler(on_publish, pattern=PublishButton.pattern()),
        CallbackQueryHandler(on_change, pattern=ChangeButton.pattern()),
        CallbackQueryHandler(on_field, pattern=FieldButton.pattern()),
        CallbackQueryHandler(abort, pattern=AbortButton.pattern()),
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
    return await _ask(update, context, Step(step), text(context, "flow.resumed"))
