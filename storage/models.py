"""Typed rows: the frozen pydantic models storage functions return."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Json

M = TypeVar("M", bound="Row")


class Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def from_row(cls: type[M], row: sqlite3.Row) -> M:
        return cls.model_validate(dict(zip(row.keys(), row, strict=True)))


class Team(Row):
    id: int
    slug: str
    kind: Literal["coordination", "sector"]
    name_pl: str
    name_en: str
    description_pl: str
    description_en: str
    position: int

    def name(self, language: str) -> str:
        return self.name_pl if language == "pl" else self.name_en

    def __hash__(self) -> int:
        # Equal teams have equal ids; hashing every field cost ~0.4 us per team, and the
        # /sectors keyboard cache hashes all eight teams on every press.
        return hash(self.id)

    def description(self, language: str) -> str:
        return self.description_pl if language == "pl" else self.description_en


class User(Row):
    id: int
    language: Literal["pl", "en"]
    language_chosen: bool
    consent_at: datetime | None
    consent_version: int | None
    active: bool
    organisation_id: int | None
    created_at: datetime
    # Telegram's names, kept only after consent (migration 0020).
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None


class Organisation(Row):
    id: int
    name: str
    register_type: Literal["krs", "other", "none"]
    krs: str | None
    register_name: str | None
    nip: str | None
    regon: str | None
    created_at: datetime
    updated_at: datetime


class Meeting(Row):
    id: int
    team_id: int
    series_id: int | None
    title: str
    starts_at: datetime
    duration_minutes: int
    place: str | None
    online_url: str | None
    agenda: str | None
    capacity: int | None
    reminder_minutes: Json[list[int]]
    state: Literal["scheduled", "cancelled"]
    created_by: int
    created_at: datetime
    updated_at: datetime
    revision: int = 0  # one more per saved change or cancellation (the .ics SEQUENCE)

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)
