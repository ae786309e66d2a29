"""Reading the dates and times people type, one way for every prompt of the bot (/new_meeting,
/edit_meeting, /broadcast's schedule, consultation deadlines).

Accepted: `2026-12-03`, `3.12.2026` and `03.12` (no year: the next such date), with a time
`17:00` where a time is asked for. Wall times are in the deployment's zone; the DST rule
(`resolve_local`): a time skipped by the spring-forward gap moves forward by the gap's
length, an ambiguous one means its first instance."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DMY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_DM = re.compile(r"(\d{1,2})\.(\d{1,2})\.?")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")


class UnreadableDate(ValueError):
    """The text is in none of the accepted formats."""


class ImpossibleDate(ValueError):
    """The format is right but no such date or time exists (31.02, 25:00)."""


def date_parts(text: str) -> tuple[int | None, int, int] | None:
    """(year or None, month, day) of a typed date, or None if the format is not known."""
    text = text.strip()
    if match := _ISO.fullmatch(text):
        return int(match[1]), int(match[2]), int(match[3])
    if match := _DMY.fullmatch(text):
        return int(match[3]), int(match[2]), int(match[1])
    if match := _DM.fullmatch(text):
        return None, int(match[2]), int(match[1])
    return None


def resolve_local(local: datetime, zone: ZoneInfo) -> datetime:
    """Turn a naive local wall time into UTC by the module's DST rule."""
    # fold=0 gives exactly the stated rule in zoneinfo: in a gap the offset before the
    # transition applies (02:30 CET = 03:30 CEST), an ambiguous time takes its first instance.
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def local_datetime(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """A typed date and time as a naive local wall time; without a year, the next such one
    (this year, or next year if it has passed)."""
    parts = text.strip().split()
    if len(parts) != 2:
        raise UnreadableDate(text)
    day, clock = date_parts(parts[0]), _TIME.fullmatch(parts[1])
    if day is None or clock is None:
        raise UnreadableDate(text)
    year, month, dom = day
    hour, minute = int(clock[1]), int(clock[2])
    local_now = now.astimezone(zone)
    try:
        if year is not None:
            return datetime(year, month, dom, hour, minute)
        local = datetime(local_now.year, month, dom, hour, minute)
        if resolve_local(local, zone) <= now:
            local = local.replace(year=local_now.year + 1)
        return local
    except ValueError:
        raise ImpossibleDate(text) from None


def local_date(text: str, today: date) -> date:
    """A typed date; without a year, the next such date from `today` on."""
    parts = date_parts(text)
    if parts is None:
        raise UnreadableDate(text)
    year, month, dom = parts
    try:
        typed = date(today.year if year is None else year, month, dom)
        if year is None and typed < today:
            typed = typed.replace(year=today.year + 1)
    except ValueError:
        raise ImpossibleDate(text) from None
    return typed


def date_in_year(text: str, default_year: int) -> date:
    """A typed date for a filter (`/export from=`): without a year, the date in `default_year`
    (a filter looks back, so no rolling over to next year)."""
    parts = date_parts(text.strip())
    if parts is None:
        raise UnreadableDate(text)
    year, month, dom = parts
    try:
        return date(default_year if year is None else year, month, dom)
    except ValueError:
        raise ImpossibleDate(text) from None
