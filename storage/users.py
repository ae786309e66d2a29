"""Users storage: language, consent, activity and the organisation a user represents."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from storage.models import User
from storage.timefmt import db_time


def get_user(conn: sqlite3.Connection, user_id: int) -> User | None:
    """Return one user."""
    row = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
    return None if row is None else User.from_row(row)


def get_consent_version(conn: sqlite3.Connection, user_id: int) -> int | None:
    """Return the privacy notice version the user consented to (None: no consent, no user)."""
    row = conn.execute("SELECT consent_version FROM users WHERE id = ?", (user_id,)).fetchone()
    return None if row is None else row[0]


def add_user(conn: sqlite3.Connection, user_id: int, language: str, now: datetime) -> User:
    """Insert a user who has not consented yet (id and language only); keep an existing one."""
    row = conn.execute(
        """INSERT INTO users (id, language, created_at) VALUES (?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET active = 1 RETURNING *""",
        (user_id, language, db_time(now)),
    ).fetchone()
    return User.from_row(row)


def update_consent(conn: sqlite3.Connection, user_id: int, version: int, now: datetime) -> None:
    """Record consent to the given version of the privacy notice."""
    conn.execute(
        "UPDATE users SET consent_at = ?, consent_version = ? WHERE id = ?",
        (db_time(now), version, user_id),
    )


def update_language(conn: sqlite3.Connection, user_id: int, language: str, *, chosen: bool) -> None:
    """Set the user's language; `chosen` stops it following Telegram's language_code."""
    conn.execute(
        "UPDATE users SET language = ?, language_chosen = max(language_chosen, ?) WHERE id = ?",
        (language, int(chosen), user_id),
    )


def update_active(conn: sqlite3.Connection, user_id: int, active: bool) -> bool:
    """Mark a user active or inactive; return whether the user exists."""
    cursor = conn.execute("UPDATE users SET active = ? WHERE id = ?", (int(active), user_id))
    return cursor.rowcount > 0


def update_organisation(
    conn: sqlite3.Connection, user_id: int, organisation_id: int | None
) -> None:
    """Link the user to the organisation they represent (or to none)."""
    conn.execute("UPDATE users SET organisation_id = ? WHERE id = ?", (organisation_id, user_id))
