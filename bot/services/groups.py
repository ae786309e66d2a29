"""Sector groups: a Telegram group linked to a sector team receives the team's notices.

The link is stored per chat id; the 'team' audience (storage.delivery) adds linked groups, in
the language stored with the link. The dispatcher keeps groups within Telegram's 20 messages
a minute and moves a link when Telegram says the group became a supergroup.
"""

from __future__ import annotations

from datetime import datetime

from bot.config import Language
from bot.errors import DomainError, NotAllowed
from bot.services import audit, delivery, sectors
from bot.services.users import Actor
from storage.database import Database
from storage.models import Team
from storage.unit import Unit


def _meeting_groups(unit: Unit, meeting_id: int) -> list[tuple[int, Language]]:
    """The groups linked to a meeting's sector, in the language of each link."""
    groups = unit.groups.list_meeting_groups(meeting_id)
    return [(chat, "en" if language == "en" else "pl") for chat, language in groups]


def register(registry: delivery.Registry) -> None:
    """The 'meeting' audience (a meeting's changes, cancellation, reminders) also reaches the
    groups linked to its sector, which got its announcement through the 'team' audience."""
    registry.extend_audience("meeting", _meeting_groups)


class NotLinked(DomainError):
    key = "groups.not-linked"


def _may_moderate(unit: Unit, user_id: int, team_id: int) -> bool:
    # Read again inside the unit: a role revoked a moment ago no longer counts.
    return unit.roles.is_admin(user_id) or team_id in (unit.roles.list_moderated_team_ids(user_id))


async def link(
    db: Database,
    actor: Actor,
    *,
    chat_id: int,
    title: str | None,
    sector: str,
    language: Language,
    now: datetime,
) -> Team:
    """Link the group `chat_id` to the sector typed as `sector` (its slug or name; the
    sector's moderators and admins only)."""

    def inner(unit: Unit) -> Team:
        # The refusal is read in the sender's language, so the valid names are listed in it.
        team = sectors.resolve_sector(unit, sector, actor.language)
        if not _may_moderate(unit, actor.user_id, team.id):
            raise NotAllowed()
        unit.groups.upsert_link(
            chat_id=chat_id,
            team_id=team.id,
            language=language,
            title=title,
            linked_by=actor.user_id,
            now=now,
        )
        audit.record(
            unit,
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

    def inner(unit: Unit) -> Team:
        found = unit.groups.get_link(chat_id)
        if found is None:
            raise NotLinked()
        team = unit.teams.get_team(found.team_id)
        if team is None or not _may_moderate(unit, actor.user_id, team.id):
            raise NotAllowed()
        unit.groups.delete_link(chat_id, now)
        audit.record(
            unit,
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
    return await db.run(lambda unit: unit.groups.update_chat_id(old_chat_id, new_chat_id))


async def bot_removed(db: Database, chat_id: int, now: datetime) -> bool:
    """The bot left or was removed from a group: the link goes."""
    return await db.run(lambda unit: unit.groups.delete_link(chat_id, now) is not None)
