"""Organisations storage: the NGOs users represent (matched by KRS) and their representatives."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from storage.models import Organisation, Row
from storage.repository import Repository
from storage.timefmt import db_time

RepresentativeState = Literal["pending", "accepted", "declined", "removed"]


class Representative(Row):
    """A person's link with an organisation: asked (pending), accepted, declined or removed."""

    id: int
    organisation_id: int
    user_id: int
    state: RepresentativeState
    requested_at: datetime
    decided_at: datetime | None
    decided_by: int | None


class Organisations(Repository):
    """Organisations repository over one transaction's connection."""

    __slots__ = ()

    def get_organisation(self, organisation_id: int) -> Organisation | None:
        """Return one organisation."""
        row = self._conn.execute(
            "SELECT * FROM organisations WHERE id = ?", (organisation_id,)
        ).fetchone()
        return None if row is None else Organisation.from_row(row)

    def get_organisation_by_krs(self, krs: str) -> Organisation | None:
        """Return the organisation registered under a KRS number."""
        row = self._conn.execute("SELECT * FROM organisations WHERE krs = ?", (krs,)).fetchone()
        return None if row is None else Organisation.from_row(row)

    def get_organisation_by_numbers(
        self,
        krs: str | None,
        nip: str | None,
        regon: str | None,
        *,
        other_than: int | None = None,
    ) -> Organisation | None:
        """Return the organisation one of these numbers identifies (KRS first, then NIP, REGON),
        leaving out `other_than`."""
        row = self._conn.execute(
            """SELECT * FROM organisations
               WHERE (krs = :krs OR nip = :nip OR regon = :regon) AND id IS NOT :other
               ORDER BY krs = :krs DESC, nip = :nip DESC, id LIMIT 1""",
            {"krs": krs, "nip": nip, "regon": regon, "other": other_than},
        ).fetchone()
        return None if row is None else Organisation.from_row(row)

    def count_representatives(self, organisation_id: int) -> int:
        """Count the accepted representatives of an organisation."""
        row = self._conn.execute(
            """SELECT count(*) FROM organisation_representatives
               WHERE organisation_id = ? AND state = 'accepted'""",
            (organisation_id,),
        ).fetchone()
        count: int = row[0]
        return count

    def get_representative(self, representative_id: int) -> Representative | None:
        """Return one representation (a request and its state)."""
        row = self._conn.execute(
            "SELECT * FROM organisation_representatives WHERE id = ?", (representative_id,)
        ).fetchone()
        return None if row is None else Representative.from_row(row)

    def get_current_representative(self, user_id: int) -> Representative | None:
        """Return the user's pending or accepted representation, if any."""
        row = self._conn.execute(
            """SELECT * FROM organisation_representatives
               WHERE user_id = ? AND state IN ('pending', 'accepted')""",
            (user_id,),
        ).fetchone()
        return None if row is None else Representative.from_row(row)

    def add_representative(
        self,
        organisation_id: int,
        user_id: int,
        state: Literal["pending", "accepted"],
        now: datetime,
    ) -> Representative:
        """Insert a representation; an accepted one also becomes the user's organisation."""
        decided_at = None if state == "pending" else db_time(now)
        row = self._conn.execute(
            """INSERT INTO organisation_representatives
                   (organisation_id, user_id, state, requested_at, decided_at)
               VALUES (?, ?, ?, ?, ?) RETURNING *""",
            (organisation_id, user_id, state, db_time(now), decided_at),
        ).fetchone()
        representative = Representative.from_row(row)
        self._link_user(representative)
        return representative

    def update_representative_state(
        self,
        representative_id: int,
        *,
        old: RepresentativeState,
        new: RepresentativeState,
        now: datetime,
        decided_by: int | None = None,
    ) -> Representative | None:
        """Move a representation from `old` to `new`; None if it is no longer in `old`.

        The guard on `old` makes two deciders pressing at once end in one decision.
        """
        row = self._conn.execute(
            """UPDATE organisation_representatives
               SET state = ?, decided_at = ?, decided_by = ?
               WHERE id = ? AND state = ? RETURNING *""",
            (new, db_time(now), decided_by, representative_id, old),
        ).fetchone()
        if row is None:
            return None
        representative = Representative.from_row(row)
        self._link_user(representative)
        return representative

    def _link_user(self, representative: Representative) -> None:
        # users.organisation_id is what the other features read: it names the accepted one only.
        if representative.state == "accepted":
            organisation_id: int | None = representative.organisation_id
        elif representative.state == "removed":
            organisation_id = None
        else:
            return
        self._conn.execute(
            "UPDATE users SET organisation_id = ? WHERE id = ?",
            (organisation_id, representative.user_id),
        )

    def is_accepted_representative(self, organisation_id: int, user_id: int) -> bool:
        """Whether the user is an accepted representative of the organisation."""
        row = self._conn.execute(
            """SELECT 1 FROM organisation_representatives
               WHERE organisation_id = ? AND user_id = ? AND state = 'accepted'""",
            (organisation_id, user_id),
        ).fetchone()
        return row is not None

    def list_decider_recipients(self, organisation_id: int) -> list[tuple[int, str]]:
        """Who decides a request to represent the organisation: its accepted representatives who
        can be reached, or, when there are none, the admins who have a chat with the bot."""
        rows = self._conn.execute(
            """SELECT u.id, u.language FROM organisation_representatives r
               JOIN users u ON u.id = r.user_id
               WHERE r.organisation_id = ? AND r.state = 'accepted'
                 AND u.active = 1 AND u.consent_at IS NOT NULL
               ORDER BY u.id""",
            (organisation_id,),
        ).fetchall()
        if not rows:
            rows = self._conn.execute(
                """SELECT u.id, u.language FROM users u
                   WHERE u.active = 1 AND u.consent_at IS NOT NULL
                     AND u.id IN (SELECT user_id FROM admins)
                   ORDER BY u.id"""
            ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def list_pending_representatives(self, limit: int) -> list[Representative]:
        """The oldest requests still waiting for a decision (for admins)."""
        rows = self._conn.execute(
            """SELECT * FROM organisation_representatives WHERE state = 'pending'
               ORDER BY requested_at, id LIMIT ?""",
            (limit,),
        ).fetchall()
        return [Representative.from_row(row) for row in rows]

    def count_pending_representatives(self) -> int:
        """How many requests wait for a decision."""
        row = self._conn.execute(
            "SELECT count(*) FROM organisation_representatives WHERE state = 'pending'"
        ).fetchone()
        count: int = row[0]
        return count

    def get_pending_organisation_name(self, user_id: int) -> str | None:
        """The name of the organisation the user asked to represent, while the request waits."""
        row = self._conn.execute(
            """SELECT o.name FROM organisation_representatives r
               JOIN organisations o ON o.id = r.organisation_id
               WHERE r.user_id = ? AND r.state = 'pending'""",
            (user_id,),
        ).fetchone()
        return None if row is None else str(row[0])

    def list_personal_representation(self, user_id: int) -> dict[str, list[dict[str, Any]]]:
        """For /mydata: the user's representations, and the decisions they made (no requester)."""
        mine = self._conn.execute(
            """SELECT r.id, r.organisation_id, o.name AS organisation_name, r.state,
                      r.requested_at, r.decided_at
               FROM organisation_representatives r JOIN organisations o ON o.id = r.organisation_id
               WHERE r.user_id = ? ORDER BY r.id""",
            (user_id,),
        ).fetchall()
        decided = self._conn.execute(
            """SELECT r.id, r.organisation_id, o.name AS organisation_name, r.state, r.decided_at
               FROM organisation_representatives r JOIN organisations o ON o.id = r.organisation_id
               WHERE r.decided_by = ? ORDER BY r.id""",
            (user_id,),
        ).fetchall()
        return {
            "representations": [dict(row) for row in mine],
            "decisions_made": [dict(row) for row in decided],
        }

    def add_organisation(
        self,
        *,
        name: str,
        register_type: str,
        krs: str | None,
        register_name: str | None,
        nip: str | None,
        regon: str | None,
        now: datetime,
    ) -> Organisation:
        """Insert an organisation (a KRS already registered is refused: joining never edits one)."""
        row = self._conn.execute(
            """INSERT INTO organisations
                   (name, register_type, krs, register_name, nip, regon, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               RETURNING *""",
            (name, register_type, krs, register_name, nip, regon, db_time(now), db_time(now)),
        ).fetchone()
        return Organisation.from_row(row)

    def update_organisation(
        self,
        organisation_id: int,
        *,
        name: str,
        register_type: str,
        krs: str | None,
        register_name: str | None,
        nip: str | None,
        regon: str | None,
        now: datetime,
    ) -> Organisation | None:
        """Overwrite an organisation's details; None if it does not exist."""
        row = self._conn.execute(
            """UPDATE organisations SET
                   name = ?, register_type = ?, krs = ?, register_name = ?, nip = ?, regon = ?,
                   updated_at = ?
               WHERE id = ? RETURNING *""",
            (name, register_type, krs, register_name, nip, regon, db_time(now), organisation_id),
        ).fetchone()
        return None if row is None else Organisation.from_row(row)
