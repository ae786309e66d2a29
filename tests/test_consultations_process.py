"""Kill -9 in the middle of a comment on the draft programme, then finish it after the restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from handlers.consultations import CommentStep
from storage.database import Database
from storage.unit import Unit
from tests.test_flows_process import (  # noqa: F401 (fixtures)
    Admin,
    admin,
    bot_process,
    rows,
    server,
)

pytestmark = pytest.mark.process


def _publish_draft(database: Path) -> int:
    """A consultation open for a week, published as the admin would (one section)."""

    async def run() -> int:
        db = await Database.open(database)
        now = datetime.now(UTC)

        def add(unit: Unit) -> int:
            consultation_id = unit.consultations.add_consultation(
                title="Projekt po restarcie",
                opens_at=now - timedelta(hours=1),
                closes_at=now + timedelta(days=7),
                team_ids=[],
                all_sectors=True,
                file_name="projekt.md",
                sections=[("Cele programu", "Treść części pierwszej.")],
                created_by=1,
                now=now,
            )
            unit.consultations.update_published(consultation_id, now)
            return unit.consultations.list_sections(consultation_id)[0].id

        try:
            return await db.run(add)
        finally:
            await db.close()

    return asyncio.run(run())


def test_comment_survives_kill(admin: Admin, tmp_path: Path) -> None:  # noqa: F811
    database = tmp_path / "bot.sqlite3"
    section_id = _publish_draft(database)
    admin.press(f"cons:comment:{section_id}", "Napisz ją")
    admin.send("Uwaga napisana tuż przed awarią procesu bota.", "nowe brzmienie")
    admin.kill_and_restart(CommentStep.WORDING)
    admin.send("Brzmienie wpisane po restarcie.", "Podgląd uwagi")
    admin.press("cons:send", "Dziękujemy")
    assert rows(database, "SELECT body, wording FROM consultation_comments") == [
        ("Uwaga napisana tuż przed awarią procesu bota.", "Brzmienie wpisane po restarcie.")
    ]
