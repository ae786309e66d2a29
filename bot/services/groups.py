"""Sector groups: a Telegram group linked to a sector team receives the team's notices.

The link is stored per chat id; the 'team' audience (storage.delivery) adds linked groups, in
the language stored with the link. The dispatcher keeps groups within Telegram's 20 messages
a minute and moves a link when Telegram says the group became a supergroup.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from bot.config import Language
from bot.errors import DomainError, NotAllowed, UnknownSector
from bot.services import audit, delivery
from bot.services.users import Actor
from storage import groups as storage
from storage import roles as roles_storage
from storage import teams as teams_storage
from storage.database import Database
from storage.models import Team


def _meeting_groups(conn: sqlite3.Connection, meeting_id: int) -> list[tuple[int, Language]]:
    """The groups linked to a meeting's sector, in the language of each link."""
    groups = storage.list_meeting_groups(conn, meeting_id)
    return [(chat, "en" if language == "en" else "pl") for chat, language in groups]


def register(registry: delivery.Registry) -> None:
    """The 'meeting' audience (a meeting's changes, cancellation, reminders) also reaches the
    groups linked to its sector, which got its announcement through the 'team' audience."""
    registry.extend_audience("meeting", _meeting_groups)


class NotLinked(DomainError):
    key = "groups.not-linked"


def _may_moderate(conn: sqlite3.Connection, user_id: int, team_id: int) -> bool:
    # Read again inside the unit: a role revoked a moment ago no longer counts.
    return roles_storage.is_admin(conn, user_id) or team_id in (
        roles_storage.list_moderated_team_ids(conn, user_id)
    )


async def link(
    db: Database,
    actor: Actor,
    *,
    chat_id: int,
    title: str | None,
    slug: str,
    language: Language,
    now: datetime,
) -> Team:
    """Link the group `chat_id` to the sector `slug` (its moderators and admins only)."""

    def inner(conn: sqlite3.Connection) -> Team:
        team = teams_storage.get_team_by_slug(conn, slug.strip().lower())
        if team is None or team.kind != "sector":
            raise UnknownSector()
        if not _may_moderate(conn, actor.user_id, team.id):
            raise NotAllowed()
        storage.upsert_link(
            conn,
            chat_id=chat_id,
            team_id=team.id,
            language=language,
            title=title,
            linked_by=actor.user_id,
            now=now,
        )
        audit.record(
            conn,
            actor_id=actor.user_id,
            action="group.link",
            target=f"chat:{chat_id}",
            details={"sector": team.slug, "title": title},
            now=now,
        )
        return team

    return await db.run(inner)


async def unlink(db: Database, actor: Actor, *, chat_id: int, now: datetime) -> Team:
    """Unlink the group (a moderator of its sector or an admin); waiting copies expire."""

    def inner(conn: sqlite3.Connection) -> Team:
        found = storage.get_link(conn, chat_id)
        if found is None:
            raise NotLinked()
        team = teams_storage.get_team(conn, found.team_id)
        if team is None or not _may_moderate(conn, actor.user_id, team.id):
            raise NotAllowed()
        storage.delete_link(conn, chat_id, now)
        audit.record(
            conn,
            actor_id=actor.user_id,
            action="group.unlink",
            target=f"chat:{chat_id}",
            details={"sector": team.slug},
            now=now,
        )
        return team

    return await db.run(inner)


async def migrated(db: Database, old_chat_id: int, new_chat_id: int) -> bool:
    """The group became a supergroup: its link moves to the new id."""
    return await db.run(storage.update_chat_id, old_chat_id, new_chat_id)


async def bot_removed(db: Database, chat_id: int, now: datetime) -> bool:
    """The bot left or was removed from a group: the link goes."""
    return await db.run(lambda conn: storage.delete_link(conn, chat_id, now) is not None)
