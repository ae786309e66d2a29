"""Sector meetings, moderator side: the card, /new_meeting, /edit_meeting, /cancel_meeting."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.i18n import Texts
from bot.meeting_card import RsvpCounts, card_keyboard, card_text
from storage.models import Meeting, Team

WARSAW = ZoneInfo("Europe/Warsaw")
CULTURE = Team(
    id=2,
    slug="culture",
    kind="sector",
    name_pl="Kultura",
    name_en="Culture",
    description_pl="-",
    description_en="-",
    position=1,
)


def _meeting(**overrides: object) -> Meeting:
    data: dict[str, object] = {
        "id": 7,
        "team_id": 2,
        "series_id": None,
        "title": "Budżet <2027>",
        "starts_at": datetime(2026, 12, 3, 16, 0, tzinfo=UTC),
        "duration_minutes": 90,
        "place": "ul. Józefińska 14",
        "online_url": None,
        "agenda": "1. Otwarcie & powitanie",
        "capacity": 22,
        "reminder_minutes": json.dumps([1440, 60]),
        "state": "scheduled",
        "created_by": 900,
        "created_at": datetime(2026, 11, 26, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 26, tzinfo=UTC),
    }
    data.update(overrides)
    return Meeting.model_validate(data)


def test_card_in_polish_shows_local_polish_date_and_escapes() -> None:
    texts = Texts()
    body = card_text(_meeting(), CULTURE, "pl", texts, WARSAW)
    assert "czwartek, 3 grudnia 2026, 17:00–18:30" in body
    assert "Budżet &lt;2027&gt;" in body
    assert "Otwarcie &amp; powitanie" in body
    assert "Kultura" in body
    assert "90 minut" in body
    assert "22 miejsca" in body
    assert "Biorę udział:" not in body


def test_card_in_english_with_counts_and_online_link() -> None:
    texts = Texts()
    meeting = _meeting(place=None, online_url="https://meet.example.org/x", capacity=None)
    body = card_text(meeting, CULTURE, "en", texts, WARSAW, RsvpCounts(going=3, waiting=1))
    assert "Thursday, 3 December 2026, 17:00–18:30" in body
    assert "https://meet.example.org/x" in body
    assert "Going: 3" in body
    assert "waiting list: 1 person" in body
    assert "Capacity" not in body


def test_card_keyboard_carries_rsvp_and_calendar_callbacks() -> None:
    keyboard = card_keyboard(_meeting(), "pl", Texts())
    data = [button.callback_data for row in keyboard.inline_keyboard for button in row]
    assert data == ["rsvp:going:7", "rsvp:maybe:7", "rsvp:no:7", "cal:ics:7"]
