"""Conversations that do not fill the chat: every flow's prompt, edited in place where it can be.

A flow's state model inherits `Prompted`, so it remembers its last prompt message and whether
that message still shows buttons. `show` puts each step on screen by the same rule for every
flow: a press on the prompt edits it into the next step; a typed answer gets one new message
(an error and the question asked again come together, see `joined`), and the previous prompt
loses its buttons, so no old button stays live. `/cancel` (handlers/flow.py) clears the last
prompt's buttons of any flow whose cancel callback did not; an expired conversation's last
prompt loses them through the delivery engine's after-settle hook (`expired_prompts`).
"""

from __future__ import annotations

import contextlib
import logging

import telegram
from pydantic import BaseModel
from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.context import App, Ctx, engine_of
from bot.deps import Deps
from bot.i18n import Html
from bot.services import conversations
from handlers.common import reply

log = logging.getLogger(__name__)


class Prompted(BaseModel):
    """A flow's state part that knows its prompt message, so the next step edits it."""

    prompt_id: int | None = None
    prompt_has_buttons: bool = False


def joined(*parts: str) -> Html:
    """Several texts in one message (an error and the question asked again)."""
    return Html("\n\n".join(part for part in parts if part))


def adopt(update: Update, holder: Prompted) -> None:
    """Make the pressed message (a card's or a picker's button that starts a flow) the prompt,
    so the flow's first step replaces it instead of adding a message below."""
    query = update.callback_query
    if query is not None and query.message is not None:
        holder.prompt_id = query.message.message_id
        holder.prompt_has_buttons = True


def on_prompt(update: Update, holder: Prompted) -> bool:
    """Whether this update is a press on the flow's current prompt (not an older message)."""
    query = update.callback_query
    return (
        query is not None
        and query.message is not None
        and holder.prompt_id is not None
        and query.message.message_id == holder.prompt_id
    )


async def show(
    update: Update,
    context: Ctx,
    holder: Prompted,
    body: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Show a step's prompt: a press on the prompt edits it in place; a typed answer gets one
    new message, and the previous prompt loses its buttons, so no old button stays live."""
    query = update.callback_query
    chat = update.effective_chat
    if query is not None and on_prompt(update, holder):
        try:
            await query.edit_message_text(body, reply_markup=markup)
        except BadRequest as exc:
            if "not modified" not in exc.message:
                raise
        holder.prompt_has_buttons = markup is not None
        return
    if chat is not None:
        await clear(context, chat.id, holder)
    if query is not None and chat is not None:
        message = await chat.send_message(body, reply_markup=markup)
    else:
        message = await reply(update, body, markup)
    holder.prompt_id = message.message_id
    holder.prompt_has_buttons = markup is not None


async def clear(context: Ctx, chat_id: int, holder: Prompted) -> None:
    """Remove the last prompt's buttons (the flow ended or moved to a new message)."""
    if holder.prompt_id is None or not holder.prompt_has_buttons:
        return
    # Already without buttons, or too old for Telegram to edit: nothing left to remove.
    with contextlib.suppress(BadRequest):
        await context.bot.edit_message_reply_markup(chat_id, holder.prompt_id, reply_markup=None)
    holder.prompt_has_buttons = False


async def expired_prompts(deps: Deps, bot: telegram.Bot, final: bool) -> None:
    """After-settle hook: the prompts of conversations that expired lose their buttons."""
    done: list[int] = []
    try:
        for prompt in await conversations.stale_prompts(deps.db):
            try:
                await bot.edit_message_reply_markup(
                    prompt.user_id, prompt.message_id, reply_markup=None
                )
            except (BadRequest, Forbidden):
                pass  # too old, gone, already without buttons, or the bot was blocked
            except TelegramError as exc:
                # Flood control or the network: the rest waits for the next pass.
                log.warning("Expired prompts: %s; the rest later", exc)
                break
            done.append(prompt.id)
    finally:
        await conversations.forget_stale_prompts(deps.db, done)


def register(app: App) -> None:
    """Install the hook that removes expired conversations' buttons."""
    engine_of(app).add_after_settle(expired_prompts)
