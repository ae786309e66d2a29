"""Roles presentation: the role buttons (/grant, /revoke, invites) and the notice a member gets
when their role in a sector changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Language
from bot.engine import DeliveryEngine, Rendered
from bot.i18n import Texts
from bot.services import roles as roles_service
from handlers.callbacks import Callback
from handlers.views.people import person_label


@dataclass(frozen=True)
class GrantSector(Callback, prefix="role:sector"):
    """/grant: the sector team the role is for."""

    team_id: int


@dataclass(frozen=True)
class Invite(Callback, prefix="role:invite"):
    """A fresh one-time invite link for a sector team's moderator role."""

    team_id: int


@dataclass(frozen=True)
class Accept(Callback, prefix="role:accept"):
    """Accept the role an invite link grants (the token as in the link)."""

    token: str


@dataclass(frozen=True)
class Revoke(Callback, prefix="role:revoke"):
    """/revoke's picker: this person's role in this sector team (asks to confirm)."""

    team_id: int
    user_id: int


@dataclass(frozen=True)
class RevokeYes(Callback, prefix="role:revoke-yes"):
    """Confirmed: revoke this person's role in this sector team."""

    team_id: int
    user_id: int


@dataclass(frozen=True)
class Keep(Callback, prefix="role:keep"):
    """Not confirmed: the role stays."""


_KEYS = {
    "invite-accepted": "roles.notice-invite-accepted",
    "granted": "roles.notice-granted",
    "revoked": "roles.notice-revoked",
}


def role_change(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    """'You are now a moderator of ...' and its siblings, in the recipient's language."""
    notice = roles_service.RoleNotice.model_validate(data)
    values: dict[str, object] = {"sector": notice.team.name(language)}
    if notice.user_id is not None:
        known = notice.person is not None and notice.person.known
        values["name"] = (
            notice.name
            if notice.name and not known
            else person_label(texts, language, notice.user_id, notice.person)
        )
    elif notice.name is not None:
        values["name"] = notice.name
    return Rendered(text=texts.get(language, _KEYS[notice.change], **values))


def register(engine: DeliveryEngine) -> None:
    """Render role-change notices."""
    engine.add_renderer(roles_service.NOTICE_KIND, role_change)
