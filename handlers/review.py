"""Review of postulates: /review (queue and actions), the decisions, /export, postulate cards.

Every button is typed (handlers/views/postulates.py); the service re-reads the presser's
roles and the postulate's state in the database, so a forged or stale button changes nothing.
"""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.ext import CommandHandler

from bot import export
from bot.context import App, Ctx
from bot.errors import DomainError, NotAllowed, StaleButton
from bot.i18n import Html
from bot.services import postulates_review as reviews
from bot.services.postulates import InvalidInput
from bot.services.postulates_review import Card
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
from storage.postulates import Postulate, Prompt


def reader(context: Ctx) -> views.Reader:
    """The actor as the reader of a screen."""
    return views.Reader(
        context.deps.texts, require_actor(context).language, context.deps.config.zone
    )


async def show_queue(update: Update, context: Ctx) -> None:
    """/review: my sectors' queue (and, for admins, the decisions), oldest first."""
    queue = await reviews.review_queue(context.deps.db, require_actor(context).user_id)
    if not queue.is_moderator:
        await reply(update, text(context, "error.not-allowed"))
        return
    await reply(update, *views.queue(reader(context), queue))


async def _send_card(context: Ctx, card: Card) -> None:
    r = reader(context)
    actor = require_actor(context)
    # The service re-checks the role when hide or show is pressed; this only offers it.
    moderates = actor.is_admin or card.postulate.team_id in actor.moderated_team_ids
    await context.bot.send_message(
        actor.user_id,
        views.card_text(r, card),
        reply_markup=views.card_markup(r, card, moderates=moderates),
    )


async def _done(update: Update, context: Ctx, action: str, changed: Postulate) -> None:
    """Wake the engine (the notices leave now) and say what was done in the alert."""
    context.deps.engine.wake()
    done = text(context, f"postulates.done-{action}", reference=changed.reference)
    await require_query(update).answer(as_alert(done))


async def _prompt(context: Ctx, action: str, postulate: Postulate) -> None:
    """Ask for the text the action needs (reason, question, reference, answer, decision)."""
    await context.bot.send_message(
        require_actor(context).user_id,
        text(context, f"postulates.prompt-{action}", reference=postulate.reference),
    )


async def on_button(update: Update, context: Ctx) -> None:
    """rev: buttons: open, act at once, or wait for the reason/answer text."""
    query = require_query(update)
    actor = require_actor(context)
    deps = context.deps
    now = deps.clock()
    data = query.data
    try:
        if (move := views.MoveTo.parse(data)) is not None:
            changed = await reviews.act(
                deps.db, actor.user_id, "move", move.postulate_id, now, target=move.team_id
            )
            await _done(update, context, "move", changed)
            return
        if (opened := views.OpenForReview.parse(data)) is not None:
            pid = opened.postulate_id
            # Render, send, then commit: a card that cannot be sent opens nothing.
            card = await reviews.peek_card(deps.db, actor.user_id, pid)
            await query.answer()
            await _send_card(context, card)
            await reviews.open_card(deps.db, actor.user_id, pid, now)
            return
        if (full := views.FullText.parse(data)) is not None:
            card = await reviews.card(deps.db, actor.user_id, full.postulate_id)
            await query.answer()
            await _send_full_text(context, card)
            return
        if (file := views.Attachment.parse(data)) is not None:
            card = await reviews.card(deps.db, actor.user_id, file.postulate_id)
            await query.answer()
            await _send_attachment(context, card)
            return
        press = views.Review.parse(data)
        if press is None:
            raise StaleButton()
        pid = press.postulate_id
        if press.action == "forward":
            changed = await reviews.act(deps.db, actor.user_id, "forward", pid, now)
            await _done(update, context, "forward", changed)
            await query.edit_message_reply_markup(reply_markup=None)
            return
        if press.action == "move":
            card = await reviews.card(deps.db, actor.user_id, pid)
            if "move" not in card.actions:
                raise NotAllowed()
            body, markup = views.move_targets(reader(context), card)
            await query.answer()
            await context.bot.send_message(actor.user_id, body, reply_markup=markup)
            return
        postulate = await reviews.prepare(deps.db, actor.user_id, press.action, pid, now)
    except StaleButton:
        await answer_stale(update, context)
        return
    except DomainError as error:
        await refuse(update, context, error)
        return
    await query.answer()
    await _prompt(context, press.action, postulate)


async def _send_full_text(context: Ctx, card: Card) -> None:
    body = views.full_text(reader(context), card).encode("utf-8")
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


async def author_button(update: Update, context: Ctx) -> None:
    """The author's buttons: withdraw, answer a question, open the card."""
    query = require_query(update)
    actor = require_actor(context)
    deps = context.deps
    now = deps.clock()
    data = query.data
    try:
        if (opened := views.OpenCard.parse(data)) is not None:
            card = await reviews.card(deps.db, actor.user_id, opened.postulate_id)
            await query.answer()
            await _send_card(context, card)
            return
        if (withdraw := views.Withdraw.parse(data)) is not None:
            pid = withdraw.postulate_id
            changed = await reviews.act(deps.db, actor.user_id, "withdraw", pid, now)
            await _done(update, context, "withdraw", changed)
            await query.edit_message_reply_markup(reply_markup=None)
            return
        answer = views.AnswerQuestion.parse(data)
        if answer is None:
            raise StaleButton()
        pid = answer.postulate_id
        postulate = await reviews.prepare(deps.db, actor.user_id, "answer", pid, now)
    except StaleButton:
        await answer_stale(update, context)
        return
    except DomainError as error:
        await refuse(update, context, error)
        return
    await query.answer()
    await _prompt(context, "answer", postulate)


async def on_prompt_text(update: Update, context: Ctx, prompt: Prompt) -> None:
    """The text a review action waited for: reason, question, reference, answer, decision."""
    message = update.effective_message
    actor = require_actor(context)
    deps = context.deps
    if message is None or not message.text or prompt.postulate_id is None:
        await reply(update, text(context, "postulates.error-expected-text"))
        return
    action: reviews.Action = prompt.action  # type: ignore[assignment]
    try:
        changed = await reviews.act(
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
        await reviews.drop_prompt(deps.db, actor.user_id)
        await refuse(update, context, error)
        return
    await reply(update, text(context, f"postulates.done-{action}", reference=changed.reference))


async def export_command(update: Update, context: Ctx) -> None:
    """/export: CSV and JSON of the postulates I may see, filtered by the arguments."""
    if not is_consented(context):
        await reply(update, text(context, "error.consent-required"))
        return
    actor = require_actor(context)
    if not actor.is_moderator:
        await reply(update, text(context, "error.not-allowed"))
        return
    deps = context.deps
    try:
        request = export.parse_request(
            context.args or [], now=deps.clock(), zone=deps.config.zone, language=actor.language
        )
        if request is None:
            await reply(update, text(context, "postulates.export-usage"))
            return
        files = await export.export_for_user(
            deps.db, actor.user_id, request, deps.config.postulates.csv_delimiter
        )
    except DomainError as error:
        await refuse(update, context, error)
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
    for button in views.REVIEW_BUTTONS:
        app.add_handler(PersonalButton(on_button, pattern=button.pattern()))
    for mine in views.AUTHOR_BUTTONS:
        app.add_handler(PersonalButton(author_button, pattern=mine.pattern()))
