"""Review of postulates: /review (queue and actions), the decisions, /export, postulate cards.

Every button is `rev:<action>:<id>`; the service re-reads the presser's roles and the
postulate's state in the database, so a forged or stale button changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import CommandHandler

from bot import export, limits
from bot.context import App, Ctx
from bot.errors import DomainError, NotAllowed
from bot.i18n import Html
from bot.services import postulates as service
from bot.services.postulates import Card, InvalidInput
from handlers.common import (
    PRIVATE,
    PersonalButton,
    answer_stale,
    as_alert,
    is_consented,
    refuse,
    reply,
    require_actor,
    require_query,
    text,
)
from handlers.views import postulates as views
from handlers.views.publication import visibility_button
from storage.postulates import Prompt

BUTTON = re.compile(r"rev:(open|fwd|rej|ask|dup|mov|yes|no|file|full):([0-9]{1,9})")
MOVE_TO = re.compile(r"rev:to:([0-9]{1,9}):([0-9]{1,9})")
ACTIONS: dict[str, service.Action] = {
    "fwd": "forward",
    "rej": "reject",
    "ask": "ask",
    "dup": "duplicate",
    "mov": "move",
    "yes": "adopt",
    "no": "not_adopt",
}
CODES: dict[str, str] = {action: code for code, action in ACTIONS.items()}
ALERT_LIMIT = limits.ALERT_LIMIT
CARD_LIMIT = limits.TEXT_LIMIT
# What a shortened card keeps of each long part, in UTF-16 units: the content, each
# clarification or answer, the supporters' names. 1,500 + 4 x 300 + 400 + the head fit.
SHORT_CONTENT = 1500
SHORT_NOTE = 300
SHORT_NAMES = 400


def plain(body: str) -> str:
    """A rendered HTML message as the plain text a button's alert shows (no tags, no entities)."""
    return as_alert(body)


def fit(lines: Sequence[str], limit: int = CARD_LIMIT) -> Html:
    """Join lines into one message under Telegram's limit, ending with … when cut."""
    kept: list[str] = []
    size = 0
    for line in lines:
        # UTF-16 units of the HTML source: never less than Telegram's count of its text.
        cost = limits.utf16_len(line) + 1
        if size + cost > limit - 2:
            kept.append("…")
            break
        kept.append(line)
        size += cost
    return Html("\n".join(kept))


def _fmt(context: Ctx, instant: datetime) -> str:
    return instant.astimezone(context.deps.config.zone).strftime("%Y-%m-%d %H:%M")


def _card_body(context: Ctx, card: Card, short: bool) -> Html:
    """The card; `short` cuts every long part so that the whole fits in one message."""
    actor = require_actor(context)
    lang = actor.language
    p = card.postulate
    texts = context.deps.texts

    def cut(value: str, units: int) -> str:
        return limits.plain_prefix(value, units) if short else value

    extra: list[str] = []
    if p.attachment_type:
        extra.append(
            text(
                context,
                "postulates.card-attachment",
                kind=text(context, f"postulates.attachment-{p.attachment_type}"),
            )
        )
    names = ", ".join(s.organisation_name or "?" for s in card.supports) or "–"
    extra.append(
        text(context, "postulates.card-supports", count=p.supports, names=cut(names, SHORT_NAMES))
    )
    for entry in card.history:
        if entry.action in ("ask", "answer") and entry.note:
            key = "postulates.card-question" if entry.action == "ask" else "postulates.card-reply"
            note = cut(entry.note, SHORT_NOTE)
            extra.append(text(context, key, at=_fmt(context, entry.at), note=note))
    if card.duplicate_reference:
        extra.append(text(context, "postulates.card-duplicate", reference=card.duplicate_reference))
    if p.answer and p.state in ("rejected", "adopted", "not_adopted"):
        extra.append(text(context, "postulates.card-answer", note=cut(p.answer, SHORT_NOTE)))
    if short:
        extra.append(text(context, "postulates.card-shortened"))
    head = text(
        context,
        "postulates.card",
        reference=p.reference,
        state=views.state_name(texts, lang, p.state),
        sector=card.team.name(lang),
        behalf=p.organisation_name or text(context, "postulates.behalf-self"),
        submitted=_fmt(context, p.created_at),
        title=p.title,
        content=cut(p.content, SHORT_CONTENT),
    )
    return Html("\n\n".join([head, *extra]))


def is_long(context: Ctx, card: Card) -> bool:
    """Whether the whole card is over one message, so it shows shortened with a file."""
    return limits.html_length(_card_body(context, card, short=False)) > CARD_LIMIT


def card_text(context: Ctx, card: Card) -> Html:
    """A postulate with its state, supports, clarifications and last answer; text escaped.

    A card over one message shows every long part shortened; its full text comes as a file
    (the "full text" button), so the action buttons stay on the card.
    """
    if not is_long(context, card):
        return _card_body(context, card, short=False)
    # The short parts are sized to fit; shorten() guarantees it whatever the history holds.
    return Html(limits.shorten(_card_body(context, card, short=True), CARD_LIMIT))


def full_text(context: Ctx, card: Card) -> str:
    """The whole card as plain text, for the .txt file of a long card."""
    return limits.visible_text(_card_body(context, card, short=False))


def card_markup(context: Ctx, card: Card) -> InlineKeyboardMarkup | None:
    """Buttons for the actions the viewer may take now."""
    pid = card.postulate.id
    rows = []
    for action in card.actions:
        if action in ("withdraw", "answer"):
            data = f"pst:{action}:{pid}"
        else:
            data = f"rev:{CODES[action]}:{pid}"
        rows.append(
            [InlineKeyboardButton(text(context, f"postulates.action-{action}"), callback_data=data)]
        )
    if card.can_support:
        label = text(context, "postulates.button-support", reference=card.postulate.reference)
        rows.append([InlineKeyboardButton(label, callback_data=f"pst:sup:{pid}")])
    if card.postulate.attachment_type:
        rows.append(
            [
                InlineKeyboardButton(
                    text(context, "postulates.action-file"), callback_data=f"rev:file:{pid}"
                )
            ]
        )
    if is_long(context, card):
        label = text(context, "postulates.action-full")
        rows.append([InlineKeyboardButton(label, callback_data=f"rev:full:{pid}")])
    actor = require_actor(context)
    moderates = actor.is_admin or card.postulate.team_id in actor.moderated_team_ids
    if moderates and card.postulate.state != "withdrawn":
        hidden = card.postulate.hidden_at is not None
        rows.append([visibility_button(context.deps.texts, actor.language, pid, hidden)])
    return InlineKeyboardMarkup(rows) if rows else None


async def show_queue(update: Update, context: Ctx) -> None:
    """/review: my sectors' queue (and, for admins, the decisions), oldest first."""
    actor = require_actor(context)
    deps = context.deps
    queue = await service.review_queue(deps.db, actor.user_id)
    if not queue.is_moderator:
        await reply(update, text(context, "error.not-allowed"))
        return
    counts = queue.counts
    lines = [
        text(
            context,
            "postulates.queue-counts",
            submitted=counts.get("submitted", 0),
            in_review=counts.get("in_review", 0),
            clarification=counts.get("clarification", 0),
            forwarded=counts.get("forwarded", 0),
        )
    ]
    rows = []
    if queue.review:
        lines.append(text(context, "postulates.queue-review"))
    else:
        lines.append(text(context, "postulates.queue-empty"))
    for p in queue.review:
        lines.append(
            text(
                context,
                "postulates.queue-item",
                reference=p.reference,
                title=p.title,
                submitted=_fmt(context, p.created_at),
            )
        )
        rows.append([InlineKeyboardButton(p.reference, callback_data=f"rev:open:{p.id}")])
    if queue.is_admin:
        lines.append(text(context, "postulates.queue-decisions", count=len(queue.decisions)))
        for p in queue.decisions:
            lines.append(
                text(
                    context,
                    "postulates.queue-item",
                    reference=p.reference,
                    title=p.title,
                    submitted=_fmt(context, p.created_at),
                )
            )
            rows.append([InlineKeyboardButton(p.reference, callback_data=f"rev:open:{p.id}")])
    await reply(update, fit(lines), InlineKeyboardMarkup(rows) if rows else None)


async def _send_card(context: Ctx, card: Card) -> None:
    await context.bot.send_message(
        require_actor(context).user_id,
        card_text(context, card),
        reply_markup=card_markup(context, card),
    )


async def on_button(update: Update, context: Ctx) -> None:
    """rev:<action>:<id> buttons: open, act at once, or wait for the reason/answer text."""
    query = require_query(update)
    actor = require_actor(context)
    deps = context.deps
    now = deps.clock()
    move = MOVE_TO.fullmatch(query.data or "")
    match = BUTTON.fullmatch(query.data or "")
    if move is None and match is None:
        await answer_stale(update, context)
        return
    try:
        if move is not None:
            changed = await service.act(
                deps.db, actor.user_id, "move", int(move[1]), now, target=int(move[2])
            )
            deps.engine.wake()  # its notices leave now, not at the next interval
            await query.answer(
                plain(text(context, "postulates.done-move", reference=changed.reference))
            )
            return
        assert match is not None
        code, pid = match[1], int(match[2])
        if code == "open":
            # Render, send, then commit: a card that cannot be sent opens nothing.
            card = await service.peek_card(deps.db, actor.user_id, pid)
            await query.answer()
            await _send_card(context, card)
            await service.open_card(deps.db, actor.user_id, pid, now)
            return
        if code == "full":
            card = await service.card(deps.db, actor.user_id, pid)
            await query.answer()
            await _send_full_text(context, card)
            return
        if code == "file":
            card = await service.card(deps.db, actor.user_id, pid)
            await query.answer()
            await _send_attachment(context, card)
            return
        action = ACTIONS[code]
        if action == "forward":
            changed = await service.act(deps.db, actor.user_id, action, pid, now)
            deps.engine.wake()  # its notices leave now, not at the next interval
            await query.answer(
                plain(text(context, "postulates.done-forward", reference=changed.reference))
            )
            await query.edit_message_reply_markup(reply_markup=None)
            return
        if action == "move":
            card = await service.card(deps.db, actor.user_id, pid)
            if "move" not in card.actions:
                raise NotAllowed()
            rows = [
                [
                    InlineKeyboardButton(
                        team.name(actor.language), callback_data=f"rev:to:{pid}:{team.id}"
                    )
                ]
                for team in card.sectors
            ]
            await query.answer()
            await context.bot.send_message(
                actor.user_id,
                text(context, "postulates.ask-move", reference=card.postulate.reference),
                reply_markup=InlineKeyboardMarkup(rows),
            )
            return
        postulate = await service.prepare(deps.db, actor.user_id, action, pid, now)
    except DomainError as error:
        await refuse(update, context, error)
        return
    await query.answer()
    await context.bot.send_message(
        actor.user_id,
        text(context, f"postulates.prompt-{action}", reference=postulate.reference),
    )


async def _send_full_text(context: Ctx, card: Card) -> None:
    body = full_text(context, card).encode("utf-8")
    reference = card.postulate.reference
    await context.bot.send_document(
        require_actor(context).user_id,
        InputFile(body, filename=f"{reference}.txt"),
        caption=text(context, "postulates.full-caption", reference=reference),
    )


async def _send_attachment(context: Ctx, card: Card) -> None:
    p = card.postulate
    chat = require_actor(context).user_id
    if p.attachment_file_id is None:
        return
    caption = p.reference
    if p.attachment_type == "photo":
        await context.bot.send_photo(chat, p.attachment_file_id, caption=caption)
    elif p.attachment_type == "voice":
        await context.bot.send_voice(chat, p.attachment_file_id, caption=caption)
    else:
        await context.bot.send_document(chat, p.attachment_file_id, caption=caption)


async def author_button(update: Update, context: Ctx, name: str, pid: int) -> None:
    """The author's buttons: withdraw, answer a question, open the card."""
    query = require_query(update)
    actor = require_actor(context)
    deps = context.deps
    now = deps.clock()
    try:
        if name == "card":
            card = await service.card(deps.db, actor.user_id, pid)
            await query.answer()
            await _send_card(context, card)
            return
        if name == "withdraw":
            changed = await service.act(deps.db, actor.user_id, "withdraw", pid, now)
            deps.engine.wake()  # its notices leave now, not at the next interval
            await query.answer(
                plain(text(context, "postulates.done-withdraw", reference=changed.reference))
            )
            await query.edit_message_reply_markup(reply_markup=None)
            return
        postulate = await service.prepare(deps.db, actor.user_id, "answer", pid, now)
    except DomainError as error:
        await refuse(update, context, error)
        return
    await query.answer()
    await context.bot.send_message(
        actor.user_id,
        text(context, "postulates.prompt-answer", reference=postulate.reference),
    )


async def on_prompt_text(update: Update, context: Ctx, prompt: Prompt) -> None:
    """The text a review action waited for: reason, question, reference, answer, decision."""
    message = update.effective_message
    actor = require_actor(context)
    deps = context.deps
    if message is None or not message.text or prompt.postulate_id is None:
        await reply(update, text(context, "postulates.error-expected-text"))
        return
    action: service.Action = prompt.action  # type: ignore[assignment]
    try:
        changed = await service.act(
            deps.db,
            actor.user_id,
            action,
            prompt.postulate_id,
            deps.clock(),
            note=message.text,
        )
        deps.engine.wake()  # its notices leave now, not at the next interval
    except InvalidInput as exc:
        body = text(context, exc.key, **exc.values)
        await reply(update, Html(body + "\n\n" + text(context, "postulates.prompt-again")))
        return
    except DomainError as error:
        await service.drop_prompt(deps.db, actor.user_id)
        await refuse(update, context, error)
        return
    await reply(update, text(context, f"postulates.done-{action}", reference=changed.reference))


def parse_export_args(args: list[str]) -> export.ExportRequest | None:
    """`/export [csv|json] [sector=SLUG] [state=STATE] [from=YYYY-MM-DD] [to=YYYY-MM-DD]`."""
    values: dict[str, object] = {}
    for arg in args:
        if arg in ("csv", "json"):
            values["formats"] = (arg,)
            continue
        key, sep, value = arg.partition("=")
        if not sep or key not in ("sector", "state", "from", "to"):
            return None
        try:
            if key in ("from", "to"):
                values[{"from": "since", "to": "until"}[key]] = datetime.strptime(
                    value, "%Y-%m-%d"
                ).replace(tzinfo=UTC)
            elif key == "state":
                values["states"] = tuple(value.split(","))
            else:
                values["sector"] = value
        except ValueError:
            return None
    try:
        return export.ExportRequest.model_validate(values)
    except ValueError:
        return None


async def export_command(update: Update, context: Ctx) -> None:
    """/export: CSV and JSON of the postulates I may see, filtered by the arguments."""
    if not is_consented(context):
        await reply(update, text(context, "error.consent-required"))
        return
    actor = require_actor(context)
    if not actor.is_moderator:
        await reply(update, text(context, "error.not-allowed"))
        return
    request = parse_export_args(context.args or [])
    if request is None:
        await reply(update, text(context, "postulates.export-usage"))
        return
    deps = context.deps
    try:
        files = await export.export_for_user(
            deps.db, actor.user_id, request, deps.config.postulates.csv_delimiter
        )
    except (NotAllowed, export.BadFilter) as exc:
        await reply(update, text(context, exc.key, **exc.values))
        return
    stamp = deps.clock().astimezone(deps.config.zone).strftime("%Y%m%d-%H%M")
    for fmt, (data, count) in files.items():
        await context.bot.send_document(
            actor.user_id,
            InputFile(data, filename=f"postulates-{stamp}.{fmt}"),
            caption=text(context, "postulates.export-caption", count=count),
        )


def register(app: App) -> None:
    """Install /review, its buttons and /export."""
    app.add_handler(CommandHandler("review", show_queue, PRIVATE))
    app.add_handler(CommandHandler("export", export_command, PRIVATE))
    app.add_handler(PersonalButton(on_button, pattern=r"^rev:"))
