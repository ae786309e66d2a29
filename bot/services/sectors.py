"""Sector teams: syncing them from config, subscribing and the /sectors view."""

from __future__ import annotations

import sqlite3
import weakref
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from bot.config import Config, Language
from bot.errors import ConsentRequired, TeamSyncError, UnknownSector
from storage import roles as roles_storage
from storage import subscriptions as subscriptions_storage
from storage import teams as teams_storage
from storage import users as users_storage
from storage.database import Database
from storage.models import Team


class SectorsView(BaseModel):
    """The sector teams in order and which of them the user follows."""

    model_config = ConfigDict(frozen=True)

    teams: tuple[Team, ...]
    subscribed: frozenset[int]


class Subscribed(BaseModel):
    """The outcome of subscribing through a deep link."""

    model_config = ConfigDict(frozen=True)

    team: Team
    added: bool
    view: SectorsView


# The sector teams change only when the configuration is synced (at start): each database
# keeps its list here instead of rebuilding the models on every toggle.
_sector_teams: weakref.WeakKeyDictionary[Database, tuple[Team, ...]] = weakref.WeakKeyDictionary()


def _sync(conn: sqlite3.Connection, config: Config) -> tuple[Team, ...]:
    wanted = {team.slug for team in config.teams}
    for existing in teams_storage.list_teams(conn):
        if existing.slug in wanted:
            continue
        try:
            teams_storage.delete_team(conn, existing.id)
        except sqlite3.IntegrityError:
            raise TeamSyncError(
                f"team '{existing.slug}' was removed from the configuration, but the database "
                "still holds its subscribers, moderators or other records; put it back in the "
                "configuration (its names may change)"
            ) from None
    for position, team in enumerate(config.teams):
        teams_storage.upsert_team(
            conn,
            slug=team.slug,
            kind=team.kind,
            name_pl=team.name_pl,
            name_en=team.name_en,
            description_pl=team.description_pl,
            description_en=team.description_en,
            position=position,
        )
    roles_storage.replace_config_admins(conn, config.admins)
    return tuple(teams_storage.list_teams(conn, "sector"))


async def sync_from_config(db: Database, config: Config) -> None:
    """Make the teams and config admins in the database match the configuration."""
    _sector_teams[db] = await db.run(_sync, config)


def _view(conn: sqlite3.Connection, user_id: int, teams: tuple[Team, ...] | None) -> SectorsView:
    if teams is None:
        teams = tuple(teams_storage.list_teams(conn, "sector"))
    return SectorsView(
        teams=teams,
        subscribed=frozenset(subscriptions_storage.list_subscribed_team_ids(conn, user_id)),
    )


def _require_consent(conn: sqlite3.Connection, user_id: int, notice_version: int) -> None:
    version = users_storage.get_consent_version(conn, user_id)
    if version is None or version < notice_version:
        raise ConsentRequired()


async def sectors_view(db: Database, user_id: int) -> SectorsView:
    """Return the sector teams and the user's subscriptions."""
    return await db.run(_view, user_id, _sector_teams.get(db))


async def toggle(
    db: Database, user_id: int, team_id: int, notice_version: int, now: datetime
) -> SectorsView:
    """Subscribe to a sector team, or unsubscribe if already subscribed."""

    teams = _sector_teams.get(db)

    def change(conn: sqlite3.Connection) -> SectorsView:
        _require_consent(conn, user_id, notice_version)
        if teams is not None:
            known = any(team.id == team_id for team in teams)
        else:
            team = teams_storage.get_team(conn, team_id)
            known = team is not None and team.kind == "sector"
        if not known:
            raise UnknownSector()
        if not subscriptions_storage.add_subscription(conn, user_id, team_id, now):
            subscriptions_storage.delete_subscription(conn, user_id, team_id)
        return _view(conn, user_id, teams)

    return await db.run(change)


def _subscribe_slug(conn: sqlite3.Connection, user_id: int, slug: str, now: datetime) -> Subscribed:
    team = teams_storage.get_team_by_slug(conn, slug)
    if team is None or team.kind != "sector":
        raise UnknownSector(slug=slug)
    added = subscriptions_storage.add_subscription(conn, user_id, team.id, now)
    return Subscribed(team=team, added=added, view=_view(conn, user_id, None))


async def subscribe_by_slug(
    db: Database, user_id: int, slug: str, notice_version: int, now: datetime
) -> Subscribed:
    """Subscribe through a deep link `sector-<slug>` (idempotent)."""

    def change(conn: sqlite3.Connection) -> Subscribed:
        _require_consent(conn, user_id, notice_version)
        return _subscribe_slug(conn, user_id, slug, now)

    return await db.run(change)


async def give_consent(
    db: Database,
    user_id: int,
    language: Language,
    notice_version: int,
    now: datetime,
    subscribe_slug: str | None = None,
) -> Subscribed | None:
    """Record consent (creating the user if needed) and optionally subscribe, atomically."""

    def change(conn: sqlite3.Connection) -> Subscribed | None:
        users_storage.add_user(conn, user_id, language, now)
        users_storage.update_consent(conn, user_id, notice_version, now)
        if subscribe_slug is None:
            return None
        try:
            return _subscribe_slug(conn, user_id, subscribe_slug, now)
        except UnknownSector:
            return None

    return await db.run(change)
