"""Roles presentation: the notice a member gets when their role in a sector changes."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Language
from bot.engine import DeliveryEngine, Rendered
from bot.i18n import Texts
from bot.services import roles as roles_service

_KEYS = {
    "invite-accepted": "roles.notice-invite-accepted",
    "granted": "roles.notice-granted",
    "revoked": "roles.notice-revoked",
}


def role_change(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    """'You are now a moderator of ...' and its siblings, in the recipient's language."""
    notice = roles_service.RoleNotice.model_validate(data)
    values: dict[str, object] = {"sector": notice.team.name(language)}
    if notice.name is not None:
        values["name"] = notice.name
    return Rendered(text=texts.get(language, _KEYS[notice.change], **values))


def register(engine: DeliveryEngine) -> None:
    """Render role-change notices."""
    engine.add_renderer(roles_service.NOTICE_KIND, role_change)
