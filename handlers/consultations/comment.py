"""Consultations, Comment (members): a comment on a section, a proposed wording, on whose behalf,
a preview, then send.

Each step is the flow's prompt (handlers/prompts.py): a press edits it into the next step, a
typed answer gets one new message, a wrong one the error and the question together. The section
itself stays on screen above (it is what the comment is about)."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import MessageHandler, filters

from bot.context import Ctx
from bot.errors import DomainError
from bot.services import consultations as service
from bot.services.consultations import CommentDraft
from handlers import flow
from handlers.common import (
    PersonalButton,
    answer_stale,
    problem,
    refuse,
    require_actor,
    require_message,
    require_query,
    text,
)
from handlers.consultations.steps import (
    END,
    TIMEOUT,
    CommentStep,
    Handler,
)
from handlers.flow import Flow
from handlers.prompts import Prompted, joined, show
from handlers.views import consultations as views
from handlers.views.consultations import button
from storage.consultations import Section

# ---------------------------------------------------------------- Comment (members)


class CommentState(CommentDraft, Prompted):
    """The Comment flow's state: the service's draft and the prompt the next step edits."""


def _comment(context: Ctx) -> CommentState:
    return flow.state(context, CommentState)


async def _ask(
    update: Update,
    context: Ctx,
    question: str,
    markup: InlineKeyboardMarkup | None = None,
    before: str = "",
) -> None:
    """Show a step's question as the prompt, after `before` (an error, or what was chosen)."""
    await show(update, context, _comment(context), joined(before, question), markup)


def _comment_question(context: Ctx, section: Section) -> str:
    low, high = service.COMMENT_LIMITS
    return text(
        context,
        "consultations.ask-comment",
        number=section.number,
        section=section.title[:120],
        min=low,
        max=high,
    )


def _wording_markup(context: Ctx) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(text(context, "consultations.button-skip"), views.SkipWording())]]
    )


async def comment_start(update: Update, context: Ctx) -> int:
    """Comment on a section: checked (consent, the window), then ask the text."""
    query = require_query(update)
    press = views.StartComment.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return END
    deps = context.deps
    try:
        section = await service.start_comment(
            deps.db,
            require_actor(context),
            press.section_id,
            deps.config.privacy.notice_version,
            deps.clock(),
        )
    except DomainError as error:
        await refuse(update, context, error)
        return END
    _comment(context).section_id = section.id
    await query.answer()
    await _ask(update, context, _comment_question(context, section))
    return CommentStep.BODY


async def _still_open(update: Update, context: Ctx) -> Section | None:
    deps = context.deps
    try:
        return await service.start_comment(
            deps.db,
            require_actor(context),
            _comment(context).section_id,
            deps.config.privacy.notice_version,
            deps.clock(),
        )
    except DomainError as error:
        await refuse(update, context, error)
        return None


async def on_body(update: Update, context: Ctx) -> int:
    """The comment's text; then the optional proposed wording."""
    section = await _still_open(update, context)
    if section is None:
        return END
    try:
        body = service.check_comment(require_message(update).text or "")
    except DomainError as error:
        question = _comment_question(context, section)
        await _ask(update, context, question, before=problem(context, error))
        return CommentStep.BODY
    _comment(context).body = body
    await _ask(
        update, context, text(context, "consultations.ask-wording"), _wording_markup(context)
    )
    return CommentStep.WORDING


async def _after_wording(update: Update, context: Ctx, before: str = "") -> int:
    organisation = await service.representing(context.deps.db, require_actor(context))
    if organisation is None:
        _comment(context).organisation_id = None
        return await _preview(update, context, before)
    markup = InlineKeyboardMarkup(
        [
            [button(organisation[1][:60], views.Behalf("org"))],
            [button(text(context, "consultations.behalf-me"), views.Behalf("me"))],
        ]
    )
    await _ask(update, context, text(context, "consultations.ask-behalf"), markup, before)
    return CommentStep.BEHALF


async def on_wording(update: Update, context: Ctx) -> int:
    """A proposed wording."""
    if await _still_open(update, context) is None:
        return END
    try:
        wording = service.check_wording(require_message(update).text or "")
    except DomainError as error:
        question = text(context, "consultations.ask-wording")
        await _ask(update, context, question, _wording_markup(context), problem(context, error))
        return CommentStep.WORDING
    _comment(context).wording = wording
    return await _after_wording(update, context)


async def on_skip(update: Update, context: Ctx) -> int:
    """No proposed wording: the question becomes the next one."""
    _comment(context).wording = None
    await require_query(update).answer()
    return await _after_wording(update, context, text(context, "consultations.wording-skipped"))


async def on_behalf(update: Update, context: Ctx) -> int:
    """For my organisation or for myself."""
    press = views.Behalf.parse(require_query(update).data)
    if press is None:
        await answer_stale(update, context)
        return CommentStep.BEHALF
    draft = _comment(context)
    if press.who == "org":
        organisation = await service.representing(context.deps.db, require_actor(context))
        if organisation is None:
            await refuse(update, context, service.NotRepresentative())
            return CommentStep.BEHALF
        draft.organisation_id = organisation[0]
        chosen = organisation[1]
    else:
        draft.organisation_id = None
        chosen = text(context, "consultations.behalf-me-short")
    await require_query(update).answer()
    return await _preview(update, context, text(context, "consultations.behalf-chosen", who=chosen))


async def _preview(update: Update, context: Ctx, before: str = "") -> int:
    deps = context.deps
    actor = require_actor(context)
    try:
        checked = await service.preview(deps.db, actor, _comment(context), deps.clock())
    except DomainError as error:
        await refuse(update, context, error)
        return END
    body, markup = views.comment_preview(deps.texts, actor.language, checked)
    await _ask(update, context, body, markup, before)
    return CommentStep.PREVIEW


async def on_send(update: Update, context: Ctx) -> int:
    """Send: stored if the window is still open; the preview shows it was sent."""
    deps = context.deps
    try:
        stored = await service.submit(
            deps.db,
            require_actor(context),
            _comment(context),
            deps.config.privacy.notice_version,
            deps.clock(),
        )
    except DomainError as error:
        await refuse(update, context, error)
        await require_query(update).edit_message_reply_markup(None)
        return END
    await require_query(update).answer()
    await _ask(
        update,
        context,
        text(context, "consultations.sent", number=stored.section_number, id=stored.id),
        InlineKeyboardMarkup(
            [
                [
                    button(
                        text(context, "consultations.button-contents"),
                        views.Contents(stored.consultation_id, 0),
                    )
                ]
            ]
        ),
    )
    return END


async def behalf_use_buttons(update: Update, context: Ctx) -> int:
    """Text where 'on whose behalf' buttons are expected: say so, with the question again."""
    if await _still_open(update, context) is None:
        return END
    return await _after_wording(update, context, text(context, "consultations.use-buttons"))


async def preview_use_buttons(update: Update, context: Ctx) -> int:
    """Text where Send is expected: say so, with the preview again."""
    return await _preview(update, context, text(context, "consultations.use-buttons"))


async def comment_abort(update: Update, context: Ctx) -> int:
    """/cancel or the Cancel button: nothing is stored."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    await _ask(update, context, text(context, "consultations.comment-cancelled"))
    return END


def comment_flow() -> Flow:
    """The Comment conversation: text, optional wording, on whose behalf, preview, Send."""
    typed = filters.UpdateType.MESSAGE & ~filters.COMMAND
    steps: dict[int, list[Handler]] = {
        CommentStep.BODY: [MessageHandler(typed & filters.TEXT, on_body)],
        CommentStep.WORDING: [
            PersonalButton(on_skip, pattern=views.SkipWording.pattern()),
            MessageHandler(typed & filters.TEXT, on_wording),
        ],
        CommentStep.BEHALF: [
            PersonalButton(on_behalf, pattern=views.Behalf.pattern()),
            MessageHandler(typed, behalf_use_buttons),
        ],
        CommentStep.PREVIEW: [
            PersonalButton(on_send, pattern=views.Send.pattern()),
            MessageHandler(typed, preview_use_buttons),
        ],
    }
    for handlers in steps.values():
        handlers.insert(0, PersonalButton(comment_abort, pattern=views.Abort.pattern()))
    return Flow(
        name="consultation-comment",
        model=CommentState,
        commands=(),
        entry_points=[PersonalButton(comment_start, pattern=views.StartComment.pattern())],
        steps=steps,
        cancel=comment_abort,
        timeout=TIMEOUT,
        expired_key="consultations.timeout",
    )
