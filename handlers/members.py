"""Chat membership: blocking the bot marks the user inactive, restarting it reactivates."""

from __future__ import annotations

from telegram import Chat, ChatMember, Update
from telegram.ext import ChatMemberHandler

from bot.context import App, Ctx
from bot.services import users as users_service


async def my_chat_member(update: Update, context: Ctx) -> None:
    """Follow the bot's status in a private chat."""
    change = update.my_chat_member
    if change is None or change.chat.type != Chat.PRIVATE:
        return
    status = change.new_chat_member.status
    if status in (ChatMember.BANNED, ChatMember.LEFT):
        await users_service.set_active(context.deps.db, change.chat.id, False)
    elif status == ChatMember.MEMBER:
        await users_service.set_active(context.deps.db, change.chat.id, True)


def register(app: App) -> None:
    """Install the my_chat_member handler."""
    app.add_handler(ChatMemberHandler(my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
