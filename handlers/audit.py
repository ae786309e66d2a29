"""Audit log: /audit (admins; newest first, 10 a page with ‹ › buttons), /audit csv and the
`audit:` buttons (pages, CSV export as a document)."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import App, Ctx
from bot.errors import NotAllowed
from bot.i18n import Html
from bot.services import audit as service
from bot.services.audit import AuditPage
from handlers.common import (
    PRIVATE,
    answer_stale,
    reply,
    require_actor,
    require_query,
    text,
)
from handlers.views.audit import CsvButton, PageButton, page_view


def _render(context: Ctx, page: AuditPage) -> tuple[Html, InlineKeyboardMarkup | None]:
    deps = context.deps
    return page_view(page, require_actor(context).language, deps.texts, deps.config.zone)


async def show_audit(update: Update, context: Ctx) -> None:
    """/audit: the newest page; /audit csv: the whole log as a file."""
    args = context.args or []
    if args and [a.lower() for a in args] != ["csv"]:
        await reply(update, text(context, "audit.usage"))
        return
    if args:
        await _send_csv(update, context)
        return
    try:
        page = await service.page(context.deps.db, require_actor(context), 0)
    except NotAllowed:
        # The log's own wording: "only admins read the audit log", not the generic refusal.
        await reply(update, text(context, "audit.admins-only"))
        return
    await reply(update, *_render(context, page))


async def turn_page(update: Update, context: Ctx) -> None:
    """‹ ›: another page, edited in place; re-checked (the button may be old or forged)."""
    query = require_query(update)
    press = PageButton.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    try:
        page = await service.page(context.deps.db, require_actor(context), press.page)
    except NotAllowed:
        await answer_stale(update, context)
        return
    await query.answer()
    body, markup = _render(context, page)
    try:
        await query.edit_message_text(body, reply_markup=markup)
    except BadRequest as error:
        # Pressing the same page twice: Telegram refuses an edit that changes nothing.
        if "not modified" not in error.message.lower():
            raise


async def csv_button(update: Update, context: Ctx) -> None:
    """The CSV button: the whole log as a document (admins only, re-checked)."""
    query = require_query(update)
    if CsvButton.parse(query.data) is None or not require_actor(context).is_admin:
        await answer_stale(update, context)
        return
    await query.answer()
    await _send_csv(update, context)


async def _send_csv(update: Update, context: Ctx) -> None:
    deps = context.deps
    actor = require_actor(context)
    try:
        data, count = await service.export_csv(
            deps.db,
            actor,
            zone=deps.config.zone,
            delimiter=deps.config.postulates.csv_delimiter,
        )
    except NotAllowed:
        if update.callback_query is not None:
            await answer_stale(update, context)
        else:
            await reply(update, text(context, "audit.admins-only"))
        return
    stamp = deps.clock().astimezone(deps.config.zone).strftime("%Y%m%d-%H%M")
    await context.bot.send_document(
        actor.user_id,
        InputFile(data, filename=f"audit-{stamp}.csv"),
        caption=deps.texts.plural(actor.language, "audit.csv-caption", count),
    )


def register(app: App) -> None:
    """Install /audit and its buttons."""
    app.add_handler(CommandHandler("audit", show_audit, PRIVATE))
    app.add_handler(CallbackQueryHandler(turn_page, pattern=PageButton.pattern()))
    app.add_handler(CallbackQueryHandler(csv_button, pattern=CsvButton.pattern()))
