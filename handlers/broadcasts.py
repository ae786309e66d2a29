"""Broadcasts: /broadcast (audience, message, preview, now or later, confirm), /broadcasts
(history with counts, cancel) and the progress message edited while a broadcast goes out."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import IntEnum

import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import engine
from bot.config import Language
from bot.context import App, Ctx, engine_of
from bot.deps import Deps
from bot.errors import DomainError
from bot.i18n import Html
from bot.services import broadcasts as service
from bot.services.broadcasts import Draft, Prepared, Status
from handlers import flow, views
from handlers.common import (
    PRIVATE,
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
from handlers.views.meetings import local_when

TIMEOUT = timedelta(minutes=30)
END = flow.END
AUDIENCE_TEAM = re.compile(r"bc:aud:([0-9]{1,18})")
CANCEL = re.compile(r"bc:cancel:([0-9]{1,18})")


class Step(IntEnum):
    AUDIENCE = 1
    MESSAGE = 2
    PREVIEW = 3
    WHEN = 4
    CONFIRM = 5


def _draft(context: Ctx) -> Draft:
    # The service's Draft is the conversation's state, kept in the database (handlers/flow).
    return flow.state(context, Draft)


def _button(context: Ctx, key: str, data: str, **values: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(text(context, key, **values), callback_data=data)


# ---------------------------------------------------------------- /broadcast


async def _audience_markup(context: Ctx) -> InlineKeyboardMarkup:
    actor = require_actor(context)
    draft = _draft(context)
    rows = []
    for team in await service.sectors(context.deps.db, actor):
        mark = "✅ " if team.id in draft.team_ids and not draft.everyone else ""
        label = mark + team.name(actor.language)
        rows.append([InlineKeyboardButton(label, callback_data=f"bc:aud:{team.id}")])
    if actor.is_admin:
        mark = "✅ " if draft.everyone else ""
        label = mark + text(context, "broadcasts.button-everyone")
        rows.append([InlineKeyboardButton(label, callback_data="bc:aud:all")])
    rows.append([_button(context, "broadcasts.button-next", "bc:aud:done")])
    rows.append([_button(context, "broadcasts.button-abort", "bc:abort")])
    return InlineKeyboardMarkup(rows)


async def start(update: Update, context: Ctx) -> int:
    """/broadcast: moderators (their sectors) and admins (also every subscriber)."""
    if not is_consented(context):
        await reply(update, text(context, "error.consent-required"))
        return END
    if not require_actor(context).is_moderator:
        await reply(update, text(context, "broadcasts.not-moderator"))
        return END
    await reply(update, text(context, "broadcasts.ask-audience"), await _audience_markup(context))
    return Step.AUDIENCE


async def on_audience(update: Update, context: Ctx) -> int:
    """Toggle a sector (re-checked) or everyone (admins), shown in place."""
    query = require_query(update)
    actor = require_actor(context)
    draft = _draft(context)
    if query.data == "bc:aud:all":
        if not actor.is_admin:
            await answer_stale(update, context)
            return Step.AUDIENCE
        draft.everyone = not draft.everyone
    else:
        ids = callback_ints(query.data, AUDIENCE_TEAM)
        if ids is None:
            await answer_stale(update, context)
            return Step.AUDIENCE
        try:
            team = await service.check_sector(context.deps.db, actor, ids[0])
        except DomainError as error:
            await query.answer(text(context, error.key, **error.values), show_alert=True)
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
    await say(
        update,
        text(
            context,
            "broadcasts.ask-message",
            limit=service.TEXT_LIMIT,
            parts=service.MAX_PARTS,
            caption=service.CAPTION_LIMIT,
        ),
    )
    return Step.MESSAGE


# Entity type -> the HTML tag Telegram reads back as that entity. Types missing here (urls,
# mentions, hashtags, commands) Telegram detects again by itself: they stay plain text.
_SIMPLE_TAGS = {
    MessageEntity.BOLD: "b",
    MessageEntity.ITALIC: "i",
    MessageEntity.UNDERLINE: "u",
    MessageEntity.STRIKETHROUGH: "s",
    MessageEntity.SPOILER: "tg-spoiler",
    MessageEntity.CODE: "code",
    MessageEntity.BLOCKQUOTE: "blockquote",
}


def formatted_html(text: str, entities: Sequence[MessageEntity]) -> str:
    """The moderator's text with its formatting as Telegram HTML, every value escaped.

    Not PTB's `text_html`: it leaves a quote in a link's URL or a code block's language
    unescaped, and Telegram then refuses every copy of the broadcast.
    """
    units = text.encode("utf-16-le")

    def plain(start: int, end: int) -> str:
        return html.escape(units[2 * start : 2 * end].decode("utf-16-le"), quote=False)

    def render(start: int, end: int, inside: list[MessageEntity]) -> str:
        out: list[str] = []
        position = start
        index = 0
        while index < len(inside):
            entity = inside[index]
            stop = min(entity.offset + entity.length, end)
            nested: list[MessageEntity] = []
            index += 1
            # Entities starting inside this one nest in it (a partial overlap is clipped).
            while index < len(inside) and inside[index].offset < stop:
                nested.append(inside[index])
                index += 1
            out.append(plain(position, entity.offset))
            if entity.type in (MessageEntity.CODE, MessageEntity.PRE):
                body = plain(entity.offset, stop)  # Telegram allows nothing inside code
            else:
                body = render(entity.offset, stop, nested)
            out.append(_wrap(entity, body))
            position = stop
        out.append(plain(position, end))
        return "".join(out)

    ordered = sorted((e for e in entities if e.length > 0), key=lambda e: (e.offset, -e.length))
    return render(0, len(units) // 2, ordered)


def _wrap(entity: MessageEntity, body: str) -> str:
    def attr(value: object) -> str:
        return html.escape(str(value), quote=True)

    tag = _SIMPLE_TAGS.get(entity.type)
    if tag is not None:
        return f"<{tag}>{body}</{tag}>"
    if entity.type == MessageEntity.EXPANDABLE_BLOCKQUOTE:
        return f"<blockquote expandable>{body}</blockquote>"
    if entity.type == MessageEntity.PRE:
        if entity.language:
            return f'<pre><code class="language-{attr(entity.language)}">{body}</code></pre>'
        return f"<pre>{body}</pre>"
    if entity.type == MessageEntity.TEXT_LINK and entity.url:
        return f'<a href="{attr(entity.url)}">{body}</a>'
    if entity.type == MessageEntity.TEXT_MENTION and entity.user is not None:
        return f'<a href="tg://user?id={entity.user.id}">{body}</a>'
    if entity.type == MessageEntity.CUSTOM_EMOJI and entity.custom_emoji_id:
        return f'<tg-emoji emoji-id="{attr(entity.custom_emoji_id)}">{body}</tg-emoji>'
    return body


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
        await reply(update, text(context, error.key, **error.values))
        return Step.MESSAGE
    draft.body, draft.photo_file_id, draft.document_file_id = body, photo_id, document_id
    return await _preview(update, context, prepared)


def _header_room(context: Ctx) -> service.HeaderRoom:
    return views.broadcasts.header_room(context.deps.texts)


async def _preview(update: Update, context: Ctx, prepared: Prepared) -> int:
    """The parts exactly as recipients get them, then who they reach and what next."""
    actor = require_actor(context)
    chat = update.effective_chat
    assert chat is not None
    await say(update, text(context, "broadcasts.preview-intro"))
    for part in prepared.parts:
        message = views.broadcasts.part(part, actor.language, context.deps.texts)
        await engine.send_rendered(context.bot, chat.id, message)
    actions = InlineKeyboardMarkup(
        [
            [_button(context, "broadcasts.button-now", "bc:now")],
            [_button(context, "broadcasts.button-later", "bc:later")],
            [_button(context, "broadcasts.button-abort", "bc:abort")],
        ]
    )
    await say(update, _reach(context, prepared), actions)
    return Step.PREVIEW


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
    return await _confirm(update, context)


async def on_later(update: Update, context: Ctx) -> int:
    """Send later: ask the local date and time."""
    await require_query(update).answer()
    await say(update, text(context, "broadcasts.ask-when", zone=context.deps.config.timezone))
    return Step.WHEN


async def on_when(update: Update, context: Ctx) -> int:
    """A typed local date and time: in the future, within MAX_AHEAD."""
    deps = context.deps
    try:
        due = service.parse_when(require_message(update).text or "", deps.config.zone, deps.clock())
    except DomainError as error:
        await reply(
            update, text(context, error.key, zone=deps.config.timezone, days=service.MAX_AHEAD.days)
        )
        return Step.WHEN
    _draft(context).due_at = due
    return await _confirm(update, context)


async def _confirm(update: Update, context: Ctx) -> int:
    deps = context.deps
    draft = _draft(context)
    try:
        prepared = await service.prepare(
            deps.db, require_actor(context), draft, _header_room(context)
        )
    except DomainError as error:
        await say(update, text(context, error.key, **error.values))
        return END
    reach = _reach(context, prepared)
    if draft.due_at is None:
        body = text(context, "broadcasts.confirm-now", reach=reach)
    else:
        when = _local(context, draft.due_at)
        body = text(context, "broadcasts.confirm-later", reach=reach, when=when)
    markup = InlineKeyboardMarkup(
        [
            [_button(context, "broadcasts.button-confirm", "bc:confirm")],
            [_button(context, "broadcasts.button-abort", "bc:abort")],
        ]
    )
    await say(update, body, markup)
    return Step.CONFIRM


def _local(context: Ctx, instant: datetime) -> str:
    language = require_actor(context).language
    return local_when(instant, language, context.deps.config.zone)


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
            context, "broadcasts.scheduled", id=broadcast.id, when=_local(context, broadcast.due_at)
        )
    else:
        body = text(context, "broadcasts.queued", id=broadcast.id)
    await query.edit_message_text(body)
    return END


async def abort(update: Update, context: Ctx) -> int:
    """/cancel or the Cancel button: nothing is stored."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    await say(update, text(context, "broadcasts.aborted"))
    return END


async def use_buttons(update: Update, context: Ctx) -> int | None:
    await reply(update, text(context, "broadcasts.use-buttons"))
    return None


async def resume(update: Update, context: Ctx, step: int) -> int:
    """/broadcast while a paused one waits: show where it stood again."""
    await reply(update, text(context, "flow.resumed"))
    if step == Step.AUDIENCE:
        markup = await _audience_markup(context)
        await reply(update, text(context, "broadcasts.ask-audience"), markup)
        return Step.AUDIENCE
    if step == Step.WHEN:
        await reply(update, text(context, "broadcasts.ask-when", zone=context.deps.config.timezone))
        return Step.WHEN
    if step in (Step.PREVIEW, Step.CONFIRM):
        return (
            await _confirm(update, context)
            if step == Step.CONFIRM
            else await _repreview(update, context)
        )
    await reply(
        update,
        text(
            context,
            "broadcasts.ask-message",
            limit=service.TEXT_LIMIT,
            parts=service.MAX_PARTS,
            caption=service.CAPTION_LIMIT,
        ),
    )
    return Step.MESSAGE


async def _repreview(update: Update, context: Ctx) -> int:
    deps = context.deps
    try:
        prepared = await service.prepare(
            deps.db, require_actor(context), _draft(context), _header_room(context)
        )
    except DomainError as error:
        await reply(update, text(context, error.key, **error.values))
        return END
    return await _preview(update, context, prepared)


def broadcast_flow() -> Flow:
    """The /broadcast conversation."""
    typed = filters.UpdateType.MESSAGE & ~filters.COMMAND
    steps: dict[int, list[BaseHandler[Update, Ctx, object]]] = {
        Step.AUDIENCE: [
            CallbackQueryHandler(on_audience_done, pattern=r"^bc:aud:done$"),
            CallbackQueryHandler(on_audience, pattern=r"^bc:aud:"),
            MessageHandler(typed, use_buttons),
        ],
        Step.MESSAGE: [MessageHandler(typed, on_message)],
        Step.PREVIEW: [
            CallbackQueryHandler(on_now, pattern=r"^bc:now$"),
            CallbackQueryHandler(on_later, pattern=r"^bc:later$"),
            MessageHandler(typed, use_buttons),
        ],
        Step.WHEN: [MessageHandler(typed & filters.TEXT, on_when)],
        Step.CONFIRM: [
            CallbackQueryHandler(on_confirm, pattern=r"^bc:confirm$"),
            MessageHandler(typed, use_buttons),
        ],
    }
    # The Cancel button works in every step, like /cancel.
    for handlers in steps.values():
        handlers.insert(0, CallbackQueryHandler(abort, pattern=r"^bc:abort$"))
    return Flow(
        name="broadcast",
        model=Draft,
        commands=("broadcast",),
        entry_points=[CommandHandler("broadcast", start, PRIVATE)],
        steps=steps,
        cancel=abort,
        timeout=TIMEOUT,
        expired_key="broadcasts.timeout",
        resume=resume,
    )


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
        when=local_when(broadcast.due_at, language, deps.config.zone),
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
                    _button(
                        context,
                        "broadcasts.button-cancel",
                        f"bc:cancel:{status.broadcast.id}",
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
    ids = callback_ints(query.data, CANCEL)
    if ids is None:
        await answer_stale(update, context)
        return
    deps = context.deps
    try:
        await service.cancel(deps.db, require_actor(context), ids[0], deps.clock())
    except DomainError as error:
        await query.answer(text(context, error.key, **error.values), show_alert=True)
        return
    await query.answer(text(context, "broadcasts.cancelled", id=ids[0]))
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


def register(app: App, flows: Flows) -> None:
    """Install /broadcast, /broadcasts, the cancel buttons and the progress hook."""
    app.add_handler(CallbackQueryHandler(on_cancel, pattern=r"^bc:cancel:"))
    app.add_handler(CommandHandler("broadcasts", show_history, PRIVATE))
    flows.add(app, broadcast_flow())
    engine_of(app).add_after_settle(progress_hook())
