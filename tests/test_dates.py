"""Every date prompt reads the same formats as /new_meeting (bot/services/dates.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.services import dates
from bot.services.broadcast_drafts import BadTime, parse_when
from bot.services.consultation_rules import InvalidDate, parse_date
from bot.services.meeting_input import parse_start

WARSAW = ZoneInfo("Europe/Warsaw")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

TYPED = ["2026-12-03 17:00", "3.12.2026 17:00", "03.12 17:00", "3.12. 17:00"]


@pytest.mark.parametrize("typed", TYPED)
def test_meeting_and_broadcast_prompts_read_the_same_formats(typed: str) -> None:
    assert parse_start(typed, WARSAW, NOW) == datetime(2026, 12, 3, 17, 0)
    assert parse_when(typed, WARSAW, NOW) == datetime(2026, 12, 3, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize("typed", ["2026-12-31", "31.12.2026", "31.12"])
def test_consultation_deadlines_read_the_same_formats(typed: str) -> None:
    assert parse_date(typed, WARSAW, NOW) == date(2026, 12, 31)


def test_a_year_less_date_means_the_next_such_date() -> None:
    assert dates.local_date("20.11", date(2026, 11, 26)) == date(2027, 11, 20)
    assert dates.local_date("26.11", date(2026, 11, 26)) == date(2026, 11, 26)
    assert dates.local_datetime("26.11 10:30", WARSAW, NOW) == datetime(2027, 11, 26, 10, 30)


@pytest.mark.parametrize("typed", ["jutro", "2026/12/03 17:00", "3.12.2026", "17:00"])
def test_unreadable_dates_are_refused_by_every_prompt(typed: str) -> None:
    with pytest.raises(dates.UnreadableDate):
        dates.local_datetime(typed, WARSAW, NOW)
    with pytest.raises(BadTime):
        parse_when(typed, WARSAW, NOW)


def test_impossible_dates_are_told_apart() -> None:
    with pytest.raises(dates.ImpossibleDate):
        dates.local_datetime("31.02.2027 10:00", WARSAW, NOW)
    with pytest.raises(dates.ImpossibleDate):
        dates.local_date("31.02", date(2026, 11, 26))
    with pytest.raises(InvalidDate):
        parse_date("31.02.2027", WARSAW, NOW)
