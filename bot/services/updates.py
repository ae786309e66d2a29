"""At most once: an update is recorded as taken before any handler sees it."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import Language
from bot.services import users as users_service
from bot.services.users import Actor, PersonName
from storage.database import Database
from storage.unit import Unit

# Telegram keeps an unconfirmed update for 24 hours; a few days more cost little. Older ids
# are deleted by the daily retention run (`forget_old`), not by every update.
KEEP_IDS = timedelta(days=3)


class Admission:
    """Whether an update is new and, if it has a user, who sent it."""

    __slots__ = ("actor", "fresh")

    def __init__(self, fresh: bool, actor: Actor | None) -> None:
        self.fresh = fresh
        self.actor = actor


def _admit(
    unit: Unit,
    update_id: int,
    user_id: int | None,
    language: Language,
    now: datetime,
    name: PersonName | None = None,
) -> Admission:
    if not unit.updates.add_processed_update(update_id, now):
        return Admission(fresh=False, actor=None)
    # The same transaction as the record: one thread hop per update, as before.
    actor = None if user_id is None else users_service.read_actor(unit, user_id, language, name)
    return Admission(fresh=True, actor=actor)


async def admit(
    db: Database,
    update_id: int,
    user_id: int | None,
    language: Language,
    now: datetime,
    name: PersonName | None = None,
) -> Admission:
    """Record the update as taken and load its actor (refreshing their names after consent);
    `fresh` is False for a repeat."""
    return await db.run(_admit, update_id, user_id, language, now, name)


def forget_old(unit: Unit, now: datetime) -> int:
    """Delete the ids of updates received more than KEEP_IDS ago; return how many."""
    return unit.updates.delete_processed_updates_before(now - KEEP_IDS)
