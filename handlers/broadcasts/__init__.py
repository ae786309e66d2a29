"""Broadcasts: /broadcast (audience, message, preview, now or later, confirm), /broadcasts
(history with counts, cancel) and the progress message edited while a broadcast goes out.

One module per flow: `compose` (/broadcast), `history` (/broadcasts and the progress message),
`formatting` (a message's entities as HTML), `buttons` (their typed callback data)."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import App, engine_of
from handlers.broadcasts.buttons import CancelBroadcast
from handlers.broadcasts.compose import Step, broadcast_flow
from handlers.broadcasts.formatting import formatted_html
from handlers.broadcasts.history import on_cancel, progress_hook, show_history
from handlers.common import PRIVATE
from handlers.flow import Flows

__all__ = ["Step", "formatted_html", "register"]


def register(app: App, flows: Flows) -> None:
    """Install /broadcast, /broadcasts, the cancel buttons and the progress hook."""
    app.add_handler(CallbackQueryHandler(on_cancel, pattern=CancelBroadcast.pattern()))
    app.add_handler(CommandHandler("broadcasts", show_history, PRIVATE))
    flows.add(app, broadcast_flow())
    engine_of(app).add_after_settle(progress_hook())
