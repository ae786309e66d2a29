"""What every handler and job needs: config, database, texts, the delivery engine, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.config import Config
from bot.i18n import Texts
from storage.database import Database

if TYPE_CHECKING:
    from bot.engine import DeliveryEngine


def utcnow() -> datetime:
    """The real clock, in UTC; tests pass their own."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Deps:
    config: Config
    db: Database
    texts: Texts
    engine: DeliveryEngine
    clock: Callable[[], datetime] = utcnow
