"""Sector meetings, reading what moderators type: titles, starts, places, lead times, and the
dates of a series; each answer is checked into typed values or refused with InvalidInput.

Time rule (the deployment's zone, `config.zone`; everything stored in UTC):
- a typed local time that does not exist (the spring-forward gap, e.g. 02:30 on the last
  Sunday of March in Europe/Warsaw) is moved forward by the length of the gap (-> 03:30 CEST);
- an ambiguous one (02:30 on the last Sunday of October happens twice) means the first of
  the two (fold=0: 02:30 CEST, i.e. 00:30 UTC);
- reminders are computed in UTC from the resolved start (start - lead time), so each lead
  time gives exactly one reminder whatever DST does in between;
- a series keeps the typed local wall time (weekly at 17:00 stays 17:00 local across DST).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from bot.errors import DomainError

TITLE_MIN, TITLE_MAX = 3, 150
PLACE_MIN, PLACE_MAX = 3, 300
URL_MIN, URL_MAX = 8, 500
AGENDA_MAX = 2000
DURATION_DEFAULT = 90
DURATION_MIN, DURATION_MAX = 5, 1440
CAPACITY_MAX = 100_000
INTERVAL_MIN, INTERVAL_MAX = 2, 12
LEADS_MAX = 5
LEAD_MIN, LEAD_MAX = 5, 30 * 1440
MAX_AHEAD = timedelta(days=2 * 365)

Recurrence = Literal["none", "weekly", "monthly"]


class InvalidInput(DomainError):
    """What the moderator typed cannot be used; `key` says why (the step is asked again)."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(**values)
        self.key = key


class MeetingDraft(BaseModel):
    """The answers of /new_meeting so far; nothing is stored until Publish."""

    team_id: int | None = None
    title: str | None = None
    local_start: datetime | None = None  # naive wall time in the deployment's zone
    duration_minutes: int = DURATION_DEFAULT
    place: str | None = None
    online_url: str | None = None
    agenda: str | None = None
    capacity: int | None = None
    reminder_minutes: tuple[int, ...] | None = None  # None: the configured default
    recurrence: Recurrence = "none"
    interval_n: int = 1
    until: date | None = None


def resolve_local(local: datetime, zone: ZoneInfo) -> datetime:
    """Turn a naive local wall time into UTC by the module's DST rule."""
    # fold=0 gives exactly the stated rule in zoneinfo: in a gap the offset before the
    # transition applies (02:30 CET = 03:30 CEST), an ambiguous time takes its first instance.
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DMY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_DM = re.compile(r"(\d{1,2})\.(\d{1,2})\.?")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")


def _date_parts(text: str) -> tuple[int | None, int, int] | None:
    """(year or None, month, day) of a typed date, or None if the format is not known."""
    if match := _ISO.fullmatch(text):
        return int(match[1]), int(match[2]), int(match[3])
    if match := _DMY.fullmatch(text):
        return int(match[3]), int(match[2]), int(match[1])
    if match := _DM.fullmatch(text):
        return None, int(match[2]), int(match[1])
    return None


def parse_date(text: str, default_year: int) -> date:
    """Read a date as /new_meeting does (`2026-12-03`, `3.12.2026`, `03.12`); one without a
    year takes `default_year`. Raises ValueError for another format or a day that does not exist."""
    parts = _date_parts(text.strip())
    if parts is None:
        raise ValueError(text)
    year, month, dom = parts
    return date(default_year if year is None else year, month, dom)


def parse_start(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """Read `2026-12-03 17:00`, `3.12.2026 17:00` or `03.12 17:00`; return the local time."""
    parts = text.strip().split()
    if len(parts) != 2:
        raise InvalidInput("meetings.bad-start-format")
    day, clock = _date_parts(parts[0]), _TIME.fullmatch(parts[1])
    if day is None or clock is None:
        raise InvalidInput("meetings.bad-start-format")
    year, month, dom = day
    hour, minute = int(clock[1]), int(clock[2])
    local_now = now.astimezone(zone)
    try:
        if year is not None:
            local = datetime(year, month, dom, hour, minute)
        else:
            # No year: the next such date (this year, or next year if it has passed).
            local = datetime(local_now.year, month, dom, hour, minute)
            if resolve_local(local, zone) <= now:
                local = local.replace(year=local_now.year + 1)
    except ValueError:
        raise InvalidInput("meetings.bad-start-invalid") from None
    check_start(local, zone, now)
    return local


def check_start(local: datetime, zone: ZoneInfo, now: datetime) -> datetime:
    """Refuse a start in the past or more than two years ahead; return it in UTC."""
    start = resolve_local(local, zone)
    if start <= now:
        raise InvalidInput(
            "meetings.bad-start-past", now=now.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        )
    if start > now + MAX_AHEAD:
        raise InvalidInput("meetings.bad-start-far")
    return start


_SPAN = re.compile(r"(?:\d{1,5}(?:d|h|min|m)?)+")
_SPAN_PART = re.compile(r"(\d{1,5})(d|h|min|m)?")
_UNIT_MINUTES = {"d": 1440, "h": 60, "min": 1, "m": 1, None: 1}


def _span_minutes(text: str) -> int | None:
    """Minutes of `90`, `90m`, `1h30`, `2h`, `2d` (a bare number is minutes)."""
    compact = re.sub(r"\s+", "", text.lower())
    if not compact or not _SPAN.fullmatch(compact):
        return None
    return sum(int(part[1]) * _UNIT_MINUTES[part[2]] for part in _SPAN_PART.finditer(compact))


def parse_title(text: str) -> str:
    """A title of 3 to 150 characters on one line."""
    title = " ".join(text.split())
    if not TITLE_MIN <= len(title) <= TITLE_MAX:
        raise InvalidInput("meetings.bad-title", min=TITLE_MIN, max=TITLE_MAX)
    return title


def parse_duration(text: str) -> int:
    """A duration in minutes (`90`, `1h30`, `2h`), 5 minutes to 24 hours."""
    minutes = _span_minutes(text)
    if minutes is None or not DURATION_MIN <= minutes <= DURATION_MAX:
        raise InvalidInput("meetings.bad-duration", min=DURATION_MIN, max=DURATION_MAX)
    return minutes


_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def parse_place(text: str) -> tuple[str | None, str | None]:
    """An address, an online link (http/https) or both: (place, online_url)."""
    urls = _URL.findall(text)
    if len(urls) > 1:
        raise InvalidInput("meetings.bad-place", min=PLACE_MIN, max=PLACE_MAX)
    url = urls[0] if urls else None
    if url is not None and not URL_MIN <= len(url) <= URL_MAX:
        raise InvalidInput("meetings.bad-url", max=URL_MAX)
    rest = " ".join(_URL.sub(" ", text).split()).strip(" ,;|-–")
    place = rest or None
    if place is not None and not PLACE_MIN <= len(place) <= PLACE_MAX:
        raise InvalidInput("meetings.bad-place", min=PLACE_MIN, max=PLACE_MAX)
    if place is None and url is None:
        raise InvalidInput("meetings.bad-place", min=PLACE_MIN, max=PLACE_MAX)
    return place, url


def parse_agenda(text: str) -> str:
    """An agenda of up to 2,000 characters (line breaks kept)."""
    agenda = text.strip()
    if not agenda or len(agenda) > AGENDA_MAX:
        raise InvalidInput("meetings.bad-agenda", max=AGENDA_MAX, length=len(agenda))
    return agenda


def parse_capacity(text: str) -> int:
    """A number of places, 1 to 100,000."""
    value = text.strip()
    if not value.isdigit() or not 1 <= int(value) <= CAPACITY_MAX:
        raise InvalidInput("meetings.bad-capacity", max=CAPACITY_MAX)
    return int(value)


def parse_leads(text: str) -> tuple[int, ...]:
    """Reminder lead times such as `2d, 3h, 30m` (or `-` for none), longest first."""
    if text.strip() in {"-", "0"}:
        return ()
    leads = set()
    for item in re.split(r"[,;]", text):
        minutes = _span_minutes(item)
        if minutes is None or not LEAD_MIN <= minutes <= LEAD_MAX:
            raise InvalidInput("meetings.bad-reminders", max=LEADS_MAX)
        leads.add(minutes)
    if len(leads) > LEADS_MAX:
        raise InvalidInput("meetings.bad-reminders", max=LEADS_MAX)
    return tuple(sorted(leads, reverse=True))


def parse_interval(text: str) -> int:
    """`every N weeks`: N from 2 to 12."""
    value = text.strip()
    if not value.isdigit() or not INTERVAL_MIN <= int(value) <= INTERVAL_MAX:
        raise InvalidInput("meetings.bad-interval", min=INTERVAL_MIN, max=INTERVAL_MAX)
    return int(value)


def parse_until(text: str, first: datetime) -> date:
    """The last date of a series (inclusive), not before the first meeting."""
    parts = _date_parts(text.strip())
    if parts is None:
        raise InvalidInput("meetings.bad-until-format")
    year, month, dom = parts
    try:
        until = date(first.year if year is None else year, month, dom)
        if year is None and until < first.date():
            until = until.replace(year=first.year + 1)
    except ValueError:
        raise InvalidInput("meetings.bad-until-invalid") from None
    if until < first.date():
        raise InvalidInput("meetings.bad-until-before")
    if until > first.date() + MAX_AHEAD:
        raise InvalidInput("meetings.bad-start-far")
    return until


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date | None:
    first = date(year, month, 1)
    day = 1 + (weekday - first.weekday()) % 7 + 7 * (n - 1)
    try:
        return date(year, month, day)
    except ValueError:
        return None


def occurrences(draft: MeetingDraft, limit: int) -> list[datetime]:
    """Local wall times of every meeting of the draft (one unless it recurs).

    Monthly series fall on the Nth weekday of the first meeting (e.g. the 2nd Tuesday);
    months without a 5th such weekday are skipped.
    """
    first = draft.local_start
    if first is None:
        raise InvalidInput("meetings.draft-incomplete")
    if draft.recurrence == "none":
        return [first]
    if draft.until is None:
        raise InvalidInput("meetings.draft-incomplete")
    result: list[datetime] = []
    if draft.recurrence == "weekly":
        step = timedelta(weeks=draft.interval_n)
        current = first
        while current.date() <= draft.until:
            result.append(current)
            current += step
            if len(result) > limit:
                break
    else:
        n, weekday = (first.day - 1) // 7 + 1, first.weekday()
        year, month = first.year, first.month
        while date(year, month, 1) <= draft.until and len(result) <= limit:
            day = _nth_weekday(year, month, weekday, n)
            if day is not None and day <= draft.until:
                result.append(datetime.combine(day, first.time()))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if not result:
        raise InvalidInput("meetings.bad-until-before")
    if len(result) > limit:
        raise InvalidInput("meetings.bad-until-too-many", max=limit)
    return result
