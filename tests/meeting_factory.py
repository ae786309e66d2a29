"""Test data for the member side of meetings: meetings, consent, subscriptions, moderators."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from telegram.request import RequestData

from bot.config import Config
from bot.deps import Deps
from storage.database import Database
from storage.timefmt import db_time
from tests.conftest import start_driver, stop_driver
from tests.fakes import FakeBotApi
from tests.harness import BotDriver, Clock, TgUser
from tests.sql import raw_sql


def db_of(bot: BotDriver) -> Database:
    """The application's database."""
    deps = bot.app.bot_data["deps"]
    assert isinstance(deps, Deps)
    return deps.db


async def add_meeting(
    bot: BotDriver,
    *,
    team: str = "culture",
    title: str = "Spotkanie branżowe",
    starts_in: timedelta = timedelta(days=7),
    duration: int = 120,
    place: str | None = "ul. Józefińska 14, Kraków",
    online_url: str | None = None,
    agenda: str | None = "1. Otwarcie\n2. Postulaty",
    capacity: int | None = None,
    state: str = "scheduled",
) -> int:
    """Insert a meeting directly (starting `starts_in` after the test clock's now)."""
    now = bot.clock.now

    def insert(conn: sqlite3.Connection) -> int:
        team_id = conn.execute("SELECT id FROM teams WHERE slug = ?", (team,)).fetchone()[0]
        row = conn.execute(
            """INSERT INTO meetings (team_id, title, starts_at, duration_minutes, place,
                   online_url, agenda, capacity, reminder_minutes, state, created_by,
                   created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 900, ?, ?) RETURNING id""",
            (
                team_id,
                title,
                db_time(now + starts_in),
                duration,
                place,
                online_url,
                agenda,
                capacity,
                json.dumps([1440]),
                state,
                db_time(now),
                db_time(now),
            ),
        ).fetchone()
        return int(row[0])

    return await db_of(bot).run(raw_sql(insert))


async def update_meeting(bot: BotDriver, meeting_id: int, at: datetime, **values: object) -> None:
    """Change columns of a meeting as an edit at `at` would."""

    def change(conn: sqlite3.Connection) -> None:
        for column, value in values.items():
            stored = db_time(value) if isinstance(value, datetime) else value
            conn.execute(f"UPDATE meetings SET {column} = ? WHERE id = ?", (stored, meeting_id))
        conn.execute(
            "UPDATE meetings SET updated_at = ?, revision = revision + 1 WHERE id = ?",
            (db_time(at), meeting_id),
        )

    await db_of(bot).run(raw_sql(change))


async def make_moderator(bot: BotDriver, user_id: int, team: str = "culture") -> None:
    """Grant a sector moderator role directly."""

    def grant(conn: sqlite3.Connection) -> None:
        conn.execute(
            """INSERT INTO moderators (user_id, team_id, granted_by, granted_at)
               SELECT ?, id, 900, '2026-01-01T00:00:00.000000+00:00' FROM teams WHERE slug = ?""",
            (user_id, team),
        )

    await db_of(bot).run(raw_sql(grant))


async def set_organisation(bot: BotDriver, user_id: int, name: str) -> None:
    """Link a user to a (new) organisation of that name."""

    def link(conn: sqlite3.Connection) -> None:
        row = conn.execute(
            """INSERT INTO organisations (name, register_type, created_at, updated_at)
               VALUES (?, 'none', '2026-01-01T00:00:00.000000+00:00',
                       '2026-01-01T00:00:00.000000+00:00') RETURNING id""",
            (name,),
        ).fetchone()
        conn.execute("UPDATE users SET organisation_id = ? WHERE id = ?", (row[0], user_id))

    await db_of(bot).run(raw_sql(link))


def user(number: int, language: str = "pl") -> TgUser:
    """Another member."""
    return TgUser(id=2000 + number, language_code=language, first_name=f"U{number}")


@dataclass
class FilesApi(FakeBotApi):
    """The fake Bot API that also keeps uploaded files: (method, filename, content)."""

    files: list[tuple[str, str, bytes]] = field(default_factory=list)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if request_data is not None:
            for part in request_data.multipart_data.values():
                content = part[1]
                data = content if isinstance(content, bytes) else content.read()
                self.files.append((url.rsplit("/", 1)[-1], str(part[0]), data))
        return await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )


async def files_driver(config: Config, clock: Clock) -> AsyncIterator[BotDriver]:
    """The real application on a fake network that keeps uploaded documents."""
    driver = await start_driver(config, clock, FilesApi())
    try:
        yield driver
    finally:
        await stop_driver(driver)


def uploaded(bot: BotDriver) -> list[tuple[str, str, bytes]]:
    """The documents the bot uploaded so far."""
    api = bot.api
    assert isinstance(api, FilesApi)
    return api.files
