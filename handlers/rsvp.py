"""RSVP buttons on the meeting card (going / maybe / not going) and the attendee CSV export."""

from __future__ import annotations

import re

from telegram import Chat, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler

from bot.context import App, Ctx
from bot.errors import ConsentRequired, DomainError, NotAllowed, StaleButton
from bot.services import rsvp as rsvp_service
from bot.services.schedule import MeetingView
from handlers.common import (
    answer_stale,
    callback_ints,
    require_actor,
    require_private,
    require_query,
    text,
)
from handlers.schedule import meeting_card
from storage.rsvps import Answer

ANSWER = re.compile(r"rsvp:(going|maybe|no):([0-9]{1,9})")
CSV = re.compile(r"rsvp:csv:([0-9]{1,9})")
_ANSWERS: dict[str, Answer] = {"going": "going", "maybe": "maybe", "no": "not_going"}
_CONFIRM_KEYS: dict[Answer, str] = {
    "going": "rsvp.going",
    "maybe": "rsvp.maybe",
    "not_going": "rsvp.not-going",
}


async def answer(update: Update, context: Ctx) -> None:
    """Record the presser's answer; the reply goes to them alone, even under a group card."""
    query = require_query(update)
    match = ANSWER.fullmatch(query.data or "")
    if match is None:
        await answer_stale(update, context)
        return
    actor = require_actor(context)
    deps = context.deps
    try:
        outcome = await rsvp_service.answer(
            deps.db,
            user_id=actor.user_id,
            meeting_id=int(match.group(2)),
            answer=_ANSWERS[match.group(1)],
            notice_version=deps.config.privacy.notice_version,
            texts=deps.texts,
            zone=deps.config.zone,
            now=deps.clock(),
        )
    except StaleButton:
        await answer_stale(update, context)
        return
    except DomainError as exc:
        await query.answer(text(context, exc.key), show_alert=True)
        return
    if outcome.waiting_rank is not None:
        confirmation = text(context, "rsvp.waiting", position=outcome.waiting_rank)
    else:
        confirmation = text(context, _CONFIRM_KEYS[outcome.rsvp.answer])
    await query.answer(confirmation)
    chat = update.effective_chat
    private = chat is not None and chat.type == Chat.PRIVATE
    if outcome.changed and private and actor.moderates(outcome.meeting.team_id):
        # The moderator's own card shows the counts: redraw them after their answer.
        view = MeetingView(
            meeting=outcome.meeting, team=outcome.team, mine=outcome.rsvp, counts=outcome.counts
        )
        body, markup = meeting_card(
            view,
            actor.language,
            deps.texts,
            zone=deps.config.zone,
            bot_username=context.bot.username,
            now=deps.clock(),
            moderator_tools=True,
        )
        try:
            await query.edit_message_text(body, parse_mode=ParseMode.HTML, reply_markup=markup)
        except BadRequest as exc:
            if "not modified" not in exc.message:
                raise


async def export_csv(update: Update, context: Ctx) -> None:
    """Send the meeting's attendee list as a CSV document (moderators of its sector only)."""
    query = require_query(update)
    if not await require_private(update, context):
        return
    ids = callback_ints(query.data, CSV)
    if ids is None:
        await answer_stale(update, context)
        return
    actor = require_actor(context)
    deps = context.deps
    try:
        export = await rsvp_service.export_attendees(
            deps.db, moderated=actor.moderates, meeting_id=ids[0]
        )
    except StaleButton:
        await answer_stale(update, context)
        return
    except NotAllowed:
        await query.answer(text(context, "error.not-allowed"), show_alert=True)
        return
    except ConsentRequired:
        await query.answer(text(context, "error.consent-required"), show_alert=True)
        return
    data = rsvp_service.attendees_csv(export, actor.language, deps.texts, deps.config.zone)
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
        parse_mode=ParseMode.HTML,
    )


def register(app: App) -> None:
    """Install the RSVP buttons and the CSV export."""
    app.add_handler(CallbackQueryHandler(export_csv, pattern=r"^rsvp:csv:"))
    app.add_handler(CallbackQueryHandler(answer, pattern=r"^rsvp:"))
