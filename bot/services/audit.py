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
from storage.models import Team
from storage.unit import Unit
from storage.users import PersonName


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
CSV_COLUMNS = ("id", "at_utc", "at_local", "actor_id", "action", "target", "details", "actor")


class AuditPage(BaseModel):
    """One page of the log, newest first, with what it takes to show it to people."""

    model_config = ConfigDict(frozen=True)

    entries: tuple[AuditEntry, ...]
    # The names moderators were granted under (for people whose Telegram names are unknown).
    names: dict[int, str]
    page: int
    pages: int
    total: int
    # Everyone the page names (actors and `user:<id>` targets), by their Telegram names.
    people: dict[int, PersonName] = {}
    # Every team by slug, so details show a sector's name instead of its slug.
    teams: dict[str, Team] = {}


def target_user(target: str) -> int | None:
    """The user id of a `user:<id>` target (None for other targets)."""
    kind, _, value = target.partition(":")
    return int(value) if kind == "user" and value.isdigit() else None


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
        targets = [user for e in entries if (user := target_user(e.target)) is not None]
        wanted = [*(e.actor_id for e in entries), *targets]
        return AuditPage(
            entries=tuple(entries),
            names=unit.roles.list_display_names(wanted),
            people=unit.users.list_names(wanted),
            teams={team.slug: team for team in unit.teams.list_teams()},
            page=shown,
            pages=pages,
            total=total,
        )

    return await db.run(inner)


def to_csv(
    entries: Iterable[AuditEntry],
    zone: ZoneInfo,
    delimiter: str = ";",
    names: Mapping[int, PersonName] | None = None,
) -> bytes:
    """The log as CSV that spreadsheet programs open with Polish letters (UTF-8 with BOM);
    `actor` is who acted by their Telegram names (empty when unknown)."""
    names = names or {}
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
            _label(names.get(entry.actor_id)),
        )
        for entry in entries
    ]
    return csvfile.write(CSV_COLUMNS, rows, delimiter)


def _label(name: PersonName | None) -> str:
    return (None if name is None else name.label()) or ""


async def export_csv(
    db: Database, actor: Actor, *, zone: ZoneInfo, delimiter: str = ";"
) -> tuple[bytes, int]:
    """The whole log, newest first, as CSV bytes, and how many entries it holds."""
    _require_admin(actor)

    def read(unit: Unit) -> tuple[list[AuditEntry], dict[int, PersonName]]:
        entries = list(unit.audit.iter_entries())
        return entries, unit.users.list_names(e.actor_id for e in entries)

    entries, names = await db.run(read)
    return to_csv(entries, zone, delimiter, names), len(entries)
