"""Consultations, answers (admins): accepted, partly accepted or not, with a justification.

The pressed comment card becomes the question (handlers/prompts.py); a wrong justification gets
the error and the question together in one message."""

from __future__ import annotations

from telegram import Update
from telegram.ext import MessageHandler, filters

from bot.context import Ctx
from bot.errors import DomainError
from bot.services import consultations as service
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
from handlers.consultations.steps import END, TIMEOUT, AnswerStep
from handlers.flow import Flow
from handlers.prompts import Prompted, adopt, joined, show
from handlers.views import consultations as views
from storage.consultations import Answer

# ---------------------------------------------------------------- answers (admins)


class AnswerState(Prompted):
    """The answer conversation's state: which comment, which answer."""

    comment_id: int = 0
    answer: Answer = "accepted"


async def answer_start(update: Update, context: Ctx) -> int:
    """An answer button on a comment: the card shows the choice, then ask the justification."""
    query = require_query(update)
    press = views.Verdict.parse(query.data)
    actor = require_actor(context)
    if press is None or not actor.is_admin:
        await answer_stale(update, context)
        return END
    try:
        found = await service.comment(context.deps.db, actor, press.comment_id)
    except DomainError as error:
        await refuse(update, context, error)
        return END
    state = flow.state(context, AnswerState)
    state.comment_id, state.answer = found.id, press.answer
    body, _ = views.comment_card(context.deps.texts, actor.language, found, for_admin=False)
    chosen = text(
        context,
        "consultations.answer-chosen",
        answer=views.answer_label(context.deps.texts, actor.language, press.answer),
    )
    await query.answer()
    adopt(update, state)
    await show(update, context, state, joined(body, chosen, _question(context)))
    return AnswerStep.JUSTIFICATION


def _question(context: Ctx) -> str:
    low, high = service.JUSTIFICATION_LIMITS
    return text(context, "consultations.ask-justification", min=low, max=high)


async def on_justification(update: Update, context: Ctx) -> int:
    """The justification: the answer is saved, audited and its author told."""
    deps = context.deps
    actor = require_actor(context)
    state = flow.state(context, AnswerState)
    try:
        answered = await service.answer(
            deps.db,
            actor,
            state.comment_id,
            state.answer,
            require_message(update).text or "",
            deps.clock(),
        )
    except service.InvalidJustification as error:
        await show(update, context, state, joined(problem(context, error), _question(context)))
        return AnswerStep.JUSTIFICATION
    except DomainError as error:
        await refuse(update, context, error)
        return END
    deps.engine.wake()  # the author hears now, not at the next interval
    body, markup = views.comment_card(deps.texts, actor.language, answered, for_admin=True)
    done = joined(text(context, "consultations.answered"), body)
    await show(update, context, state, done, markup)
    return END


async def answer_cancel(update: Update, context: Ctx) -> int:
    """/cancel: the answer is not changed."""
    state = flow.state(context, AnswerState)
    await show(update, context, state, text(context, "consultations.answer-cancelled"))
    return END


def answer_flow() -> Flow:
    """The answer conversation: a verdict button, then the typed justification."""
    typed = filters.UpdateType.MESSAGE & ~filters.COMMAND
    return Flow(
        name="consultation-answer",
        model=AnswerState,
        commands=(),
        entry_points=[PersonalButton(answer_start, pattern=views.Verdict.pattern())],
        steps={AnswerStep.JUSTIFICATION: [MessageHandler(typed & filters.TEXT, on_justification)]},
        cancel=answer_cancel,
        timeout=TIMEOUT,
        expired_key="consultations.timeout",
    )
