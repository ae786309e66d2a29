"""Privacy: /privacy (the notice and my consent), /mydata (JSON export), /forget (erasure)."""

from __future__ import annotations

from datetime import timedelta

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler

from bot.context import App, Ctx
from bot.i18n import Html
from bot.services import privacy as service
from handlers.common import (
    PRIVATE,
    PersonalButton,
    answer_stale,
    is_consented,
    reply,
    require_actor,
    require_query,
    text,
)
from handlers.views.privacy import ForgetButton, erasure_text, forget_keyboard
from handlers.views.sectors import Consent

# A confirmation pressed later than this after /forget is refused: an old button left in
# the chat must not erase what the user stored since.
FORGET_CONFIRM_WINDOW = timedelta(minutes=15)


def consent_prompt(context: Ctx) -> Html:
    """The text above the consent button: a greeting, or that the notice changed."""
    actor = require_actor(context)
    if actor.user is not None and actor.user.consent_version is not None:
        version = context.deps.config.privacy.notice_version
        return Html(
            text(context, "privacy.changed", version=version)
            + "\n\n"
            + text(context, "start.privacy-short")
        )
    return Html(
        "\n\n".join(
            [
                text(context, "start.greeting"),
                text(context, "start.purpose"),
                text(context, "start.privacy-short"),
            ]
        )
    )


def _consent_button(context: Ctx) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text(context, "button.consent"), callback_data=Consent().pack())]]
    )


async def show_privacy(update: Update, context: Ctx) -> None:
    """Show the notice with the controller's name and contact, and where my consent stands."""
    actor = require_actor(context)
    deps = context.deps
    privacy = deps.config.privacy
    parts = [
        text(
            context,
            "privacy.notice",
            controller=privacy.controller,
            contact=privacy.contact,
            version=privacy.notice_version,
        ),
        text(
            context,
            "privacy.rights",
            purge_days=privacy.inactive_purge_days,
            keep_days=privacy.deliveries_keep_days,
        ),
    ]
    markup = None
    user = actor.user
    if user is not None and user.consent_at is not None and user.consent_version is not None:
        when = user.consent_at.astimezone(deps.config.zone).strftime("%Y-%m-%d %H:%M")
        parts.append(text(context, "privacy.consent-given", version=user.consent_version, at=when))
    if not is_consented(context):
        parts.append(text(context, "privacy.consent-needed"))
        # Buttons with personal effect only where the person is alone with the bot.
        chat = update.effective_chat
        if chat is not None and chat.type == Chat.PRIVATE:
            markup = _consent_button(context)
    await reply(update, "\n\n".join(parts), markup)


async def my_data(update: Update, context: Ctx) -> None:
    """Send everything stored about me as a JSON file (private chat only)."""
    actor = require_actor(context)
    deps = context.deps
    now = deps.clock()
    token = deps.config.token.get_secret_value() if deps.config.token else ""
    # The whole token and its secret half (what follows the bot id).
    document = await service.export(
        deps.db, actor.user_id, now, secrets=(token, token.partition(":")[2])
    )
    if document is None:
        await reply(update, text(context, "privacy.nothing-stored"))
        return
    await context.bot.send_document(
        actor.user_id,
        document=document,
        filename=f"my-data-{now:%Y-%m-%d}.json",
        caption=text(context, "privacy.export-caption"),
    )


async def ask_forget(update: Update, context: Ctx) -> None:
    """Explain what /forget erases and keeps, and ask for a confirmation."""
    actor = require_actor(context)
    if actor.user is None:
        await reply(update, text(context, "privacy.nothing-stored"))
        return
    markup = forget_keyboard(actor.language, context.deps.texts)
    await reply(update, text(context, "privacy.forget-confirm"), markup)


async def confirm_forget(update: Update, context: Ctx) -> None:
    """Erase on Yes (one transaction), then say what could not be recalled."""
    query = require_query(update)
    press = ForgetButton.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return
    deps = context.deps
    now = deps.clock()
    message = query.message
    if message is None or now - message.date > FORGET_CONFIRM_WINDOW:
        await answer_stale(update, context)
        return
    if press.answer == "no":
        await query.answer()
        await query.edit_message_text(text(context, "privacy.forget-kept"))
        return
    actor = require_actor(context)
    outcome = await service.forget(deps.db, actor.user_id, now=now)
    # Drafts of other conversations (a meeting, a broadcast) live in memory, not the database.
    context.application.drop_user_data(actor.user_id)
    context.application.drop_chat_data(actor.user_id)
    await query.answer()
    await query.edit_message_text(erasure_text(outcome, actor.language, deps.texts))


def register(app: App) -> None:
    """Install /privacy, /mydata, /forget and the confirmation buttons."""
    app.add_handler(CommandHandler("privacy", show_privacy))
    app.add_handler(CommandHandler("mydata", my_data, PRIVATE))
    app.add_handler(CommandHandler("forget", ask_forget, PRIVATE))
    app.add_handler(PersonalButton(confirm_forget, pattern=ForgetButton.pattern()))
