"""Organisations storage: the NGOs users represent (matched by KRS) and their representatives."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from storage.models import Organisation
from storage.timefmt import db_time


def get_organisation(conn: sqlite3.Connection, organisation_id: int) -> Organisation | None:
    """Return one organisation."""
    row = conn.execute("SELECT * FROM organisations WHERE id = ?", (organisation_id,)).fetchone()
    return None if row is None else Organisation.from_row(row)


def get_organisation_by_krs(conn: sqlite3.Connection, krs: str) -> Organisation | None:
    """Return the organisation registered under a KRS number."""
    row = conn.execute("SELECT * FROM organisations WHERE krs = ?", (krs,)).fetchone()
    return None if row is None else Organisation.from_row(row)


def count_representatives(conn: sqlite3.Connection, organisation_id: int) -> int:
    """Count the users who represent an organisation."""
    row = conn.execute(
        "SELECT count(*) FROM users WHERE organisation_id = ?", (organisation_id,)
    ).fetchone()
    count: int = row[0]
    return count


def add_organisation(
    conn: sqlite3.Connection,
    *,
    name: str,
    register_type: str,
    krs: str | None,
    register_name: str | None,
    nip: str | None,
    regon: str | None,
    now: datetime,
) -> Organisation:
    """Insert an organisation; one with the same KRS is updated instead (KRS is unique).

    The upsert makes two people registering the same new KRS at the same moment end in one
    organisation, whichever transaction comes first.
    """
    row = conn.execute(
        """INSERT INTO organisations
               (name, register_type, krs, register_name, nip, regon, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (krs) DO UPDATE SET
               name = excluded.name, register_type = excluded.register_type,
               register_name = excluded.register_name, nip = excluded.nip,
               regon = excluded.regon, updated_at = excluded.updated_at
           RETURNING *""",
        (name, register_type, krs, register_name, nip, regon, db_time(now), db_time(now)),
    ).fetchone()
    return Organisation.from_row(row)


def update_organisation(
    conn: sqlite3.Connection,
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
    row = conn.execute(
        """UPDATE organisations SET
               name = ?, register_type = ?, krs = ?, register_name = ?, nip = ?, regon = ?,
               updated_at = ?
           WHERE id = ? RETURNING *""",
        (name, register_type, krs, register_name, nip, regon, db_time(now), organisation_id),
    ).fetchone()
    return None if row is None else Organisation.from_row(row)
