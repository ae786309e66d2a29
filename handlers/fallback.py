"""Fallbacks: unknown commands and stray text point to /help; stale buttons are answered."""

from __future__ import annotations

from telegram import Chat, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import App, Ctx
from handlers.common import answer_stale, reply, text

# After every feature (group 0 is where features live): a handler here only sees updates
# that nothing else in group 0 took.
GROUP = 0


async def unknown(update: Update, context: Ctx) -> None:
    """Point to /help for commands and text the bot does not expect."""
    chat = update.effective_chat
    if chat is None or chat.type != Chat.PRIVATE:
        return  # in groups the bot stays quiet about what it does not understand
    await reply(update, text(context, "error.unknown-command"))


async def nothing_to_cancel(update: Update, context: Ctx) -> None:
    """`/cancel` when no conversation is under way (conversations handle their own)."""
    chat = update.effective_chat
    if chat is None or chat.type != Chat.PRIVATE:
        return
    await reply(update, text(context, "error.nothing-to-cancel"))


async def stale_button(update: Update, context: Ctx) -> None:
    """Answer any button no feature recognised (forged, malformed or from an old message)."""
    await answer_stale(update, context)


def register(app: App) -> None:
    """Install the fallbacks; must be called after every feature's register."""
    app.add_handler(CommandHandler("cancel", nothing_to_cancel), group=GROUP)
    app.add_handler(MessageHandler(filters.COMMAND | filters.TEXT, unknown), group=GROUP)
    app.add_handler(CallbackQueryHandler(stale_button), group=GROUP)
