"""The audit log of moderators' and admins' actions: who, when, what, on what (/audit).

`record` is sync and is called INSIDE the caller's `db.run` unit, so the entry commits or rolls
back together with the action it describes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot import csvfile
from bot.errors import NotAllowed
from bot.services.users import Actor
from storage.audit import AuditEntry
from storage.database import Database
from storage.unit import Unit


def record(
    unit: Unit,
    *,
    actor_id: int,
    action: str,
    target: str,
    details: Mapping[str, object] | None = None,
    now: datetime,
) -> None:
    """Append an audit entry in the caller's transaction.

    `action` like 'role.grant', 'role.revoke', 'broadcast.send', 'meeting.create',
    'meeting.edit', 'meeting.cancel', 'postulate.review'; `target` like 'meeting:42',
    'user:123'; `details` a JSON-serialisable mapping (other values are stored as text).
    """
    unit.audit.add_entry(actor_id=actor_id, action=action, target=target, details=details, now=now)


PAGE_SIZE = 10
CSV_COLUMNS = ("id", "at_utc", "at_local", "actor_id", "action", "target", "details")


class AuditPage(BaseModel):
    """One page of the log, newest first."""

    model_config = ConfigDict(frozen=True)

    entries: tuple[AuditEntry, ...]
    # Names of the actors who (still) hold a moderator role, else they are shown by id.
    names: dict[int, str]
    page: int
    pages: int
    total: int


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise NotAllowed()


async def page(db: Database, actor: Actor, number: int) -> AuditPage:
    """Page `number` (0 = newest); a page past the end shows the last one."""
    _require_admin(actor)

    def inner(unit: Unit) -> AuditPage:
        total = unit.audit.count_entries()
        pages = max(1, -(-total // PAGE_SIZE))
        shown = min(max(number, 0), pages - 1)
        entries = unit.audit.list_entries(limit=PAGE_SIZE, offset=shown * PAGE_SIZE)
        names = unit.roles.list_display_names(e.actor_id for e in entries)
        return AuditPage(entries=tuple(entries), names=names, page=shown, pages=pages, total=total)

    return await db.run(inner)


def to_csv(entries: Iterable[AuditEntry], zone: ZoneInfo, delimiter: str = ";") -> bytes:
    """The log as CSV that spreadsheet programs open with Polish letters (UTF-8 with BOM)."""
    rows = [
        (
            entry.id,
            entry.at.astimezone(UTC).isoformat(timespec="seconds"),
            entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
            entry.actor_id,
            entry.action,
            entry.target,
            None
            if entry.details is None
            else json.dumps(entry.details, ensure_ascii=False, sort_keys=True),
        )
        for entry in entries
    ]
    return csvfile.write(CSV_COLUMNS, rows, delimiter)


async def export_csv(
    db: Database, actor: Actor, *, zone: ZoneInfo, delimiter: str = ";"
) -> tuple[bytes, int]:
    """The whole log, newest first, as CSV bytes, and how many entries it holds."""
    _require_admin(actor)
    entries = await db.run(lambda unit: list(unit.audit.iter_entries()))
    return to_csv(entries, zone, delimiter), len(entries)
