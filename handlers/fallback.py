"""Fallbacks: personal commands and buttons used outside a private chat point there; unknown
commands and stray text point to /help; stale buttons are answered."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import App, Ctx
from handlers.common import (
    PRIVATE,
    PersonalButton,
    answer_stale,
    in_private_chat,
    reply,
    require_query,
    text,
)

# After every feature (group 0 is where features live): a handler here only sees updates
# that nothing else in group 0 took.
GROUP = 0


async def open_private_chat(update: Update, context: Ctx) -> None:
    """A personal command or button used in a group: point the user to the private chat."""
    if update.callback_query is not None:
        await update.callback_query.answer(text(context, "error.private-only"), show_alert=True)
        return
    link = f"https://t.me/{context.bot.username}?start=from-group"
    button = InlineKeyboardButton(text(context, "button.open-private"), url=link)
    await reply(update, text(context, "error.private-only"), InlineKeyboardMarkup([[button]]))


async def unknown(update: Update, context: Ctx) -> None:
    """Point to /help for commands and text the bot does not expect."""
    await reply(update, text(context, "error.unknown-command"))


async def nothing_to_cancel(update: Update, context: Ctx) -> None:
    """`/cancel` when no conversation is under way (conversations handle their own)."""
    await reply(update, text(context, "error.nothing-to-cancel"))


async def other_button(update: Update, context: Ctx, buttons: list[PersonalButton]) -> None:
    """A personal button pressed outside a private chat, else a stale or forged one."""
    if not in_private_chat(update) and any(button.matches_data(update) for button in buttons):
        await open_private_chat(update, context)
        return
    require_query(update)
    await answer_stale(update, context)


def register(app: App) -> None:
    """Install the fallbacks; must be called after every feature's register."""
    features = [handler for group in app.handlers.values() for handler in group]
    # A command of the bot that no feature took in a group is a personal one (its handler
    # carries the PRIVATE filter); a command the bot does not know stays unanswered there.
    commands = {c for h in features if isinstance(h, CommandHandler) for c in h.commands}
    buttons = [h for h in features if isinstance(h, PersonalButton)]

    async def pressed(update: Update, context: Ctx) -> None:
        await other_button(update, context, buttons)

    if commands:
        app.add_handler(CommandHandler(commands, open_private_chat, ~PRIVATE), group=GROUP)
    app.add_handler(CommandHandler("cancel", nothing_to_cancel, PRIVATE), group=GROUP)
    app.add_handler(MessageHandler((filters.COMMAND | filters.TEXT) & PRIVATE, unknown), GROUP)
    app.add_handler(CallbackQueryHandler(pressed), group=GROUP)
