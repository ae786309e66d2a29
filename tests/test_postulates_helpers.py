"""Helpers shared by the postulate tests: members, roles, organisations, a full submission."""

from __future__ import annotations

import sqlite3

from storage.database import Database
from storage.timefmt import db_time
from tests.fakes import Call
from tests.harness import BotDriver, TgUser
from tests.sql import raw_sql

TITLE = "Więcej zieleni w centrum"
CONTENT = "Proponujemy nasadzenia drzew wzdłuż Plant & przy szkołach <b>teraz</b>."


def db_of(bot: BotDriver) -> Database:
    db = bot.app.bot_data["deps"].db
    assert isinstance(db, Database)
    return db


async def member(bot: BotDriver, user: TgUser) -> None:
    """The user starts the bot and consents."""
    await bot.onboard(user)


async def team_id(bot: BotDriver, slug: str) -> int:
    def read(conn: sqlite3.Connection) -> int:
        value: int = conn.execute("SELECT id FROM teams WHERE slug = ?", (slug,)).fetchone()[0]
        return value

    return await db_of(bot).run(raw_sql(read))


async def team_name(bot: BotDriver, user: TgUser, tid: int) -> str:
    """A sector's name as the user sees it on its button."""
    language = "en" if user.language_code == "en" else "pl"

    def read(conn: sqlite3.Connection) -> str:
        row = conn.execute("SELECT name_pl, name_en FROM teams WHERE id = ?", (tid,)).fetchone()
        return str(row[0] if language == "pl" else row[1])

    return await db_of(bot).run(raw_sql(read))


async def make_moderator(bot: BotDriver, user: TgUser, slug: str) -> None:
    tid = await team_id(bot, slug)

    def grant(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO moderators (user_id, team_id, granted_at) VALUES (?, ?, ?)",
            (user.id, tid, db_time(bot.clock())),
        )

    await db_of(bot).run(raw_sql(grant))


async def represent(bot: BotDriver, user: TgUser, name: str) -> int:
    """Make the user the representative of a new organisation; return its id."""

    def add(conn: sqlite3.Connection) -> int:
        now = db_time(bot.clock())
        row = conn.execute(
            """INSERT INTO organisations (name, register_type, created_at, updated_at)
               VALUES (?, 'none', ?, ?) RETURNING id""",
            (name, now, now),
        ).fetchone()
        conn.execute("UPDATE users SET organisation_id = ? WHERE id = ?", (row[0], user.id))
        conn.execute(
            """INSERT INTO organisation_representatives
                   (organisation_id, user_id, state, requested_at, decided_at)
               VALUES (?, ?, 'accepted', ?, ?)""",
            (row[0], user.id, now, now),
        )
        value: int = row[0]
        return value

    return await db_of(bot).run(raw_sql(add))


# A step shows in a new message or edits the pressed one in place.
SHOWN = ("sendMessage", "editMessageText")


def last_buttons(calls: list[Call]) -> dict[str, str]:
    """label -> data of the buttons of the last message sent or edited."""
    sent = [c for c in calls if c.method in SHOWN]
    assert sent, calls
    return dict(sent[-1].buttons())


def sent_text(calls: list[Call]) -> str:
    """What the calls showed: messages sent and messages edited in place."""
    return "\n".join(c.text for c in calls if c.method in SHOWN)


async def count_postulates(bot: BotDriver) -> int:
    def read(conn: sqlite3.Connection) -> int:
        value: int = conn.execute("SELECT count(*) FROM postulates").fetchone()[0]
        return value

    return await db_of(bot).run(raw_sql(read))


async def submit(
    bot: BotDriver,
    user: TgUser,
    slug: str = "culture",
    title: str = TITLE,
    content: str = CONTENT,
) -> str:
    """Go through the whole conversation; return the reference."""
    tid = await team_id(bot, slug)
    calls = await bot.send(user, "/postulate")
    calls = await bot.press(user, await team_name(bot, user, tid))
    if "pst:behalf:organisation" in last_buttons(calls).values():
        await bot.press(user, "🏢", exact=False)
    await bot.send(user, title)
    await bot.send(user, content)
    await bot.press(user, bot.label(user, "postulates.button-done"))
    calls = await bot.press(user, bot.label(user, "postulates.button-skip"))
    if "pst:continue" in last_buttons(calls).values():
        calls = await bot.press(user, bot.label(user, "postulates.button-continue"))
    calls = await bot.press(user, bot.label(user, "postulates.button-submit"))
    text = sent_text(calls)
    assert "P-" in text, text
    start = text.index("P-")
    return text[start : start + 11]


async def postulate_row(bot: BotDriver, reference: str) -> sqlite3.Row:
    def read(conn: sqlite3.Connection) -> sqlite3.Row:
        row: sqlite3.Row = conn.execute(
            "SELECT * FROM postulates WHERE reference = ?", (reference,)
        ).fetchone()
        return row

    return await db_of(bot).run(raw_sql(read))
