"""Publication on the public site: the authors' *Yes, publish* / *No*, a moderator's hide/show."""

from __future__ import annotations

from datetime import timedelta
from enum import IntEnum

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import MessageHandler, filters

from bot.context import App, Ctx
from bot.errors import DomainError
from bot.services import publication as service
from handlers.common import (
    PersonalButton,
    answer_stale,
    refuse,
    require_actor,
    require_message,
    require_query,
    text,
)
from handlers.flow import END, Flow, Flows, state
from handlers.prompts import Prompted, joined, show
from handlers.views.publication import HideButton, PublishAnswer, ShowButton, visibility_button

TIMEOUT = timedelta(minutes=30)


class Step(IntEnum):
    REASON = 1


class HideState(Prompted):
    """The postulate a moderator is hiding, until the reason is typed."""

    postulate_id: int = 0


async def on_answer(update: Update, context: Ctx) -> None:
    """*Yes, publish* / *No*: the first answer counts; the message shows where it stands."""
    query = require_query(update)
    press = PublishAnswer.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    actor = require_actor(context)
    try:
        result = await service.answer(
            context.deps.db, actor.user_id, press.postulate_id, press.answer == "yes"
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    await query.answer()
    key = "publication.answered-yes" if result.publication == "yes" else "publication.answered-no"
    await query.edit_message_text(
        text(context, key, reference=result.reference, title=result.title)
    )


async def hide_start(update: Update, context: Ctx) -> int:
    """*Hide from the public site*: ask for the reason (the audit log keeps it)."""
    query = require_query(update)
    press = HideButton.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return END
    hiding = state(context, HideState)
    hiding.postulate_id = press.postulate_id
    await query.answer()
    # The card stays above (it is what is being hidden); the question comes below it.
    await show(update, context, hiding, text(context, "publication.hide-reason"))
    return Step.REASON


async def hide_reason(update: Update, context: Ctx) -> int | None:
    """The reason typed: hide the postulate, or say what is wrong and ask again."""
    message = require_message(update)
    actor = require_actor(context)
    deps = context.deps
    hiding = state(context, HideState)
    postulate_id = hiding.postulate_id
    try:
        result = await service.hide(
            deps.db, actor.user_id, postulate_id, message.text or "", deps.clock()
        )
    except service.InvalidReason as error:
        low, high = service.REASON_LIMITS
        problem = text(context, error.key, low=low, high=high)
        await show(
            update, context, hiding, joined(problem, text(context, "publication.hide-reason"))
        )
        return None
    except DomainError as error:
        await refuse(update, context, error)
        return END
    markup = InlineKeyboardMarkup(
        [[visibility_button(deps.texts, actor.language, postulate_id, hidden=True)]]
    )
    body = text(context, "publication.hidden", reference=result.reference)
    await show(update, context, hiding, body, markup)
    return END


async def hide_cancel(update: Update, context: Ctx) -> int:
    """/cancel: the postulate stays as it was."""
    cancelled = text(context, "publication.hide-cancelled")
    await show(update, context, state(context, HideState), cancelled)
    return END


async def on_show(update: Update, context: Ctx) -> None:
    """*Show again*: the postulate is back on the site; the message offers hiding again."""
    query = require_query(update)
    press = ShowButton.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    actor = require_actor(context)
    deps = context.deps
    try:
        result = await service.show(deps.db, actor.user_id, press.postulate_id, deps.clock())
    except DomainError as error:
        await refuse(update, context, error)
        return
    await query.answer()
    markup = InlineKeyboardMarkup(
        [[visibility_button(deps.texts, actor.language, press.postulate_id, hidden=False)]]
    )
    await query.edit_message_text(
        text(context, "publication.shown", reference=result.reference), reply_markup=markup
    )


def hide_flow() -> Flow:
    """The hide conversation: the button, then the reason."""
    typed = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
    return Flow(
        name="hide",
        model=HideState,
        commands=(),
        entry_points=[PersonalButton(hide_start, pattern=HideButton.pattern())],
        steps={Step.REASON: [MessageHandler(typed, hide_reason)]},
        cancel=hide_cancel,
        timeout=TIMEOUT,
        expired_key="publication.hide-timeout",
    )


def register(app: App, flows: Flows) -> None:
    """Install the publication answers and the hide/show buttons."""
    app.add_handler(PersonalButton(on_answer, pattern=PublishAnswer.pattern()))
    app.add_handler(PersonalButton(on_show, pattern=ShowButton.pattern()))
    flows.add(app, hide_flow())
