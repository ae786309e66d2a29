"""Users storage: language, consent, activity and the organisation a user represents."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from storage.models import Row, User
from storage.repository import Repository
from storage.timefmt import db_time

# The user's columns in the order of the model's fields, then the roles (one query per update).
_USER_AND_ROLES = """
    SELECT u.id, u.language, u.language_chosen, u.consent_at, u.consent_version, u.active,
           u.organisation_id, u.created_at, u.first_name, u.last_name, u.username,
           EXISTS (SELECT 1 FROM admins WHERE user_id = ?1),
           (SELECT group_concat(team_id) FROM moderators WHERE user_id = ?1),
           EXISTS (SELECT 1 FROM conversations WHERE user_id = ?1 AND paused = 0),
           EXISTS (SELECT 1 FROM postulate_drafts WHERE user_id = ?1)
               OR EXISTS (SELECT 1 FROM postulate_prompts WHERE user_id = ?1)
    FROM (SELECT ?1 AS id) AS wanted LEFT JOIN users u ON u.id = wanted.id"""
_USER_FIELDS = tuple(User.model_fields)


NAMES_SLICE = 500


class PersonName(Row):
    """How a person introduced themselves to Telegram (all None: nothing known)."""

    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None

    @property
    def known(self) -> bool:
        return bool(self.first_name or self.last_name or self.username)

    def label(self) -> str | None:
        """'Tomasz Nowak (@tomasz)', 'Tomasz Nowak' or '@tomasz'; None when nothing is known.
        (Chats show people through handlers/views/people.py, which adds the fallback.)"""
        full = " ".join(part for part in (self.first_name, self.last_name) if part)
        if full and self.username:
            return f"{full} (@{self.username})"
        return full or (f"@{self.username}" if self.username else None)


class Users(Repository):
    """Users repository over one transaction's connection."""

    __slots__ = ()

    def get_user(self, user_id: int) -> User | None:
        """Return one user."""
        row = self._conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        return None if row is None else User.from_row(row)

    def get_user_and_roles(
        self, user_id: int
    ) -> tuple[User | None, bool, frozenset[int], bool, bool]:
        """Return the user (None if unknown), whether they are an admin, the sector teams they
        moderate, whether a conversation of theirs is active and whether they have a postulate
        draft or review prompt, in one query: this runs for every update, so the interceptors
        need no query of their own when there is nothing to intercept."""
        *columns, is_admin, moderated, talking, drafting = self._conn.execute(
            _USER_AND_ROLES, (user_id,)
        ).fetchone()
        user = None
        if columns[0] is not None:
            user = User.model_validate(dict(zip(_USER_FIELDS, columns, strict=True)))
        teams = frozenset(int(team) for team in moderated.split(",")) if moderated else frozenset()
        return user, bool(is_admin), teams, bool(talking), bool(drafting)

    def get_consent_version(self, user_id: int) -> int | None:
        """Return the privacy notice version the user consented to (None: no consent, no user)."""
        row = self._conn.execute(
            "SELECT consent_version FROM users WHERE id = ?", (user_id,)
        ).fetchone()
        return None if row is None else row[0]

    def add_user(self, user_id: int, language: str, now: datetime) -> User:
        """Insert a user who has not consented yet (id and language only); keep an existing one."""
        row = self._conn.execute(
            """INSERT INTO users (id, language, created_at) VALUES (?, ?, ?)
               ON CONFLICT (id) DO UPDATE SET active = 1 RETURNING *""",
            (user_id, language, db_time(now)),
        ).fetchone()
        return User.from_row(row)

    def update_consent(self, user_id: int, version: int, now: datetime) -> None:
        """Record consent to the given version of the privacy notice."""
        self._conn.execute(
            "UPDATE users SET consent_at = ?, consent_version = ? WHERE id = ?",
            (db_time(now), version, user_id),
        )

    def update_names(self, user_id: int, name: PersonName) -> None:
        """Store the person's current Telegram names (only after consent: callers check)."""
        self._conn.execute(
            "UPDATE users SET first_name = ?, last_name = ?, username = ? WHERE id = ?",
            (name.first_name, name.last_name, name.username, user_id),
        )

    def list_names(self, user_ids: Iterable[int]) -> dict[int, PersonName]:
        """The stored names of these people (those without a user row are left out)."""
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = self._conn.execute(
            f"SELECT id, first_name, last_name, username FROM users WHERE id IN ({marks})",
            wanted,
        ).fetchall()
        return {
            row[0]: PersonName(first_name=row[1], last_name=row[2], username=row[3]) for row in rows
        }

    def update_language(self, user_id: int, language: str, *, chosen: bool) -> None:
        """Set the user's language; `chosen` stops it following Telegram's language_code."""
        self._conn.execute(
            "UPDATE users SET language = ?, language_chosen = max(language_chosen, ?) WHERE id = ?",
            (language, int(chosen), user_id),
        )

    def update_active(self, user_id: int, active: bool) -> bool:
        """Mark a user active or inactive; return whether the user exists."""
        cursor = self._conn.execute(
            "UPDATE users SET active = ? WHERE id = ?", (int(active), user_id)
        )
        return cursor.rowcount > 0

    def update_organisation(self, user_id: int, organisation_id: int | None) -> None:
        """Link the user to the organisation they represent (or to none)."""
        self._conn.execute(
            "UPDATE users SET organisation_id = ? WHERE id = ?", (organisation_id, user_id)
        )
