"""Roles, what /grant and /revoke, /team share: people shown by name, buttons."""

from __future__ import annotations

from bot.context import Ctx
from bot.i18n import Html, escape
from handlers.common import (
    require_actor,
)
from handlers.views.people import person_label, person_link
from storage.users import PersonName


def person(
    context: Ctx, user_id: int, name: PersonName | None, display_name: str | None = None
) -> Html:
    """A person as a mention link: their stored names, else the name Telegram showed at grant
    time, else 'user <id>'."""
    language = require_actor(context).language
    if (name is None or not name.known) and display_name:
        return Html(f'<a href="tg://user?id={user_id}">{escape(display_name)}</a>')
    return person_link(context.deps.texts, language, user_id, name)


def label(context: Ctx, user_id: int, name: PersonName | None, display_name: str | None) -> str:
    """A person as plain text (a button's label), by the same rule as `person`."""
    if (name is None or not name.known) and display_name:
        return display_name
    return person_label(context.deps.texts, require_actor(context).language, user_id, name)
