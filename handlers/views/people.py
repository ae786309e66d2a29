"""People by name: the one way a person is shown in chats, alerts and exports."""

from __future__ import annotations

from bot.i18n import Html, Texts, escape
from storage.users import PersonName


def person_label(texts: Texts, language: str, user_id: int, name: PersonName | None) -> str:
    """'Tomasz Nowak (@tomasz)', falling back to what is known; 'user 900' when nothing is.

    Plain text: escape it (or pass it as a message value) before it goes into HTML."""
    label = None if name is None else name.label()
    return label or str(texts.get(language, "roles.person-id", id=user_id))


def person_link(texts: Texts, language: str, user_id: int, name: PersonName | None) -> Html:
    """The person's label as a mention link (opens their profile in Telegram)."""
    label = person_label(texts, language, user_id, name)
    return Html(f'<a href="tg://user?id={user_id}">{escape(label)}</a>')
