"""Roles storage: admins (seeded from config) and sector moderators."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable


def replace_config_admins(conn: sqlite3.Connection, user_ids: Iterable[int]) -> None:
    """Make the config-sourced admins exactly `user_ids`."""
    ids = sorted(set(user_ids))
    conn.execute("DELETE FROM admins WHERE source = 'config'")
    conn.executemany(
        "INSERT INTO admins (user_id, source) VALUES (?, 'config')", [(i,) for i in ids]
    )


def is_admin(conn: sqlite3.Connection, user_id: int) -> bool:
    """Return whether the user is an admin of the coordinating team."""
    return conn.execute("SELECT 1 FROM admins WHERE user_id = ?", (user_id,)).fetchone() is not None


def list_moderated_team_ids(conn: sqlite3.Connection, user_id: int) -> set[int]:
    """Return the ids of the sector teams the user moderates."""
    rows = conn.execute("SELECT team_id FROM moderators WHERE user_id = ?", (user_id,)).fetchall()
    return {row[0] for row in rows}
