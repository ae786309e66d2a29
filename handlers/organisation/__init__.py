"""Organisation: /organisation registers, shows, edits or leaves the NGO the user represents.

One module per flow: `profile` (the /organisation conversation), `membership` (stop
representing, requests to join), `buttons` (their typed callback data)."""

from __future__ import annotations

from bot.context import App
from handlers.common import PersonalButton
from handlers.flow import Flows
from handlers.organisation import buttons
from handlers.organisation.membership import (
    ask_leave,
    decide,
    keep_representing,
    leave,
    list_requests,
)
from handlers.organisation.profile import Step, organisation_flow
from handlers.views.organisations import DecideButton

__all__ = ["Step", "register"]


def register(app: App, flows: Flows) -> None:
    """Install /organisation, its conversation and the stop-representing buttons."""
    app.add_handler(PersonalButton(ask_leave, pattern=buttons.Leave.pattern()))
    app.add_handler(PersonalButton(leave, pattern=buttons.LeaveYes.pattern()))
    app.add_handler(PersonalButton(keep_representing, pattern=buttons.LeaveNo.pattern()))
    app.add_handler(PersonalButton(decide, pattern=DecideButton.pattern()))
    app.add_handler(PersonalButton(list_requests, pattern=buttons.Requests.pattern()))
    flows.add(app, organisation_flow())
