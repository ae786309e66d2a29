"""Sector groups: /link_group <slug> and /unlink_group inside a group, and following the
group's life (upgraded to a supergroup, bot removed)."""

from __future__ import annotations

from telegram import Chat, ChatMember, Update
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import App, Ctx
from bot.errors import DomainError
from bot.services import groups as service
from bot.services import sectors as sectors_service
from handlers.common import (
    answer_stale,
    refuse,
    reply,
    require_actor,
    require_message,
    require_query,
    text,
)
from handlers.views.sectors import LinkGroup, link_group_keyboard
from storage.models import Team

# Own handler group: group 0's my_chat_member handler (private chats) takes every such
# update there, and a migration service message must be seen whatever else matches.
GROUP = 7


def _group_chat(update: Update) -> Chat | None:
    chat = update.effective_chat
    return chat if chat is not None and chat.type in (Chat.GROUP, Chat.SUPERGROUP) else None


async def link_group(update: Update, context: Ctx) -> None:
    """/link_group <sector>: this group also gets the sector's notices; without a name, the
    sector teams as buttons."""
    chat = _group_chat(update)
    if chat is None:
        await reply(update, text(context, "groups.in-group-only"))
        return
    args = context.args or []
    deps = context.deps
    language = deps.config.default_language
    if not args:
        teams = await sectors_service.sector_teams(deps.db)
        body = deps.texts.get(language, "groups.choose-sector")
        await reply(update, body, link_group_keyboard(teams, language))
        return
    team = await _link(update, context, chat, " ".join(args))
    if team is not None:
        await reply(update, deps.texts.get(language, "groups.linked", team=team.name(language)))


async def _link(update: Update, context: Ctx, chat: Chat, sector: str) -> Team | None:
    deps = context.deps
    try:
        return await service.link(
            deps.db,
            require_actor(context),
            chat_id=chat.id,
            title=chat.title,
            sector=sector,
            language=deps.config.default_language,
            now=deps.clock(),
        )
    except DomainError as error:
        await refuse(update, context, error)
        return None


async def on_link_button(update: Update, context: Ctx) -> None:
    """A sector button under /link_group: link, re-checked (anyone in the group may press)."""
    query = require_query(update)
    press = LinkGroup.parse(query.data)
    chat = _group_chat(update)
    if press is None or chat is None:
        await answer_stale(update, context)
        return
    team = await _link(update, context, chat, press.slug)
    if team is None:
        return
    await query.answer()
    language = context.deps.config.default_language
    body = context.deps.texts.get(language, "groups.linked", team=team.name(language))
    await query.edit_message_text(body, reply_markup=None)


async def unlink_group(update: Update, context: Ctx) -> None:
    """/unlink_group: this group no longer gets the sector's notices."""
    chat = _group_chat(update)
    if chat is None:
        await reply(update, text(context, "groups.in-group-only"))
        return
    deps = context.deps
    try:
        team = await service.unlink(
            deps.db, require_actor(context), chat_id=chat.id, now=deps.clock()
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    language = deps.config.default_language
    await reply(update, deps.texts.get(language, "groups.unlinked", team=team.name(language)))


async def migrated(update: Update, context: Ctx) -> None:
    """The service message of a group upgraded to a supergroup: the link follows."""
    message = require_message(update)
    if message.migrate_to_chat_id is not None:
        await service.migrated(context.deps.db, message.chat.id, message.migrate_to_chat_id)


async def membership(update: Update, context: Ctx) -> None:
    """The bot was removed from (or left) a group: unlink it."""
    change = update.my_chat_member
    if change is None or change.chat.type not in (Chat.GROUP, Chat.SUPERGROUP):
        return
    if change.new_chat_member.status in (ChatMember.BANNED, ChatMember.LEFT):
        await service.bot_removed(context.deps.db, change.chat.id, context.deps.clock())


def register(app: App) -> None:
    """Install /link_group, /unlink_group and the group-life handlers."""
    app.add_handler(CommandHandler("link_group", link_group))
    app.add_handler(CommandHandler("unlink_group", unlink_group))
    app.add_handler(CallbackQueryHandler(on_link_button, pattern=LinkGroup.pattern()))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, migrated), group=GROUP)
    app.add_handler(ChatMemberHandler(membership, ChatMemberHandler.MY_CHAT_MEMBER), group=GROUP)
