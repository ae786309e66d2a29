"""Roles: /grant (sector, then a forwarded message or a one-time invite link), the invite deep
link `/start mod-<token>`, /revoke and /team; `role:` buttons.

One module per part: `grant` (/grant and the invite link), `team` (/revoke, /team) and
`people`, what they share (people shown by name, buttons)."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import App
from bot.services import roles as service
from handlers.common import PRIVATE, PersonalButton
from handlers.flow import Flows
from handlers.roles.grant import Step, grant_flow, invite_button, on_accept, start_invite_link
from handlers.roles.people import person
from handlers.roles.team import on_keep, on_revoke, on_revoke_yes, revoke_start, show_team
from handlers.views.roles import Accept, Invite, Keep, Revoke, RevokeYes

__all__ = ["Step", "person", "register", "register_invite_link"]


def register_invite_link(app: App) -> None:
    """Install `/start mod-<token>`; must come before the generic /start."""
    link = filters.Regex(rf"^/start(@\w+)?\s+{service.INVITE_PREFIX}\S+\s*$")
    app.add_handler(CommandHandler("start", start_invite_link, filters=link & PRIVATE))


def register(app: App, flows: Flows) -> None:
    """Install /grant, /revoke, /team and the `role:` buttons."""
    flows.add(app, grant_flow())
    app.add_handler(CommandHandler("revoke", revoke_start, PRIVATE))
    app.add_handler(CommandHandler("team", show_team, PRIVATE))
    app.add_handler(CallbackQueryHandler(invite_button, pattern=Invite.pattern()))
    app.add_handler(PersonalButton(on_accept, pattern=Accept.pattern()))
    app.add_handler(CallbackQueryHandler(on_revoke, pattern=Revoke.pattern()))
    app.add_handler(CallbackQueryHandler(on_revoke_yes, pattern=RevokeYes.pattern()))
    app.add_handler(CallbackQueryHandler(on_keep, pattern=Keep.pattern()))
