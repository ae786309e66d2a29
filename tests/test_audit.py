"""Audit log: entries written in the acting transaction; /audit for admins, CSV export."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from bot.services import audit
from storage import audit as storage
from storage.database import Database

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


async def test_record_commits_and_rolls_back_with_the_action() -> None:
    db = await Database.open(":memory:")
    try:

        def ok(conn: sqlite3.Connection) -> None:
            audit.record(
                conn,
                actor_id=900,
                action="role.grant",
                target="user:1001",
                details={"sector": "ecology", "name": "Zażółć"},
                now=NOW,
            )

        def failing(conn: sqlite3.Connection) -> None:
            audit.record(conn, actor_id=900, action="role.revoke", target="user:1001", now=NOW)
            raise RuntimeError("the action failed after recording")

        await db.run(ok)
        with pytest.raises(RuntimeError):
            await db.run(failing)
        entries = await db.run(lambda conn: storage.list_entries(conn, limit=10))
    finally:
        await db.close()
    assert [(e.actor_id, e.action, e.target) for e in entries] == [(900, "role.grant", "user:1001")]
    assert entries[0].details == {"sector": "ecology", "name": "Zażółć"}
    assert entries[0].at == NOW
