"""Audit log: /audit (admins; newest first, 10 a page with ‹ › buttons), /audit csv and the
`audit:` buttons (pages, CSV export as a document)."""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import App, Ctx
from bot.errors import NotAllowed
from bot.i18n import Html, escape
from bot.services import audit as service
from bot.services.audit import AuditPage
from handlers.common import (
    PRIVATE,
    answer_stale,
    callback_ints,
    reply,
    require_actor,
    require_query,
    text,
)
from handlers.roles import person
from storage.audit import AuditEntry

PAGE = re.compile(r"audit:page:([0-9]{1,6})")
# A line of details stays short: the CSV export has them whole.
DETAILS_MAX = 160


def _details(entry: AuditEntry) -> str:
    if not entry.details:
        return ""
    parts = [f"{key}: {value}" for key, value in entry.details.items() if value is not None]
    joined = "; ".join(parts)
    if len(joined) > DETAILS_MAX:
        joined = joined[: DETAILS_MAX - 1] + "…"
    return "\n" + escape(joined) if joined else ""


def _entry(context: Ctx, entry: AuditEntry, names: dict[int, str]) -> str:
    actor = require_actor(context)
    texts = context.deps.texts
    key = f"audit.action.{entry.action}"
    action = texts.get(actor.language, key) if texts.has(actor.language, key) else entry.action
    when = entry.at.astimezone(context.deps.config.zone).strftime("%Y-%m-%d %H:%M")
    return text(
        context,
        "audit.entry",
        when=when,
        who=person(context, entry.actor_id, names.get(entry.actor_id)),
        action=action,
        target=entry.target,
        details=Html(_details(entry)),
    )


def _render(context: Ctx, page: AuditPage) -> tuple[str, InlineKeyboardMarkup | None]:
    if page.total == 0:
        return text(context, "audit.empty"), None
    title = text(context, "audit.title", total=page.total, page=page.page + 1, pages=page.pages)
    body = "\n\n".join([title, *(_entry(context, entry, page.names) for entry in page.entries)])
    nav: list[InlineKeyboardButton] = []
    if page.page > 0:
        nav.append(
            InlineKeyboardButton(
                text(context, "audit.button-prev"), callback_data=f"audit:page:{page.page - 1}"
            )
        )
    if page.page + 1 < page.pages:
        nav.append(
            InlineKeyboardButton(
                text(context, "audit.button-next"), callback_data=f"audit:page:{page.page + 1}"
            )
        )
    csv_row = [InlineKeyboardButton(text(context, "audit.button-csv"), callback_data="audit:csv")]
    return body, InlineKeyboardMarkup([nav, csv_row] if nav else [csv_row])


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
        await reply(update, text(context, "audit.admins-only"))
        return
    body, markup = _render(context, page)
    await reply(update, body, markup)


async def turn_page(update: Update, context: Ctx) -> None:
    """‹ ›: another page, edited in place; re-checked (the button may be old or forged)."""
    query = require_query(update)
    ids = callback_ints(query.data, PAGE)
    if ids is None:
        await answer_stale(update, context)
        return
    try:
        page = await service.page(context.deps.db, require_actor(context), ids[0])
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
    query = require_query(update)
    if query.data != "audit:csv" or not require_actor(context).is_admin:
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
    app.add_handler(CallbackQueryHandler(turn_page, pattern=r"^audit:page:"))
    app.add_handler(CallbackQueryHandler(csv_button, pattern=r"^audit:csv"))
