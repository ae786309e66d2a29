"""Sector teams: syncing them from config, subscribing and the /sectors view."""

from __future__ import annotations

import re
import unicodedata
import weakref
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from bot.config import Config, Language
from bot.errors import ConsentRequired, DomainError, TeamSyncError, UnknownSector
from storage.database import Database
from storage.models import Team
from storage.unit import ConstraintViolation, Unit
from storage.users import PersonName


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


class SectorNameUnknown(DomainError):
    """A typed sector name matches no sector team; `names` lists the valid ones."""

    key = "people.sector-unknown"


# "ł" has no decomposition in Unicode, so NFKD alone would keep it.
_UNDECOMPOSED = str.maketrans({"ł": "l", "Ł": "l", "ø": "o", "đ": "d"})
_NOT_WORD = re.compile(r"[\W_]+")


def _fold(text: str) -> str:
    """Lower case, no diacritics or punctuation: 'Ochrona Środowiska!' -> 'ochrona srodowiska'."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSED).casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(_NOT_WORD.sub(" ", plain).split())


def find_sector(teams: Iterable[Team], typed: str, language: Language) -> Team:
    """The sector team a person typed: its slug, its Polish or English name, or the name's
    first word when only one team starts with it ('zdrowie'); any case, diacritics optional.

    Raises SectorNameUnknown listing the valid names in `language`."""
    sectors = [team for team in teams if team.kind == "sector"]
    wanted = _fold(typed)
    if wanted:
        for team in sectors:
            if wanted in (_fold(team.slug), _fold(team.name_pl), _fold(team.name_en)):
                return team
        by_word = [
            team
            for team in sectors
            if wanted in (_fold(team.name_pl).split(" ")[0], _fold(team.name_en).split(" ")[0])
        ]
        if len(by_word) == 1:
            return by_word[0]
    raise SectorNameUnknown(
        typed=" ".join(typed.split())[:40], names=", ".join(team.name(language) for team in sectors)
    )


def resolve_sector(unit: Unit, typed: str, language: Language) -> Team:
    """`find_sector` over the sector teams in the database (inside the caller's unit)."""
    return find_sector(unit.teams.list_teams("sector"), typed, language)


async def sector_teams(db: Database) -> list[Team]:
    """The sector teams in configured order (buttons to pick one)."""
    return await db.run(lambda unit: unit.teams.list_teams("sector"))


async def sector_named(db: Database, typed: str, language: Language) -> Team:
    """The sector team a person typed, or SectorNameUnknown with the valid names."""
    return await db.run(resolve_sector, typed, language)


# The sector teams change only when the configuration is synced (at start): each database
# keeps its list here instead of rebuilding the models on every toggle.
_sector_teams: weakref.WeakKeyDictionary[Database, tuple[Team, ...]] = weakref.WeakKeyDictionary()


def _sync(unit: Unit, config: Config) -> tuple[Team, ...]:
    wanted = {team.slug for team in config.teams}
    for existing in unit.teams.list_teams():
        if existing.slug in wanted:
            continue
        try:
            with unit.checked():
                unit.teams.delete_team(existing.id)
        except ConstraintViolation:
            raise TeamSyncError(
                f"team '{existing.slug}' was removed from the configuration, but the database "
                "still holds its subscribers, moderators or other records; put it back in the "
                "configuration (its names may change)"
            ) from None
    for position, team in enumerate(config.teams):
        unit.teams.upsert_team(
            slug=team.slug,
            kind=team.kind,
            name_pl=team.name_pl,
            name_en=team.name_en,
            description_pl=team.description_pl,
            description_en=team.description_en,
            position=position,
        )
    unit.roles.replace_config_admins(config.admins)
    return tuple(unit.teams.list_teams("sector"))


async def sync_from_config(db: Database, config: Config) -> None:
    """Make the teams and config admins in the database match the configuration."""
    _sector_teams[db] = await db.run(_sync, config)


def _view(unit: Unit, user_id: int, teams: tuple[Team, ...] | None) -> SectorsView:
    if teams is None:
        teams = tuple(unit.teams.list_teams("sector"))
    return SectorsView(
        teams=teams,
        subscribed=frozenset(unit.subscriptions.list_subscribed_team_ids(user_id)),
    )


def _require_consent(unit: Unit, user_id: int, notice_version: int) -> None:
    version = unit.users.get_consent_version(user_id)
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

    def change(unit: Unit) -> SectorsView:
        _require_consent(unit, user_id, notice_version)
        if teams is not None:
            known = any(team.id == team_id for team in teams)
        else:
            team = unit.teams.get_team(team_id)
            known = team is not None and team.kind == "sector"
        if not known:
            raise UnknownSector()
        if not unit.subscriptions.add_subscription(user_id, team_id, now):
            unit.subscriptions.delete_subscription(user_id, team_id)
        return _view(unit, user_id, teams)

    return await db.run(change)


def _subscribe_slug(unit: Unit, user_id: int, slug: str, now: datetime) -> Subscribed:
    team = unit.teams.get_team_by_slug(slug)
    if team is None or team.kind != "sector":
        raise UnknownSector(slug=slug)
    added = unit.subscriptions.add_subscription(user_id, team.id, now)
    return Subscribed(team=team, added=added, view=_view(unit, user_id, None))


async def subscribe_by_slug(
    db: Database, user_id: int, slug: str, notice_version: int, now: datetime
) -> Subscribed:
    """Subscribe through a deep link `sector-<slug>` (idempotent)."""

    def change(unit: Unit) -> Subscribed:
        _require_consent(unit, user_id, notice_version)
        return _subscribe_slug(unit, user_id, slug, now)

    return await db.run(change)


async def give_consent(
    db: Database,
    user_id: int,
    language: Language,
    notice_version: int,
    now: datetime,
    subscribe_slug: str | None = None,
    name: PersonName | None = None,
) -> Subscribed | None:
    """Record consent (creating the user if needed) with the person's Telegram names, and
    optionally subscribe, atomically."""

    def change(unit: Unit) -> Subscribed | None:
        unit.users.add_user(user_id, language, now)
        unit.users.update_consent(user_id, notice_version, now)
        if name is not None:
            unit.users.update_names(user_id, name)
        if subscribe_slug is None:
            return None
        try:
            return _subscribe_slug(unit, user_id, subscribe_slug, now)
        except UnknownSector:
            return None

    return await db.run(change)
