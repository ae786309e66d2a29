"""What every handler and job needs: config, database, texts and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.config import Config
from bot.i18n import Texts
from storage.database import Database


def utcnow() -> datetime:
    """The real clock, in UTC; tests pass their own."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Deps:
    config: Config
    db: Database
    texts: Texts
    clock: Callable[[], datetime] = utcnow
