"""Broadcasts: /broadcasts (history with counts, cancel) and the progress message edited
while a broadcast goes out."""

from __future__ import annotations

from datetime import datetime, timedelta

import telegram
from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot import datefmt, engine
from bot.config import Language
from bot.context import Ctx
from bot.deps import Deps
from bot.errors import DomainError
from bot.i18n import Html
from bot.services import broadcasts as service
from bot.services.broadcasts import Status
from handlers.broadcasts.buttons import CancelBroadcast
from handlers.common import (
    answer_stale,
    button,
    refuse,
    reply,
    require_actor,
    require_query,
    text,
)
from handlers.views.meetings import local_when

# ---------------------------------------------------------------- /broadcasts


def _counts_line(context: Ctx, status: Status, language: Language) -> Html:
    counts = status.counts
    return context.deps.texts.get(
        language,
        "broadcasts.counts",
        sent=counts.sent,
        failed=counts.failed,
        blocked=counts.blocked,
        unknown=counts.unknown,
        pending=counts.pending + counts.sending,
        expired=counts.expired,
    )


def _status_text(deps: Deps, status: Status, language: Language, counts: Html) -> Html:
    broadcast = status.broadcast
    return deps.texts.get(
        language,
        f"broadcasts.phase-{status.phase}",
        id=broadcast.id,
        # The scheduled phase says "na sobotę, …"; the others put the day in brackets.
        when=local_when(broadcast.due_at, language, deps.config.zone),
        **datefmt.phrases(broadcast.due_at, language, deps.config.zone),
        summary=broadcast.summary,
        counts=counts,
    )


async def _history(context: Ctx) -> tuple[Html, InlineKeyboardMarkup | None]:
    actor = require_actor(context)
    deps = context.deps
    found = await service.history(deps.db, actor)
    if not found:
        return text(context, "broadcasts.history-empty"), None
    lines = [text(context, "broadcasts.history-title")]
    rows = []
    for status, cancellable in found:
        line = _status_text(
            deps, status, actor.language, _counts_line(context, status, actor.language)
        )
        lines.append(line)
        if cancellable:
            rows.append(
                [
                    button(
                        context,
                        "broadcasts.button-cancel",
                        CancelBroadcast(status.broadcast.id),
                        id=status.broadcast.id,
                    )
                ]
            )
    return Html("\n\n".join(lines)), InlineKeyboardMarkup(rows) if rows else None


async def show_history(update: Update, context: Ctx) -> None:
    """/broadcasts: the latest broadcasts with their counts; cancel buttons where allowed."""
    if not require_actor(context).is_moderator:
        await reply(update, text(context, "broadcasts.not-moderator"))
        return
    body, markup = await _history(context)
    await reply(update, body, markup)


async def on_cancel(update: Update, context: Ctx) -> None:
    """A Cancel button of /broadcasts: re-checked (it may be forged or the role gone)."""
    query = require_query(update)
    press = CancelBroadcast.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    deps = context.deps
    broadcast_id = press.broadcast_id
    try:
        await service.cancel(deps.db, require_actor(context), broadcast_id, deps.clock())
    except DomainError as error:
        await refuse(update, context, error)
        return
    await query.answer(text(context, "broadcasts.cancelled", id=broadcast_id))
    body, markup = await _history(context)
    await query.edit_message_text(body, reply_markup=markup)


# ---------------------------------------------------------------- progress


def progress_hook() -> engine.AfterSettle:
    """The engine's after-settle hook that edits progress messages in place, each at most
    every few seconds, outside any transaction."""
    looked: list[datetime] = []  # when the progress was last looked at during a run

    async def progress(deps: Deps, bot: telegram.Bot, final: bool) -> None:
        now = deps.clock()
        if not final and looked and now - looked[0] < timedelta(seconds=1):
            return
        looked[:] = [now]
        await _edit_progress(deps, bot, now)

    return progress


async def _edit_progress(deps: Deps, bot: telegram.Bot, now: datetime) -> None:
    edited: list[tuple[int, bool]] = []
    for item in await service.due_progress(deps.db, now):
        broadcast = item.status.broadcast
        counts = deps.texts.get(
            item.language,
            "broadcasts.counts",
            sent=item.status.counts.sent,
            failed=item.status.counts.failed,
            blocked=item.status.counts.blocked,
            unknown=item.status.counts.unknown,
            pending=item.status.counts.pending + item.status.counts.sending,
            expired=item.status.counts.expired,
        )
        body = _status_text(deps, item.status, item.language, counts)
        if broadcast.progress_chat_id is None or broadcast.progress_message_id is None:
            continue
        try:
            await bot.edit_message_text(
                body,
                chat_id=broadcast.progress_chat_id,
                message_id=broadcast.progress_message_id,
                parse_mode=ParseMode.HTML,
            )
        except TelegramError as exc:
            # "message is not modified" or the message is gone: nothing to show there.
            if "not modified" not in str(exc):
                edited.append((broadcast.id, True))
                continue
        edited.append((broadcast.id, item.final))
    await service.progress_edited(deps.db, edited, now)
