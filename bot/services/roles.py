"""Roles: admins (the coordinating team, from config) grant and revoke sector moderators.

An admin grants a sector's moderator role by a one-time invite deep link (`/start mod-<token>`,
72 hours, works once; only the token's SHA-256 is stored) or directly to someone who has used
the bot (their forwarded message names them). Every grant and revoke is audited and the person
gets a transactional 'role-change' notice. Roles are read from the database on every update
(handlers/gatekeeper.py), so a change takes effect at once, on old buttons too.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.errors import ConsentRequired, DomainError, NotAllowed, UnknownSector
from bot.services import audit, broadcasts, delivery, sectors
from bot.services.users import Actor
from storage import roles as storage
from storage.database import Database
from storage.models import Team
from storage.roles import Moderator
from storage.unit import Unit
from storage.users import PersonName

INVITE_TTL = timedelta(hours=72)
# Deep-link payloads allow 64 characters of [A-Za-z0-9_-]: "mod-" + 32 stays well inside.
INVITE_PREFIX = "mod-"
TOKEN_BYTES = 24
TOKEN_PATTERN = r"[A-Za-z0-9_-]{20,60}"
DISPLAY_NAME_MAX = 64
NOTICE_KIND = "role-change"


def register(registry: delivery.Registry) -> None:
    """The role notice's kind: never muted, never held."""
    registry.add_kinds("transactional", NOTICE_KIND)


class AdminsOnly(NotAllowed):
    """Only the coordinating team (admins) grants and revokes roles."""

    key = "roles.admins-only"


class InviteInvalid(DomainError):
    key = "roles.invite-invalid"


class InviteExpired(DomainError):
    key = "roles.invite-expired"


class InviteUsed(DomainError):
    key = "roles.invite-used"


class NeverUsedBot(DomainError):
    key = "roles.never-used-bot"


class NotConsentedYet(DomainError):
    key = "roles.not-consented"


class AlreadyModerator(DomainError):
    key = "roles.already-moderator"


class NotModerator(DomainError):
    key = "roles.not-moderator"


class CreatedInvite(BaseModel):
    """A fresh invite: the token exists only here, the database keeps its hash."""

    model_config = ConfigDict(frozen=True)

    token: str
    team: Team
    expires_at: datetime

    @property
    def payload(self) -> str:
        return INVITE_PREFIX + self.token


class InvitePreview(BaseModel):
    model_config = ConfigDict(frozen=True)

    team: Team
    expires_at: datetime


class RoleChange(BaseModel):
    """A granted or revoked role."""

    model_config = ConfigDict(frozen=True)

    team: Team
    user_id: int
    display_name: str | None
    # Their Telegram names as stored now (None: nothing known).
    name: PersonName | None = None
    # Revoke: the person's scheduled broadcasts cancelled with the role.
    cancelled_broadcasts: int = 0


class SectorModerators(BaseModel):
    model_config = ConfigDict(frozen=True)

    team: Team
    moderators: tuple[Moderator, ...]


class TeamView(BaseModel):
    """/team: the admins and the moderators of every sector team."""

    model_config = ConfigDict(frozen=True)

    admin_ids: tuple[int, ...]
    sectors: tuple[SectorModerators, ...]
    # Everyone's stored names, by user id (people without a user row are missing).
    names: dict[int, PersonName] = {}


def hash_token(token: str) -> str:
    """The stored form of an invite token."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def clean_display_name(name: str | None) -> str | None:
    """A name to show in /team and /revoke, cut to the column's limit."""
    if not name:
        return None
    name = " ".join(name.split())
    return name[:DISPLAY_NAME_MAX] or None


def _name(unit: Unit, user_id: int) -> PersonName | None:
    return unit.users.list_names((user_id,)).get(user_id)


def _require_admin(actor: Actor) -> None:
    # Callback data and commands reach here from anyone: the role is checked in the service.
    if not actor.is_admin:
        raise AdminsOnly()


def _sector(unit: Unit, team_id: int) -> Team:
    team = unit.teams.get_team(team_id)
    if team is None or team.kind != "sector":
        raise UnknownSector()
    return team


class RoleNotice(BaseModel):
    """Notice data: the recipient's role in a sector changed (or their invite was used)."""

    model_config = ConfigDict(frozen=True)

    change: Literal["invite-accepted", "granted", "revoked"]
    team: Team
    # Who accepted the invite: the name Telegram showed then, their id and stored names.
    name: str | None = None
    user_id: int | None = None
    person: PersonName | None = None


def _notice(
    unit: Unit,
    *,
    user_id: int,
    notice: RoleNotice,
    now: datetime,
    actor_id: int,
) -> None:
    delivery.announce(
        unit,
        kind=NOTICE_KIND,
        audience="user",
        audience_id=user_id,
        data=notice,
        now=now,
        created_by=actor_id,
    )


async def grantable_sectors(db: Database, actor: Actor) -> list[Team]:
    """The sector teams an admin may grant roles in (all of them)."""
    _require_admin(actor)
    return await db.run(lambda unit: unit.teams.list_teams("sector"))


async def choose_sector(db: Database, actor: Actor, team_id: int) -> Team:
    """The sector picked for /grant, re-checked (the button may be forged)."""
    _require_admin(actor)
    return await db.run(_sector, team_id)


async def choose_sector_named(db: Database, actor: Actor, typed: str) -> Team:
    """The sector typed for /grant (slug, Polish or English name; see sectors.find_sector)."""
    _require_admin(actor)
    return await db.run(sectors.resolve_sector, typed, actor.language)


async def create_invite(
    db: Database, actor: Actor, team_id: int, *, now: datetime
) -> CreatedInvite:
    """Make a one-time invite link granting the sector's moderator role."""
    _require_admin(actor)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = now + INVITE_TTL

    def inner(unit: Unit) -> CreatedInvite:
        team = _sector(unit, team_id)
        invite = unit.roles.add_invite(
            token_hash=hash_token(token),
            team_id=team.id,
            created_by=actor.user_id,
            now=now,
            expires_at=expires_at,
        )
        audit.record(
            unit,
            actor_id=actor.user_id,
            action="role.invite",
            target=f"invite:{invite.id}",
            details={"sector": team.slug, "expires_at": expires_at.isoformat()},
            now=now,
        )
        return CreatedInvite(token=token, team=team, expires_at=expires_at)

    return await db.run(inner)


def _usable_invite(unit: Unit, token: str, now: datetime) -> tuple[storage.Invite, Team]:
    invite = unit.roles.get_invite_by_hash(hash_token(token))
    if invite is None:
        raise InviteInvalid()
    if invite.used_at is not None:
        raise InviteUsed()
    if invite.expires_at <= now:
        raise InviteExpired()
    if not unit.roles.is_admin(invite.created_by):
        # Whoever made it is no longer in the coordinating team: the link goes with them.
        raise InviteInvalid()
    team = unit.teams.get_team(invite.team_id)
    if team is None or team.kind != "sector":
        raise InviteInvalid()
    return invite, team


async def invite_preview(db: Database, token: str, *, now: datetime) -> InvitePreview:
    """What an invite grants, before it is accepted (raises if expired, used or unknown)."""

    def inner(unit: Unit) -> InvitePreview:
        invite, team = _usable_invite(unit, token, now)
        return InvitePreview(team=team, expires_at=invite.expires_at)

    return await db.run(inner)


async def accept_invite(
    db: Database,
    actor: Actor,
    token: str,
    *,
    display_name: str | None,
    notice_version: int,
    now: datetime,
) -> RoleChange:
    """Redeem an invite: the actor becomes the sector's moderator; the invite is used up."""
    if not actor.consented(notice_version):
        raise ConsentRequired()
    name = clean_display_name(display_name)

    def inner(unit: Unit) -> RoleChange:
        invite, team = _usable_invite(unit, token, now)
        if unit.roles.get_moderator(actor.user_id, team.id) is not None:
            # Keep the link usable: it may be meant for someone else after all.
            raise AlreadyModerator(sector=team.name(actor.language))
        # The single guarded UPDATE is what makes the invite work once, whatever races it.
        if unit.roles.update_invite_used(hash_token(token), actor.user_id, now) is None:
            raise InviteUsed()
        unit.roles.add_moderator(
            user_id=actor.user_id,
            team_id=team.id,
            granted_by=invite.created_by,
            display_name=name,
            now=now,
        )
        audit.record(
            unit,
            actor_id=invite.created_by,
            action="role.grant",
            target=f"user:{actor.user_id}",
            details={"sector": team.slug, "via": "invite", "invite": invite.id},
            now=now,
        )
        _notice(
            unit,
            user_id=invite.created_by,
            notice=RoleNotice(
                change="invite-accepted",
                team=team,
                name=name,
                user_id=actor.user_id,
                person=_name(unit, actor.user_id),
            ),
            now=now,
            actor_id=actor.user_id,
        )
        return RoleChange(
            team=team, user_id=actor.user_id, display_name=name, name=_name(unit, actor.user_id)
        )

    return await db.run(inner)


async def grant(
    db: Database,
    actor: Actor,
    team_id: int,
    user_id: int,
    *,
    display_name: str | None,
    now: datetime,
) -> RoleChange:
    """Grant a sector's moderator role to someone who has used the bot (and consented)."""
    _require_admin(actor)
    name = clean_display_name(display_name)

    def inner(unit: Unit) -> RoleChange:
        team = _sector(unit, team_id)
        user = unit.users.get_user(user_id)
        if user is None:
            raise NeverUsedBot()
        if user.consent_at is None:
            raise NotConsentedYet()
        if not unit.roles.add_moderator(
            user_id=user_id,
            team_id=team.id,
            granted_by=actor.user_id,
            display_name=name,
            now=now,
        ):
            raise AlreadyModerator(sector=team.name(actor.language))
        audit.record(
            unit,
            actor_id=actor.user_id,
            action="role.grant",
            target=f"user:{user_id}",
            details={"sector": team.slug, "via": "forward"},
            now=now,
        )
        _notice(
            unit,
            user_id=user_id,
            notice=RoleNotice(change="granted", team=team),
            now=now,
            actor_id=actor.user_id,
        )
        return RoleChange(team=team, user_id=user_id, display_name=name, name=_name(unit, user_id))

    return await db.run(inner)


async def revocable_roles(db: Database, actor: Actor) -> TeamView:
    """Every moderator role, for /revoke (admins only)."""
    _require_admin(actor)
    return await db.run(_team_view)


async def revocable(db: Database, actor: Actor, team_id: int, user_id: int) -> RoleChange:
    """The role /revoke asks to confirm (still there, the actor an admin)."""
    _require_admin(actor)

    def inner(unit: Unit) -> RoleChange:
        team = _sector(unit, team_id)
        moderator = unit.roles.get_moderator(user_id, team.id)
        if moderator is None:
            raise NotModerator()
        return RoleChange(
            team=team,
            user_id=user_id,
            display_name=moderator.display_name,
            name=_name(unit, user_id),
        )

    return await db.run(inner)


async def revoke(
    db: Database, actor: Actor, team_id: int, user_id: int, *, now: datetime
) -> RoleChange:
    """Remove a sector's moderator role; it takes effect on the person's next update."""
    _require_admin(actor)

    def inner(unit: Unit) -> RoleChange:
        team = _sector(unit, team_id)
        moderator = unit.roles.get_moderator(user_id, team.id)
        if moderator is None or not unit.roles.delete_moderator(user_id, team.id):
            raise NotModerator()
        audit.record(
            unit,
            actor_id=actor.user_id,
            action="role.revoke",
            target=f"user:{user_id}",
            details={"sector": team.slug},
            now=now,
        )
        # What they scheduled as that sector's moderator must not go out in their name later.
        cancelled = broadcasts.cancel_unauthorised(
            unit, author_id=user_id, actor_id=actor.user_id, now=now
        )
        _notice(
            unit,
            user_id=user_id,
            notice=RoleNotice(change="revoked", team=team),
            now=now,
            actor_id=actor.user_id,
        )
        return RoleChange(
            team=team,
            user_id=user_id,
            display_name=moderator.display_name,
            name=_name(unit, user_id),
            cancelled_broadcasts=cancelled,
        )

    return await db.run(inner)


async def team_view(db: Database, actor: Actor) -> TeamView:
    """Admins and every sector's moderators, for admins and moderators."""
    if not actor.is_moderator:
        raise NotAllowed()
    return await db.run(_team_view)


def _team_view(unit: Unit) -> TeamView:
    moderators = unit.roles.list_moderators()
    sectors = tuple(
        SectorModerators(team=team, moderators=tuple(m for m in moderators if m.team_id == team.id))
        for team in unit.teams.list_teams("sector")
    )
    admin_ids = tuple(unit.roles.list_admin_ids())
    names = unit.users.list_names([*admin_ids, *(m.user_id for m in moderators)])
    return TeamView(admin_ids=admin_ids, sectors=sectors, names=names)
