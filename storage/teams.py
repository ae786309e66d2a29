"""Teams storage: the coordinating team and the sector teams, synced from config."""

from __future__ import annotations

import sqlite3

from storage.models import Team


def list_teams(conn: sqlite3.Connection, kind: str | None = None) -> list[Team]:
    """Return teams in configured order, optionally of one kind."""
    if kind is None:
        rows = conn.execute("SELECT * FROM teams ORDER BY position").fetchall()
    else:
        rows = conn.execute(
            "SELECT * FROM teams WHERE kind = ? ORDER BY position", (kind,)
        ).fetchall()
    return [Team.from_row(row) for row in rows]


def get_team(conn: sqlite3.Connection, team_id: int) -> Team | None:
    """Return one team by id."""
    row = conn.execute("SELECT * FROM teams WHERE id = ?", (team_id,)).fetchone()
    return None if row is None else Team.from_row(row)


def get_team_by_slug(conn: sqlite3.Connection, slug: str) -> Team | None:
    """Return one team by slug."""
    row = conn.execute("SELECT * FROM teams WHERE slug = ?", (slug,)).fetchone()
    return None if row is None else Team.from_row(row)


def upsert_team(
    conn: sqlite3.Connection,
    *,
    slug: str,
    kind: str,
    name_pl: str,
    name_en: str,
    description_pl: str,
    description_en: str,
    position: int,
) -> None:
    """Insert a team or update its names, description and order (the slug is its identity)."""
    conn.execute(
        """INSERT INTO teams
               (slug, kind, name_pl, name_en, description_pl, description_en, position)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (slug) DO UPDATE SET kind = excluded.kind, name_pl = excluded.name_pl,
               name_en = excluded.name_en, description_pl = excluded.description_pl,
               description_en = excluded.description_en, position = excluded.position""",
        (slug, kind, name_pl, name_en, description_pl, description_en, position),
    )


def delete_team(conn: sqlite3.Connection, team_id: int) -> None:
    """Delete a team; raises sqlite3.IntegrityError when rows still refer to it."""
    conn.execute("DELETE FROM teams WHERE id = ?", (team_id,))
