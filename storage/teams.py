"""Teams storage: the coordinating team and the sector teams, synced from config."""

from __future__ import annotations

from storage.models import Team
from storage.repository import Repository


class Teams(Repository):
    """Teams repository over one transaction's connection."""

    __slots__ = ()

    def list_teams(self, kind: str | None = None) -> list[Team]:
        """Return teams in configured order, optionally of one kind."""
        if kind is None:
            rows = self._conn.execute("SELECT * FROM teams ORDER BY position").fetchall()
        else:
            rows = self._conn.execute(
                "SELECT * FROM teams WHERE kind = ? ORDER BY position", (kind,)
            ).fetchall()
        return [Team.from_row(row) for row in rows]

    def get_team(self, team_id: int) -> Team | None:
        """Return one team by id."""
        row = self._conn.execute("SELECT * FROM teams WHERE id = ?", (team_id,)).fetchone()
        return None if row is None else Team.from_row(row)

    def get_team_by_slug(self, slug: str) -> Team | None:
        """Return one team by slug."""
        row = self._conn.execute("SELECT * FROM teams WHERE slug = ?", (slug,)).fetchone()
        return None if row is None else Team.from_row(row)

    def upsert_team(
        self,
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
        self._conn.execute(
            """INSERT INTO teams
                   (slug, kind, name_pl, name_en, description_pl, description_en, position)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (slug) DO UPDATE SET kind = excluded.kind, name_pl = excluded.name_pl,
                   name_en = excluded.name_en, description_pl = excluded.description_pl,
                   description_en = excluded.description_en, position = excluded.position""",
            (slug, kind, name_pl, name_en, description_pl, description_en, position),
        )

    def delete_team(self, team_id: int) -> None:
        """Delete a team; raises sqlite3.IntegrityError when rows still refer to it."""
        self._conn.execute("DELETE FROM teams WHERE id = ?", (team_id,))
