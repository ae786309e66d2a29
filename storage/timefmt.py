"""Instants in the database: UTC ISO-8601 text of fixed width, so text order = time order."""

from __future__ import annotations

from datetime import UTC, datetime


def db_time(instant: datetime) -> str:
    """Format an aware datetime for storage ("2026-12-03T16:00:00.000000+00:00")."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: pass an aware one (services take `now` in UTC)")
    return instant.astimezone(UTC).isoformat(timespec="microseconds")
