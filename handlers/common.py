"""Small helpers every handler uses: narrowing the update, texts, replies."""

from __future__ import annotations

import html
import re

from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.ext import CallbackQueryHandler, filters

from bot import limits
from bot.context import Ctx
from bot.errors import DomainError
from bot.i18n import Html
from bot.services.users import Actor
from handlers.callbacks import Callback

_TAG = re.compile(r"<[^>]+>")

# Personal commands carry this filter; typed in a group, they fall through to the one
# "open me in a private chat" fallback (handlers/fallback.py).
PRIVATE = filters.ChatType.PRIVATE


def in_private_chat(update: object) -> bool:
    """Whether the update comes from a private chat with the bot."""
    chat = update.effective_chat if isinstance(update, Update) else None
    return chat is not None and chat.type == Chat.PRIVATE


class PersonalButton(CallbackQueryHandler[Ctx, object]):
    """A button with a personal effect: it acts only when pressed in a private chat.

    PTB's filters read messages, not presses, so the chat type is checked here; a press
    elsewhere falls through to the fallback, which points the user to the private chat.
    """

    def check_update(self, update: object) -> bool | object | None:
        """Match the button's data, in a private chat only."""
        if not in_private_chat(update):
            return None
        return super().check_update(update)

    def matches_data(self, update: object) -> bool:
        """Whether the press carries this button's data, wherever it was pressed."""
        return super().check_update(update) not in (None, False)


def require_actor(context: Ctx) -> Actor:
    """The actor loaded by the gatekeeper (every update with a user has one)."""
    if context.actor is None:
        raise RuntimeError("handler ran for an update without a user")
    return context.actor


def require_message(update: Update) -> Message:
    """The message of a message update."""
    if update.effective_message is None:
        raise RuntimeError("handler ran for an update without a message")
    return update.effective_message


def require_query(update: Update) -> CallbackQuery:
    """The callback query of a button press."""
    if update.callback_query is None:
        raise RuntimeError("handler ran for an update without a callback query")
    return update.callback_query


def text(context: Ctx, key: str, /, **values: object) -> Html:
    """Render a message in the actor's language."""
    return context.deps.texts.get(require_actor(context).language, key, **values)


def button(context: Ctx, key: str, press: Callback, **values: object) -> InlineKeyboardButton:
    """A button labelled with a text in the actor's language, pressing a typed button."""
    return InlineKeyboardButton(text(context, key, **values), callback_data=press.pack())


def is_consented(context: Ctx) -> bool:
    """Whether the actor accepted the current privacy notice."""
    return require_actor(context).consented(context.deps.config.privacy.notice_version)


async def reply(update: Update, body: str, markup: InlineKeyboardMarkup | None = None) -> Message:
    """Answer in the chat of the update, as HTML."""
    return await require_message(update).reply_text(body, reply_markup=markup, do_quote=False)


async def say(update: Update, body: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Reply to a message or, after a button press, write below the pressed message."""
    if update.callback_query is not None:
        chat = update.effective_chat
        if chat is not None:
            await chat.send_message(body, reply_markup=markup)
        return
    await reply(update, body, markup)


def as_alert(body: str) -> str:
    """A rendered HTML message as the plain text a button's alert shows (<= 200 units)."""
    return limits.plain_prefix(html.unescape(_TAG.sub("", body)), limits.ALERT_LIMIT)


def problem(context: Ctx, error: DomainError) -> Html:
    """A refused request's message in the user's language; the error's values fill it, so
    "at most 52 meetings" keeps its number."""
    return text(context, error.key, **error.values)


async def refuse(update: Update, context: Ctx, error: DomainError) -> None:
    """Tell the user why a rule refused their request: an alert for a button, else a reply."""
    body = problem(context, error)
    if update.callback_query is not None:
        await update.callback_query.answer(as_alert(body), show_alert=True)
    else:
        await reply(update, body)


async def answer_stale(update: Update, context: Ctx) -> None:
    """Answer a forged, malformed or outdated button; nothing else happens."""
    await require_query(update).answer(text(context, "error.stale-button"), show_alert=True)


def callback_ints(data: str | None, pattern: re.Pattern[str]) -> tuple[int, ...] | None:
    """Parse the numeric groups of callback data matched by an anchored pattern."""
    match = pattern.fullmatch(data or "")
    if match is None:
        return None
    return tuple(int(group) for group in match.groups())
