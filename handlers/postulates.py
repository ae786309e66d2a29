"""Postulates: /postulate (resumable submission), /my_postulates, /postulates, /support, /call.

The submission is a state machine kept in SQLite (table postulate_drafts, column `step`),
not in ConversationHandler memory: a restarted bot continues the conversation where it
was. One handler in an early group (after the gatekeeper, before the features) looks at
every private message: when the author has an active draft or a review prompt waiting for
text, it takes the message and stops the update there (ApplicationHandlerStop); otherwise
it lets the update through untouched. Any other command pauses the draft, so other
features' conversations get their text; /postulate resumes it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import datefmt
from bot.context import App, Ctx
from bot.errors import DomainError, StaleButton
from bot.services import dates
from bot.services import postulates as service
from bot.services import postulates_calls as calls
from bot.services import postulates_drafts as drafts
from bot.services import postulates_review as reviews
from bot.services.postulates import Settings
from bot.services.postulates_drafts import DraftEvent, DraftOutcome
from handlers import review
from handlers.common import (
    PRIVATE,
    PersonalButton,
    answer_stale,
    as_alert,
    is_consented,
    refuse,
    reply,
    require_actor,
    require_message,
    require_query,
    text,
)
from handlers.review import reader
from handlers.views import postulate_buttons as buttons
from handlers.views import postulate_cards as cards
from handlers.views import postulates as views

# After the gatekeeper (-100), before every feature (group 0).
GROUP = -10
DEEP_LINK = re.compile(r"postulate-([a-z][a-z0-9-]{0,39})")


def settings(context: Ctx) -> Settings:
    """The rules' settings from the configuration."""
    config = context.deps.config
    return Settings(
        accept_outside_calls=config.postulates.accept_outside_calls,
        draft_idle_hours=config.postulates.draft_idle_hours,
        notice_version=config.privacy.notice_version,
    )


def _running_content(outcome: DraftOutcome) -> bool:
    """A part of the content was added: the one running prompt is updated, not repeated."""
    draft = outcome.draft
    return (
        draft is not None
        and draft.step == "content"
        and bool(draft.content)
        and outcome.problem is None
        and not outcome.resumed
    )


async def _show(
    update: Update, context: Ctx, outcome: DraftOutcome, previous: int | None = None
) -> None:
    """Answer a typed step: update the running prompt in place where Telegram allows it,
    else one new message (a problem comes with the prompt again), the old buttons removed."""
    body, markup = views.draft(reader(context), outcome)
    deps = context.deps
    chat = require_actor(context).user_id
    if outcome.draft is not None and outcome.draft.prompt_message_id is not None:
        previous = outcome.draft.prompt_message_id
    if previous is not None and _running_content(outcome):
        try:
            await context.bot.edit_message_text(body, chat, previous, reply_markup=markup)
            return
        except BadRequest:
            pass  # deleted or too old to edit: a new prompt below instead
    sent = await reply(update, body, markup)
    await review.clear_keyboard(context, previous)
    if outcome.draft is not None:
        await drafts.remember_prompt(deps.db, chat, sent.message_id, deps.clock())


async def _run(update: Update, context: Ctx, event: DraftEvent) -> DraftOutcome | None:
    actor = require_actor(context)
    deps = context.deps
    try:
        return await drafts.draft_step(
            deps.db, actor.user_id, event, settings(context), deps.clock()
        )
    except StaleButton:
        if update.callback_query is not None:
            await answer_stale(update, context)
        else:
            await reply(update, text(context, "error.stale-button"))
    except DomainError as error:
        await refuse(update, context, error)
    return None


def _event_of(message: Message) -> DraftEvent:
    if message.text is not None:
        return DraftEvent(name="text", text=message.text)
    caption = message.caption
    if message.document is not None:
        file_id = message.document.file_id
        return DraftEvent(name="attachment", kind="document", text=file_id, caption=caption)
    if message.photo:
        file_id = message.photo[-1].file_id
        return DraftEvent(name="attachment", kind="photo", text=file_id, caption=caption)
    if message.voice is not None:
        file_id = message.voice.file_id
        return DraftEvent(name="attachment", kind="voice", text=file_id, caption=caption)
    return DraftEvent(name="unsupported")


def _command(message: Message) -> tuple[str, list[str]] | None:
    if not message.text or not message.text.startswith("/"):
        return None
    words = message.text.split()
    return words[0][1:].split("@")[0].lower(), words[1:]


async def intercept(update: Update, context: Ctx) -> None:
    """Route a private message to the active draft or review prompt, else let it through."""
    message = require_message(update)
    if context.actor is None or not is_consented(context):
        return
    actor = require_actor(context)
    deps = context.deps
    command = _command(message)
    if command is not None and command[0] == "start" and command[1]:
        match = DEEP_LINK.fullmatch(command[1][0])
        if match is not None:
            outcome = await _run(update, context, DraftEvent(name="start", slug=match.group(1)))
            if outcome is not None:
                await _show(update, context, outcome)
            raise ApplicationHandlerStop
    if not actor.drafting:
        # The admission query found no draft and no prompt: nothing to route or pause, and
        # no second hop to the writer for every private message (issue 12).
        return
    caught = await drafts.capture(
        deps.db,
        actor.user_id,
        command[0] if command is not None else None,
        settings(context),
        deps.clock(),
    )
    if command is not None:
        if command[0] == "cancel" and (caught.draft or caught.prompt):
            await reply(update, text(context, "postulates.cancelled"))
            if caught.draft is not None:
                await review.clear_keyboard(context, caught.draft.prompt_message_id)
            if caught.prompt is not None:
                await review.clear_keyboard(context, caught.prompt.message_id)
            raise ApplicationHandlerStop
        return
    if caught.prompt is not None:
        await review.on_prompt_text(update, context, caught.prompt)
        raise ApplicationHandlerStop
    if caught.draft is not None:
        outcome = await _run(update, context, _event_of(message))
        if outcome is not None:
            await _show(update, context, outcome, caught.draft.prompt_message_id)
        raise ApplicationHandlerStop


async def new_postulate(update: Update, context: Ctx) -> None:
    """/postulate: start a draft, or continue the one under way."""
    if not is_consented(context):
        await reply(update, text(context, "error.consent-required"))
        return
    outcome = await _run(update, context, DraftEvent(name="start"))
    if outcome is not None:
        await _show(update, context, outcome)


def _event(data: object) -> DraftEvent | None:
    """The draft event a draft button stands for."""
    if (call := buttons.SubmitToCall.parse(data)) is not None:
        return DraftEvent(name="start", slug=call.slug)
    if (sector := buttons.PickSector.parse(data)) is not None:
        return DraftEvent(name="sector", number=sector.team_id)
    if (similar := buttons.SupportSimilar.parse(data)) is not None:
        return DraftEvent(name="support", number=similar.postulate_id)
    if (submit := buttons.Submit.parse(data)) is not None:
        return DraftEvent(name="submit", number=submit.draft_id)
    if (behalf := buttons.OnBehalf.parse(data)) is not None:
        return DraftEvent(name="behalf", kind=behalf.who)
    if (edit := buttons.EditField.parse(data)) is not None:
        return DraftEvent(name="edit", kind=edit.field)
    if (step := buttons.DraftStep.parse(data)) is not None:
        return DraftEvent(name=step.step)
    return None


async def on_draft_button(update: Update, context: Ctx) -> None:
    """A draft button: the step's answer; the prompt moves on to a new message."""
    query = require_query(update)
    event = _event(query.data)
    if event is None:
        await answer_stale(update, context)
        return
    outcome = await _run(update, context, event)
    if outcome is None:
        return
    await query.answer()
    body, markup = views.draft(reader(context), outcome)
    deps = context.deps
    chat = require_actor(context).user_id
    prompt_id: int | None
    if buttons.SubmitToCall.parse(query.data) is not None:
        # The call's announcement stays as it is: the draft starts below it.
        prompt_id = (await context.bot.send_message(chat, body, reply_markup=markup)).message_id
    else:
        # The pressed message becomes the next step, so no old button stays live.
        try:
            await query.edit_message_text(body, reply_markup=markup)
            # An edited message keeps its id (GuardedBot does not parse Telegram's echo).
            prompt_id = query.message.message_id if query.message is not None else None
        except BadRequest:
            await query.edit_message_reply_markup(reply_markup=None)
            sent = await context.bot.send_message(chat, body, reply_markup=markup)
            prompt_id = sent.message_id
    if outcome.draft is not None and prompt_id is not None:
        await drafts.remember_prompt(deps.db, chat, prompt_id, deps.clock())


async def my_postulates(update: Update, context: Ctx) -> None:
    """/my_postulates: mine with state and the last answer, buttons to open each."""
    if not is_consented(context):
        await reply(update, text(context, "error.consent-required"))
        return
    mine = await reviews.my_postulates(context.deps.db, require_actor(context).user_id)
    if not mine:
        await reply(update, text(context, "postulates.mine-empty"))
        return
    await reply(update, *cards.mine(reader(context), mine))


async def support_command(update: Update, context: Ctx) -> None:
    """/support P-2026-0042: co-sign a postulate for my organisation."""
    if not is_consented(context):
        await reply(update, text(context, "error.consent-required"))
        return
    args = context.args or []
    if len(args) != 1:
        await reply(update, text(context, "postulates.support-usage"))
        return
    actor = require_actor(context)
    deps = context.deps
    try:
        postulate = await service.support_by_reference(
            deps.db, actor.user_id, args[0], settings(context), deps.clock()
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    await reply(update, cards.supported(reader(context), postulate))


async def on_support_button(update: Update, context: Ctx) -> None:
    """The support button on a postulate's card: co-sign it, the button goes."""
    query = require_query(update)
    press = buttons.SupportCard.parse(query.data)
    actor = require_actor(context)
    deps = context.deps
    try:
        if press is None:
            raise StaleButton()
        postulate = await service.support(
            deps.db, actor.user_id, press.postulate_id, settings(context), deps.clock()
        )
    except StaleButton:
        await answer_stale(update, context)
        return
    except DomainError as error:
        await refuse(update, context, error)
        return
    await query.answer(as_alert(cards.supported(reader(context), postulate)), show_alert=True)
    await query.edit_message_reply_markup(reply_markup=None)


async def browse(update: Update, context: Ctx) -> None:
    """/postulates: live postulates of the sectors I follow, to read and co-sign."""
    if not is_consented(context):
        await reply(update, text(context, "error.consent-required"))
        return
    found = await reviews.browse(context.deps.db, require_actor(context).user_id)
    if not found:
        await reply(update, text(context, "postulates.browse-empty"))
        return
    await reply(update, *cards.browsed(reader(context), found))


def parse_deadline(value: str, context: Ctx) -> datetime:
    """A call's last day, typed as /new_meeting's dates are (`2026-12-31`, `31.12.2026`,
    `31.12`: without a year, the next such day); the call closes at its end (23:59 local).
    Raises dates.UnreadableDate or dates.ImpossibleDate."""
    today = context.deps.clock().astimezone(context.deps.config.zone).date()
    day = dates.local_date(value, today)
    return datetime.combine(day, time(23, 59), tzinfo=context.deps.config.zone).astimezone(UTC)


async def call_command(update: Update, context: Ctx) -> None:
    """/call <sector> <date> <title>: open a call for postulates (moderators)."""
    actor = require_actor(context)
    if not actor.is_moderator:
        await reply(update, text(context, "error.not-allowed"))
        return
    args = context.args or []
    if len(args) < 3:
        await reply(update, text(context, "postulates.call-usage"))
        return
    try:
        deadline = parse_deadline(args[1], context)
    except ValueError:
        await reply(update, text(context, "postulates.call-bad-date", value=args[1]))
        return
    deps = context.deps
    try:
        call = await calls.open_call(
            deps.db,
            actor.user_id,
            args[0],
            " ".join(args[2:]),
            deadline,
            deps.clock(),
            actor.language,
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    await reply(
        update,
        text(
            context,
            "postulates.call-opened-ok",
            title=call.title,
            **datefmt.phrases(deadline, actor.language, context.deps.config.zone),
        ),
    )


def register(app: App) -> None:
    """Install the draft interceptor, the postulate commands and buttons, and /review."""
    app.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE, intercept),
        group=GROUP,
    )
    app.add_handler(CommandHandler("postulate", new_postulate, PRIVATE))
    app.add_handler(CommandHandler("my_postulates", my_postulates, PRIVATE))
    app.add_handler(CommandHandler("postulates", browse, PRIVATE))
    app.add_handler(CommandHandler("support", support_command, PRIVATE))
    app.add_handler(CommandHandler("call", call_command, PRIVATE))
    for button in buttons.DRAFT_BUTTONS:
        app.add_handler(PersonalButton(on_draft_button, pattern=button.pattern()))
    app.add_handler(PersonalButton(on_support_button, pattern=buttons.SupportCard.pattern()))
    review.register(app)
