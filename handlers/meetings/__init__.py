"""Meetings, moderator side: /new_meeting (a conversation with a preview), /edit_meeting
[number] (a form), /cancel_meeting [number], their pickers, and the Edit / Cancel buttons on
moderators' cards.

One module per flow: `new` (/new_meeting), `edit` (/edit_meeting), `cancel` (/cancel_meeting),
`pickers` (what edit and cancel share: the pickers, the meeting named, its card) and `steps`,
what they all share (the typed buttons, the prompt shown in place)."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import App
from handlers.common import PRIVATE, PersonalButton
from handlers.flow import Flows
from handlers.meetings.cancel import ask_cancel, confirm_cancel, keep
from handlers.meetings.edit import edit_flow
from handlers.meetings.new import new_meeting_flow
from handlers.meetings.pickers import PickCancel
from handlers.meetings.steps import CancelOneButton, CancelSeriesButton, KeepButton, Step
from handlers.views.card import CancelMeeting

__all__ = ["Step", "register"]


def register(app: App, flows: Flows) -> None:
    """Install /new_meeting, /edit_meeting, /cancel_meeting and their buttons."""
    app.add_handler(CommandHandler("cancel_meeting", ask_cancel, PRIVATE))
    app.add_handler(PersonalButton(ask_cancel, pattern=CancelMeeting.pattern()))
    app.add_handler(PersonalButton(ask_cancel, pattern=PickCancel.pattern()))
    app.add_handler(PersonalButton(confirm_cancel, pattern=CancelOneButton.pattern()))
    app.add_handler(PersonalButton(confirm_cancel, pattern=CancelSeriesButton.pattern()))
    app.add_handler(CallbackQueryHandler(keep, pattern=KeepButton.pattern()))
    flows.add(app, new_meeting_flow())
    flows.add(app, edit_flow())
