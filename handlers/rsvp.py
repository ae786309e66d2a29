"""RSVP buttons on the meeting card (going / maybe / not going) and the attendee CSV export."""

from __future__ import annotations

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler

from bot.context import App, Ctx
from bot.errors import DomainError
from bot.services import rsvp as rsvp_service
from bot.services.schedule import MeetingView
from handlers.common import (
    PersonalButton,
    answer_stale,
    in_private_chat,
    refuse,
    require_actor,
    require_query,
    text,
)
from handlers.views.card import meeting_card
from handlers.views.rsvp import AnswerButton, CsvButton, attendees_csv
from storage.rsvps import Answer

_ANSWERS: dict[str, Answer] = {"going": "going", "maybe": "maybe", "no": "not_going"}
_CONFIRM_KEYS: dict[Answer, str] = {
    "going": "rsvp.going",
    "maybe": "rsvp.maybe",
    "not_going": "rsvp.not-going",
}


async def answer(update: Update, context: Ctx) -> None:
    """Record the presser's answer; the reply goes to them alone, even under a group card."""
    query = require_query(update)
    press = AnswerButton.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    actor = require_actor(context)
    deps = context.deps
    try:
        outcome = await rsvp_service.answer(
            deps.db,
            user_id=actor.user_id,
            meeting_id=press.meeting_id,
            answer=_ANSWERS[press.answer],
            notice_version=deps.config.privacy.notice_version,
            now=deps.clock(),
        )
    except DomainError as exc:
        await refuse(update, context, exc)
        return
    if outcome.waiting_rank is not None:
        confirmation = text(context, "rsvp.waiting", position=outcome.waiting_rank)
    else:
        confirmation = text(context, _CONFIRM_KEYS[outcome.rsvp.answer])
    await query.answer(confirmation)
    if not in_private_chat(update):
        # A group's card is everyone's: it cannot show one member's answer (the toast does).
        return
    # The card itself shows the answer now (the chosen button marked, the waiting-list
    # position), for every member; its moderators also see the counts redrawn.
    moderates = actor.moderates(outcome.meeting.team_id)
    view = MeetingView(
        meeting=outcome.meeting,
        team=outcome.team,
        mine=outcome.rsvp,
        counts=outcome.counts if moderates else None,
        waiting_rank=outcome.waiting_rank,
    )
    body, markup = meeting_card(
        view,
        actor.language,
        deps.texts,
        zone=deps.config.zone,
        bot_username=context.bot.username,
        now=deps.clock(),
        moderator_tools=moderates,
    )
    try:
        await query.edit_message_text(body, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in exc.message:
            raise


async def export_csv(update: Update, context: Ctx) -> None:
    """Send the meeting's attendee list as a CSV document (moderators of its sector only)."""
    query = require_query(update)
    press = CsvButton.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    actor = require_actor(context)
    deps = context.deps
    try:
        export = await rsvp_service.export_attendees(
            deps.db, moderated=actor.moderates, meeting_id=press.meeting_id
        )
    except DomainError as exc:
        await refuse(update, context, exc)
        return
    data = attendees_csv(export, actor.language, deps.texts, deps.config.zone)
    await query.answer()
    await context.bot.send_document(
        actor.user_id,
        document=data,
        filename=f"attendees-meeting-{export.meeting.id}.csv",
        caption=text(
            context,
            "rsvp.csv-caption",
            title=export.meeting.title,
            count=len(export.attendees),
        ),
    )


def register(app: App) -> None:
    """Install the RSVP buttons and the CSV export."""
    app.add_handler(PersonalButton(export_csv, pattern=CsvButton.pattern()))
    app.add_handler(CallbackQueryHandler(answer, pattern=AnswerButton.pattern()))
