"""Consultations, reading: the deep link consultation-<id>, contents and sections, /consultation
(the list, managing, the answer queue, publishing), /my_comments and /consultation_report <id>."""

from __future__ import annotations

import re

from telegram import InlineKeyboardMarkup, InputFile, Update

from bot.consultation_report import to_docx
from bot.context import Ctx
from bot.errors import DomainError
from bot.services import consultations as service
from handlers import start as start_handlers
from handlers.common import (
    answer_stale,
    is_consented,
    refuse,
    reply,
    require_actor,
    require_message,
    require_query,
    say,
    text,
)
from handlers.consultations.steps import END, LINK, _edit
from handlers.views import consultations as views
from handlers.views.consultations import button

# ---------------------------------------------------------------- reading and the deep link


async def _show_contents(update: Update, context: Ctx, consultation_id: int, page: int) -> None:
    deps = context.deps
    actor = require_actor(context)
    try:
        view = await service.contents(deps.db, actor, consultation_id, deps.clock())
    except DomainError as error:
        await refuse(update, context, error)
        return
    body, markup = views.contents(deps.texts, actor.language, deps.config.zone, view, page)
    if update.callback_query is not None:
        await _edit(update, body, markup)
    else:
        await reply(update, body, markup)


async def start_link(update: Update, context: Ctx) -> None:
    """/start consultation-<id>: greet (and ask consent) if new, then the table of contents."""
    match = LINK.fullmatch((context.args or [""])[0])
    if match is None or not is_consented(context):
        await start_handlers.start(update, context)
    if match is not None:
        await _show_contents(update, context, int(match.group(1)), 0)


async def on_contents(update: Update, context: Ctx) -> None:
    """A table-of-contents page (the notice's Read and comment, ◀ ▶, back from a section)."""
    press = views.Contents.parse(require_query(update).data)
    if press is None:
        await answer_stale(update, context)
        return
    await _show_contents(update, context, press.consultation_id, press.page)


async def on_section(update: Update, context: Ctx) -> None:
    """A section's page, edited in place."""
    press = views.Read.parse(require_query(update).data)
    if press is None:
        await answer_stale(update, context)
        return
    deps = context.deps
    actor = require_actor(context)
    try:
        view = await service.section(deps.db, actor, press.section_id, deps.clock())
    except DomainError as error:
        await refuse(update, context, error)
        return
    body, markup = views.section(deps.texts, actor.language, deps.config.zone, view, press.page)
    await _edit(update, body, markup)


async def show_list(update: Update, context: Ctx) -> None:
    """/consultation: the consultations; admins also get New and each one's answers."""
    deps = context.deps
    actor = require_actor(context)
    found = await service.list_consultations(deps.db, actor)
    rows = []
    for consultation in found[:20]:
        label = f"{consultation.id}. {consultation.title[:50]}"
        if actor.is_admin:
            rows.append([button(label, views.Manage(consultation.id))])
        elif consultation.state == "published":
            rows.append([button(label, views.Contents(consultation.id, 0))])
    if actor.is_admin:
        rows.append([button(text(context, "consultations.button-new"), views.New())])
    key = "consultations.list" if rows else "consultations.list-empty"
    await reply(update, text(context, key), InlineKeyboardMarkup(rows) if rows else None)


async def on_manage(update: Update, context: Ctx) -> None:
    """An admin's view of one consultation: its contents and the answers still to give."""
    press = views.Manage.parse(require_query(update).data)
    actor = require_actor(context)
    if press is None or not actor.is_admin:
        await answer_stale(update, context)
        return
    deps = context.deps
    try:
        view = await service.contents(deps.db, actor, press.consultation_id, deps.clock())
        waiting = await service.queue(deps.db, actor, press.consultation_id)
    except DomainError as error:
        await refuse(update, context, error)
        return
    body, markup = views.contents(deps.texts, actor.language, deps.config.zone, view, 0)
    rows = [list(row) for row in markup.inline_keyboard]
    if view.phase == "draft":
        rows.append(
            [
                button(
                    text(context, "consultations.button-publish"),
                    views.Publish(view.consultation.id),
                )
            ]
        )
    else:
        label = text(context, "consultations.button-queue", count=len(waiting.comments))
        rows.append([button(label, views.AnswerQueue(view.consultation.id))])
    await _edit(update, body, InlineKeyboardMarkup(rows))


async def on_queue(update: Update, context: Ctx) -> None:
    """The comments waiting for an answer, one card each with the three answers."""
    press = views.AnswerQueue.parse(require_query(update).data)
    actor = require_actor(context)
    if press is None or not actor.is_admin:
        await answer_stale(update, context)
        return
    deps = context.deps
    try:
        waiting = await service.queue(deps.db, actor, press.consultation_id)
    except DomainError as error:
        await refuse(update, context, error)
        return
    await require_query(update).answer()
    if not waiting.comments:
        await say(update, text(context, "consultations.queue-empty"))
        return
    await say(update, text(context, "consultations.queue", count=len(waiting.comments)))
    for comment in waiting.comments:
        body, markup = views.comment_card(deps.texts, actor.language, comment, for_admin=True)
        await say(update, body, markup)


async def on_publish(update: Update, context: Ctx) -> None:
    """Publish a draft shown in an admin's view (outside the New conversation)."""
    await _publish(update, context)


async def _publish(update: Update, context: Ctx) -> int:
    press = views.Publish.parse(require_query(update).data)
    if press is None:
        await answer_stale(update, context)
        return END
    deps = context.deps
    try:
        published = await service.publish(
            deps.db, require_actor(context), press.consultation_id, deps.clock()
        )
    except DomainError as error:
        await refuse(update, context, error)
        return END
    deps.engine.wake()  # the notice leaves now, not at the next interval
    link = f"https://t.me/{context.bot.username}?start=consultation-{published.id}"
    await _edit(update, text(context, "consultations.published", title=published.title, link=link))
    return END


async def my_comments(update: Update, context: Ctx) -> None:
    """/my_comments: my comments with their answers."""
    deps = context.deps
    actor = require_actor(context)
    mine = await service.my_comments(deps.db, actor)
    if not mine:
        await reply(update, text(context, "consultations.my-empty"))
        return
    await reply(update, text(context, "consultations.my", count=len(mine)))
    for comment in mine[-20:]:
        body, _ = views.comment_card(deps.texts, actor.language, comment, for_admin=False)
        await reply(update, body)


async def report(update: Update, context: Ctx) -> None:
    """/consultation_report <id>: publish the report and send it as a .docx."""
    deps = context.deps
    args = context.args or []
    if len(args) != 1 or not re.fullmatch(r"[0-9]{1,9}", args[0]):
        await reply(update, text(context, "consultations.report-usage"))
        return
    try:
        data = await service.publish_report(
            deps.db, require_actor(context), int(args[0]), deps.clock()
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    document = to_docx(data, deps.texts, deps.config.default_language, deps.config.zone)
    await require_message(update).reply_document(
        InputFile(document, filename=f"konsultacje-{data.consultation.id}.docx"),
        caption=text(context, "consultations.report-caption", title=data.consultation.title),
        do_quote=False,
    )
