"""At most once: an update is recorded as taken before any handler sees it."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from bot.config import Language
from bot.services import users as users_service
from bot.services.users import Actor
from storage import updates as updates_storage
from storage.database import Database

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
    conn: sqlite3.Connection,
    update_id: int,
    user_id: int | None,
    language: Language,
    now: datetime,
) -> Admission:
    if not updates_storage.add_processed_update(conn, update_id, now):
        return Admission(fresh=False, actor=None)
    # The same transaction as the record: one thread hop per update, as before.
    actor = None if user_id is None else users_service.read_actor(conn, user_id, language)
    return Admission(fresh=True, actor=actor)


async def admit(
    db: Database, update_id: int, user_id: int | None, language: Language, now: datetime
) -> Admission:
    """Record the update as taken and load its actor; `fresh` is False for a repeat."""
    return await db.run(_admit, update_id, user_id, language, now)


def forget_old(conn: sqlite3.Connection, now: datetime) -> int:
    """Delete the ids of updates received more than KEEP_IDS ago; return how many."""
    return updates_storage.delete_processed_updates_before(conn, now - KEEP_IDS)
