"""Review of postulates: /review (queue and actions), the decisions, /export, postulate cards.

Opening a card changes nothing; "Take into review" is the moderator's act. Every action the
author hears of shows the notice first and waits for Confirm (or Back); the pressed message is
edited to the card as it stands afterwards. Every button is typed
(handlers/views/postulate_buttons.py); the service re-reads the presser's roles and the
postulate's state, so a forged or stale button changes nothing.
"""

from __future__ import annotations

import contextlib

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest
from telegram.ext import CommandHandler

from bot import export
from bot.context import App, Ctx
from bot.errors import DomainError, NotAllowed, StaleButton
from bot.i18n import Html
from bot.services import postulates_confirm as confirmations
from bot.services import postulates_review as reviews
from bot.services.postulates import InvalidInput
from bot.services.postulates_review import Card
from handlers.common import (
    PRIVATE,
    PersonalButton,
    answer_stale,
    is_consented,
    refuse,
    reply,
    require_actor,
    require_query,
    text,
)
from handlers.views import postulate_buttons as buttons
from handlers.views import postulate_cards as views
from storage.postulates import Prompt


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


def _card(context: Ctx, card: Card) -> tuple[Html, InlineKeyboardMarkup | None]:
    r = reader(context)
    actor = require_actor(context)
    # The service re-checks the role when hide or show is pressed; this only offers it.
    moderates = actor.is_admin or card.postulate.team_id in actor.moderated_team_ids
    return views.card_text(r, card), views.card_markup(r, card, moderates=moderates)


async def _send_card(context: Ctx, card: Card) -> None:
    body, markup = _card(context, card)
    await context.bot.send_message(require_actor(context).user_id, body, reply_markup=markup)


async def _show_card(update: Update, context: Ctx, card: Card, done: str | None = None) -> None:
    """Edit the pressed message to the card as it stands now; the toast says what was done."""
    query = require_query(update)
    await query.answer(done)
    body, markup = _card(context, card)
    await query.edit_message_text(body, reply_markup=markup)


async def clear_keyboard(context: Ctx, message_id: int | None) -> None:
    """Remove an earlier step's buttons (a prompt, a draft's step), so none stays live."""
    if message_id is None:
        return
    # Already without buttons, or deleted by the user: nothing stays live either way.
    with contextlib.suppress(BadRequest):
        await context.bot.edit_message_reply_markup(
            require_actor(context).user_id, message_id, reply_markup=None
        )


def _done(context: Ctx, action: str, reference: str) -> str:
    context.deps.engine.wake()  # its notices leave now, not at the next interval
    return text(context, f"postulates.done-{action}", reference=reference)


async def on_button(update: Update, context: Ctx) -> None:
    """rev: buttons: open, take, ask to confirm, confirm or go back, or wait for a text."""
    query = require_query(update)
    actor = require_actor(context)
    deps = context.deps
    now = deps.clock()
    data = query.data
    me = actor.user_id
    try:
        if (opened := buttons.OpenForReview.parse(data)) is not None:
            # Opening only shows: the state and the author are untouched.
            card = await reviews.card(deps.db, me, opened.postulate_id)
            await query.answer()
            await _send_card(context, card)
            return
        if (take := buttons.Take.parse(data)) is not None:
            card = await confirmations.take(deps.db, me, take.postulate_id, now)
            await _show_card(
                update, context, card, _done(context, "take", card.postulate.reference)
            )
            return
        if (move := buttons.MoveTo.parse(data)) is not None:
            card = await confirmations.move(deps.db, me, move.postulate_id, move.team_id, now)
            await _show_card(
                update, context, card, _done(context, "move", card.postulate.reference)
            )
            return
        if (ok := buttons.Confirm.parse(data)) is not None:
            card = await confirmations.confirm(deps.db, me, ok.action, ok.postulate_id, now)
            done = _done(context, ok.action, card.postulate.reference)
            await _show_card(update, context, card, done)
            return
        if (back := buttons.Back.parse(data)) is not None:
            card = await confirmations.back(deps.db, me, back.postulate_id)
            await _show_card(update, context, card)
            return
        if (full := buttons.FullText.parse(data)) is not None:
            card = await reviews.card(deps.db, me, full.postulate_id)
            await query.answer()
            await _send_full_text(context, card)
            return
        if (file := buttons.Attachment.parse(data)) is not None:
            card = await reviews.card(deps.db, me, file.postulate_id)
            await query.answer()
            await _send_attachment(context, card)
            return
        press = buttons.Review.parse(data)
        if press is None:
            raise StaleButton()
        await _start_action(update, context, press.action, press.postulate_id)
    except StaleButton:
        await answer_stale(update, context)
    except DomainError as error:
        await refuse(update, context, error)


async def _start_action(update: Update, context: Ctx, action: reviews.Action, pid: int) -> None:
    """The card becomes the next step: the sectors to move to, the confirmation, or the prompt."""
    query = require_query(update)
    deps = context.deps
    me = require_actor(context).user_id
    r = reader(context)
    if action == "move":
        card = await reviews.card(deps.db, me, pid)
        if "move" not in card.actions:
            raise NotAllowed()
        body, markup = views.move_targets(r, card)
    elif action in reviews.PROMPTED:
        postulate = await reviews.prepare(deps.db, me, action, pid, deps.clock())
        body, markup = views.prompt(r, action, postulate)
    else:
        pending = await confirmations.ask_confirmation(deps.db, me, action, pid, deps.clock())
        body, markup = views.confirmation(r, pending)
    await query.answer()
    await query.edit_message_text(body, reply_markup=markup)
    # An edited message keeps its id (GuardedBot does not parse Telegram's echo of it).
    if action in reviews.PROMPTED and query.message is not None:
        await confirmations.remember_prompt_message(deps.db, me, query.message.message_id)


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
    """The author's buttons: withdraw (confirmed first), answer a question, open the card."""
    query = require_query(update)
    actor = require_actor(context)
    deps = context.deps
    data = query.data
    try:
        if (opened := buttons.OpenCard.parse(data)) is not None:
            card = await reviews.card(deps.db, actor.user_id, opened.postulate_id)
            await query.answer()
            await _send_card(context, card)
            return
        if (withdraw := buttons.Withdraw.parse(data)) is not None:
            await _start_action(update, context, "withdraw", withdraw.postulate_id)
            return
        answer = buttons.AnswerQuestion.parse(data)
        if answer is None:
            raise StaleButton()
        pid = answer.postulate_id
        postulate = await reviews.prepare(deps.db, actor.user_id, "answer", pid, deps.clock())
    except StaleButton:
        await answer_stale(update, context)
        return
    except DomainError as error:
        await refuse(update, context, error)
        return
    await query.answer()
    # The question's notice stays as it is (it is the author's record); the prompt is new.
    await query.edit_message_reply_markup(reply_markup=None)
    body, markup = views.prompt(reader(context), "answer", postulate)
    sent = await context.bot.send_message(actor.user_id, body, reply_markup=markup)
    await confirmations.remember_prompt_message(deps.db, actor.user_id, sent.message_id)


async def on_prompt_text(update: Update, context: Ctx, prompt: Prompt) -> None:
    """The text a review action waited for: checked, then shown for confirmation.

    One message answers each text (the refusal with the prompt again, or the confirmation),
    and the previous one loses its buttons.
    """
    message = update.effective_message
    actor = require_actor(context)
    deps = context.deps
    r = reader(context)
    if message is None or not message.text or prompt.postulate_id is None:
        await reply(update, text(context, "postulates.error-expected-text"))
        return
    try:
        staged = await confirmations.stage(deps.db, actor.user_id, message.text, deps.clock())
    except InvalidInput as exc:
        problem = views.input_error(r, exc.key, exc.values)
        postulate = await reviews.card(deps.db, actor.user_id, prompt.postulate_id)
        body, markup = views.prompt(r, prompt.action, postulate.postulate, problem)
        sent = await reply(update, body, markup)
        await clear_keyboard(context, prompt.message_id)
        await confirmations.remember_prompt_message(deps.db, actor.user_id, sent.message_id)
        return
    except DomainError as error:
        await reviews.drop_prompt(deps.db, actor.user_id)
        await clear_keyboard(context, prompt.message_id)
        await refuse(update, context, error)
        return
    await clear_keyboard(context, prompt.message_id)
    if isinstance(staged, confirmations.Pending):
        sent = await reply(update, *views.confirmation(r, staged))
        await confirmations.remember_prompt_message(deps.db, actor.user_id, sent.message_id)
        return
    await reply(update, _done(context, prompt.action, staged.reference))


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
    for button in buttons.REVIEW_BUTTONS:
        app.add_handler(PersonalButton(on_button, pattern=button.pattern()))
    for mine in buttons.AUTHOR_BUTTONS:
        app.add_handler(PersonalButton(author_button, pattern=mine.pattern()))
