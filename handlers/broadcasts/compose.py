"""Broadcasts: /broadcast (audience, message, preview, now or later, confirm).

Each step is the flow's prompt (handlers/prompts.py): a press edits it into the next step, a
typed answer gets one new message, and a wrong answer gets the error and the question together."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import datefmt, engine
from bot.context import Ctx
from bot.errors import DomainError
from bot.i18n import Html
from bot.services import broadcasts as service
from bot.services.broadcasts import Draft, Prepared
from handlers import flow, prompts, views
from handlers.broadcasts import buttons
from handlers.broadcasts.formatting import formatted_html
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
    say,
    text,
)
from handlers.flow import Flow
from handlers.prompts import Prompted, joined, show
from handlers.views.meetings import zone_name

TIMEOUT = timedelta(minutes=30)
END = flow.END


class Step(IntEnum):
    AUDIENCE = 1
    MESSAGE = 2
    PREVIEW = 3
    WHEN = 4
    CONFIRM = 5


class ComposeState(Draft, Prompted):
    """The conversation's state (kept in the database, handlers/flow): the service's Draft and
    the prompt message the next step edits."""


def _draft(context: Ctx) -> ComposeState:
    return flow.state(context, ComposeState)


def _ask_message(context: Ctx) -> Html:
    return text(
        context,
        "broadcasts.ask-message",
        limit=service.TEXT_LIMIT,
        parts=service.MAX_PARTS,
        caption=service.CAPTION_LIMIT,
    )


# ---------------------------------------------------------------- /broadcast


async def _audience_markup(context: Ctx) -> InlineKeyboardMarkup:
    actor = require_actor(context)
    draft = _draft(context)
    rows = []
    for team in await service.sectors(context.deps.db, actor):
        mark = "✅ " if team.id in draft.team_ids and not draft.everyone else ""
        label = mark + team.name(actor.language)
        rows.append([InlineKeyboardButton(label, callback_data=buttons.Sector(team.id).pack())])
    if actor.is_admin:
        mark = "✅ " if draft.everyone else ""
        label = mark + text(context, "broadcasts.button-everyone")
        rows.append([InlineKeyboardButton(label, callback_data=buttons.Everyone().pack())])
    rows.append([button(context, "broadcasts.button-next", buttons.Next())])
    rows.append([button(context, "broadcasts.button-abort", buttons.Abort())])
    return InlineKeyboardMarkup(rows)


async def start(update: Update, context: Ctx) -> int:
    """/broadcast: moderators (their sectors) and admins (also every subscriber)."""
    if not is_consented(context):
        await reply(update, text(context, "error.consent-required"))
        return END
    if not require_actor(context).is_moderator:
        await reply(update, text(context, "broadcasts.not-moderator"))
        return END
    return await _ask(update, context, Step.AUDIENCE)


async def _ask(update: Update, context: Ctx, step: Step, before: str = "") -> int:
    """Show a step's question as the prompt (after `before`: an error, or "resumed")."""
    markup: InlineKeyboardMarkup | None = None
    if step == Step.AUDIENCE:
        body = text(context, "broadcasts.ask-audience")
        markup = await _audience_markup(context)
    elif step == Step.WHEN:
        body = text(context, "broadcasts.ask-when", zone=_zone(context))
    elif step in (Step.PREVIEW, Step.CONFIRM):
        prepared = await _prepared(update, context)
        if prepared is None:
            return END
        if step == Step.PREVIEW:
            body, markup = _reach(context, prepared), _preview_actions(context)
        else:
            body, markup = _confirmation(context, prepared)
    else:
        body = _ask_message(context)
    await show(update, context, _draft(context), joined(before, body), markup)
    return step


async def on_audience(update: Update, context: Ctx) -> int:
    """Toggle a sector (re-checked) or everyone (admins), shown in place."""
    query = require_query(update)
    actor = require_actor(context)
    draft = _draft(context)
    if buttons.Everyone.parse(query.data) is not None:
        if not actor.is_admin:
            await answer_stale(update, context)
            return Step.AUDIENCE
        draft.everyone = not draft.everyone
    else:
        press = buttons.Sector.parse(query.data)
        if press is None:
            await answer_stale(update, context)
            return Step.AUDIENCE
        try:
            team = await service.check_sector(context.deps.db, actor, press.team_id)
        except DomainError as error:
            await refuse(update, context, error)
            return Step.AUDIENCE
        draft.everyone = False
        if team.id in draft.team_ids:
            draft.team_ids = [t for t in draft.team_ids if t != team.id]
        else:
            draft.team_ids = [*draft.team_ids, team.id]
    await query.answer()
    await query.edit_message_reply_markup(await _audience_markup(context))
    return Step.AUDIENCE


async def on_audience_done(update: Update, context: Ctx) -> int:
    """Next: at least one sector or everyone."""
    query = require_query(update)
    draft = _draft(context)
    if not draft.everyone and not draft.team_ids:
        await query.answer(text(context, "broadcasts.no-audience"), show_alert=True)
        return Step.AUDIENCE
    await query.answer()
    return await _ask(update, context, Step.MESSAGE)


async def on_message(update: Update, context: Ctx) -> int:
    """The message: text, or a photo or document with a caption; formatting kept."""
    message = require_message(update)
    draft = _draft(context)
    try:
        if message.photo:
            photo = message.photo[-1]
            service.check_attachment("photo", photo.file_size)
            body = formatted_html(message.caption or "", message.caption_entities)
            photo_id, document_id = photo.file_id, None
        elif message.document is not None:
            service.check_attachment("document", message.document.file_size)
            body = formatted_html(message.caption or "", message.caption_entities)
            photo_id, document_id = None, message.document.file_id
        elif message.text:
            body = formatted_html(message.text, message.entities)
            photo_id, document_id = None, None
        else:
            raise service.EmptyMessage()
        candidate = draft.model_copy(
            update={"body": body, "photo_file_id": photo_id, "document_file_id": document_id}
        )
        prepared = await service.prepare(
            context.deps.db, require_actor(context), candidate, _header_room(context)
        )
    except DomainError as error:
        return await _ask(update, context, Step.MESSAGE, problem(context, error))
    draft.body, draft.photo_file_id, draft.document_file_id = body, photo_id, document_id
    return await _preview(update, context, prepared)


def _header_room(context: Ctx) -> service.HeaderRoom:
    return views.broadcasts.header_room(context.deps.texts)


async def _preview(update: Update, context: Ctx, prepared: Prepared) -> int:
    """The parts exactly as recipients get them, then who they reach and what next."""
    actor = require_actor(context)
    chat = update.effective_chat
    assert chat is not None
    state = _draft(context)
    await prompts.clear(context, chat.id, state)  # the parts come between: no live button above
    await say(update, text(context, "broadcasts.preview-intro"))
    for part in prepared.parts:
        message = views.broadcasts.part(part, actor.language, context.deps.texts)
        await engine.send_rendered(context.bot, chat.id, message)
    # Written below the parts: a new message, even after a press.
    state.prompt_id = None
    await show(update, context, state, _reach(context, prepared), _preview_actions(context))
    return Step.PREVIEW


def _preview_actions(context: Ctx) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button(context, "broadcasts.button-now", buttons.Now())],
            [button(context, "broadcasts.button-later", buttons.Later())],
            [button(context, "broadcasts.button-abort", buttons.Abort())],
        ]
    )


def _reach(context: Ctx, prepared: Prepared) -> Html:
    language = require_actor(context).language
    texts = context.deps.texts
    body = texts.plural(language, "broadcasts.reach", prepared.audience.people)
    if prepared.audience.groups:
        groups = texts.plural(language, "broadcasts.reach-groups", prepared.audience.groups)
        body = Html(f"{body} {groups}")
    return body


async def on_now(update: Update, context: Ctx) -> int:
    """Send now: confirm first."""
    await require_query(update).answer()
    _draft(context).due_at = None
    return await _ask(update, context, Step.CONFIRM)


def _zone(context: Ctx) -> str:
    """The deployment's zone as people name it ("czas polski")."""
    deps = context.deps
    return zone_name(deps.config.timezone, require_actor(context).language, deps.texts)


async def on_later(update: Update, context: Ctx) -> int:
    """Send later: ask the local date and time."""
    await require_query(update).answer()
    return await _ask(update, context, Step.WHEN)


async def on_when(update: Update, context: Ctx) -> int:
    """A typed local date and time: in the future, within MAX_AHEAD."""
    deps = context.deps
    try:
        due = service.parse_when(require_message(update).text or "", deps.config.zone, deps.clock())
    except DomainError as error:
        problem = text(context, error.key, zone=_zone(context), days=service.MAX_AHEAD.days)
        return await _ask(update, context, Step.WHEN, problem)
    _draft(context).due_at = due
    return await _ask(update, context, Step.CONFIRM)


async def _prepared(update: Update, context: Ctx) -> Prepared | None:
    """The draft checked again (a role may be gone); a refusal ends the flow, said in place."""
    deps = context.deps
    try:
        return await service.prepare(
            deps.db, require_actor(context), _draft(context), _header_room(context)
        )
    except DomainError as error:
        await show(update, context, _draft(context), problem(context, error))
        return None


def _confirmation(context: Ctx, prepared: Prepared) -> tuple[Html, InlineKeyboardMarkup]:
    draft = _draft(context)
    reach = _reach(context, prepared)
    if draft.due_at is None:
        body = text(context, "broadcasts.confirm-now", reach=reach)
    else:
        body = text(
            context, "broadcasts.confirm-later", reach=reach, **_local(context, draft.due_at)
        )
    markup = InlineKeyboardMarkup(
        [
            [button(context, "broadcasts.button-confirm", buttons.Confirm())],
            [button(context, "broadcasts.button-abort", buttons.Abort())],
        ]
    )
    return body, markup


def _local(context: Ctx, instant: datetime) -> Mapping[str, str]:
    language = require_actor(context).language
    return datefmt.phrases(instant, language, context.deps.config.zone)


async def on_confirm(update: Update, context: Ctx) -> int:
    """Queue it; the confirmation message becomes the progress message."""
    query = require_query(update)
    deps = context.deps
    pressed = query.message
    try:
        broadcast = await service.create(
            deps.db,
            require_actor(context),
            _draft(context),
            header_room=_header_room(context),
            now=deps.clock(),
            progress_chat_id=None if pressed is None else pressed.chat.id,
            progress_message_id=None if pressed is None else pressed.message_id,
        )
    except DomainError as error:
        await refuse(update, context, error)
        return END
    deps.engine.wake()  # its notices leave now, not at the next interval
    await query.answer()
    if broadcast.due_at > deps.clock():
        body = text(
            context, "broadcasts.scheduled", id=broadcast.id, **_local(context, broadcast.due_at)
        )
    else:
        body = text(context, "broadcasts.queued", id=broadcast.id)
    await query.edit_message_text(body)
    return END


async def abort(update: Update, context: Ctx) -> int:
    """/cancel or the Cancel button: nothing is stored."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    await show(update, context, _draft(context), text(context, "broadcasts.aborted"))
    return END


def _use_buttons(step: Step) -> Callable[[Update, Ctx], Coroutine[Any, Any, int]]:
    async def use_buttons(update: Update, context: Ctx) -> int:
        """Text where a button is expected: say so, with the question and its buttons again."""
        return await _ask(update, context, step, text(context, "broadcasts.use-buttons"))

    return use_buttons


async def resume(update: Update, context: Ctx, step: int) -> int:
    """/broadcast while a paused one waits: show where it stood again."""
    resumed = text(context, "flow.resumed")
    if step == Step.PREVIEW:
        await reply(update, resumed)
        prepared = await _prepared(update, context)
        return END if prepared is None else await _preview(update, context, prepared)
    return await _ask(update, context, Step(step), resumed)


def broadcast_flow() -> Flow:
    """The /broadcast conversation."""
    typed = filters.UpdateType.MESSAGE & ~filters.COMMAND
    steps: dict[int, list[BaseHandler[Update, Ctx, object]]] = {
        Step.AUDIENCE: [
            CallbackQueryHandler(on_audience_done, pattern=buttons.Next.pattern()),
            CallbackQueryHandler(on_audience, pattern=buttons.Sector.pattern()),
            CallbackQueryHandler(on_audience, pattern=buttons.Everyone.pattern()),
            MessageHandler(typed, _use_buttons(Step.AUDIENCE)),
        ],
        Step.MESSAGE: [MessageHandler(typed, on_message)],
        Step.PREVIEW: [
            CallbackQueryHandler(on_now, pattern=buttons.Now.pattern()),
            CallbackQueryHandler(on_later, pattern=buttons.Later.pattern()),
            MessageHandler(typed, _use_buttons(Step.PREVIEW)),
        ],
        Step.WHEN: [MessageHandler(typed & filters.TEXT, on_when)],
        Step.CONFIRM: [
            CallbackQueryHandler(on_confirm, pattern=buttons.Confirm.pattern()),
            MessageHandler(typed, _use_buttons(Step.CONFIRM)),
        ],
    }
    # The Cancel button works in every step, like /cancel.
    for handlers in steps.values():
        handlers.insert(0, CallbackQueryHandler(abort, pattern=buttons.Abort.pattern()))
    return Flow(
        name="broadcast",
        model=ComposeState,
        commands=("broadcast",),
        entry_points=[CommandHandler("broadcast", start, PRIVATE)],
        steps=steps,
        cancel=abort,
        timeout=TIMEOUT,
        expired_key="broadcasts.timeout",
        resume=resume,
    )
