"""Meetings, moderator side: /new_meeting (a conversation with a preview), /edit_meeting <id>,
/cancel_meeting <id> and the `mtg:edit:<id>` / `mtg:cancel:<id>` buttons for moderators' cards.

One module per flow: `new` (/new_meeting), `edit` (/edit_meeting, /cancel_meeting), and
`steps`, what they share."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import App
from handlers.common import PRIVATE, PersonalButton
from handlers.flow import Flows
from handlers.meetings.edit import ask_cancel, confirm_cancel, edit_flow, keep
from handlers.meetings.new import new_meeting_flow
from handlers.meetings.steps import Step

__all__ = ["Step", "register"]


def register(app: App, flows: Flows) -> None:
    """Install /new_meeting, /edit_meeting, /cancel_meeting and their buttons."""
    app.add_handler(CommandHandler("cancel_meeting", ask_cancel, PRIVATE))
    app.add_handler(PersonalButton(ask_cancel, pattern=r"^mtg:cancel:"))
    app.add_handler(PersonalButton(confirm_cancel, pattern=r"^mtg:cancel-(one|series):"))
    app.add_handler(CallbackQueryHandler(keep, pattern=r"^mtg:keep$"))
    flows.add(app, new_meeting_flow())
    flows.add(app, edit_flow())
