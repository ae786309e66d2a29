"""Postulates, calls: a sector's call with a deadline, announced now and 48 h before closing."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import Language
from bot.errors import NotAllowed
from bot.services import audit, delivery, sectors
from bot.services.postulates import (
    CALL_OPENED_KIND,
    CALL_REMINDER_KIND,
    CallNotice,
    InvalidInput,
    check_length,
)
from storage.database import Database
from storage.postulates import Call
from storage.unit import Unit

# --- calls for postulates -------------------------------------------------------------------

CALL_REMINDER = timedelta(hours=48)


def _open_call(
    unit: Unit,
    user_id: int,
    slug: str,
    title: str,
    deadline: datetime,
    now: datetime,
    language: Language,
) -> Call:
    team = sectors.resolve_sector(unit, slug, language)
    admin = unit.roles.is_admin(user_id)
    if not admin and team.id not in unit.roles.list_moderated_team_ids(user_id):
        raise NotAllowed()
    title = check_length(title, (3, 150), "call-title")
    if deadline <= now:
        raise InvalidInput("postulates.error-call-deadline")
    call = unit.postulates.add_call(
        team_id=team.id, title=title, deadline=deadline, opened_by=user_id, now=now
    )
    audit.record(
        unit,
        actor_id=user_id,
        action="postulate.call",
        target=f"call:{call.id}",
        details={"sector": team.slug, "title": title, "deadline": deadline.isoformat()},
        now=now,
    )

    notice = CallNotice(call_id=call.id, title=title, team=team, deadline=deadline)
    subject = f"call:{call.id}"
    delivery.announce(
        unit,
        kind=CALL_OPENED_KIND,
        audience="team",
        audience_id=team.id,
        data=notice,
        now=now,
        expires_at=deadline,
        subject=subject,
        created_by=user_id,
    )
    if deadline - CALL_REMINDER > now:
        delivery.announce(
            unit,
            kind=CALL_REMINDER_KIND,
            audience="team",
            audience_id=team.id,
            data=notice,
            now=now,
            due_at=deadline - CALL_REMINDER,
            expires_at=deadline,
            subject=subject,
            created_by=user_id,
        )
    return call


async def open_call(
    db: Database,
    user_id: int,
    slug: str,
    title: str,
    deadline: datetime,
    now: datetime,
    language: Language = "pl",
) -> Call:
    """Open a call for postulates in a sector typed as its slug or name; subscribers are told
    now and 48 h before. `language`: the one an unknown sector's valid names are listed in."""
    return await db.run(_open_call, user_id, slug, title, deadline, now, language)
