"""iCalendar files and Google Calendar links for meetings, served by both faces (the bot's
"Add to calendar" and /calendar, the public site's feeds); events link back to the bot."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from bot.services.calendar import MeetingEntry
from storage.models import Meeting, Team

if TYPE_CHECKING:
    from icalendar import Event

PRODID = "-//NGO cooperation programme bot//meetings//EN"


def deep_link(bot_username: str, meeting_id: int) -> str:
    """The t.me link that opens the meeting's card in the bot."""
    return f"https://t.me/{bot_username}?start=meeting-{meeting_id}"


def event_uid(bot_username: str, meeting_id: int) -> str:
    """The UID of a meeting's event: stable, so a re-import updates instead of duplicating."""
    return f"meeting-{meeting_id}@{bot_username.lower()}.t.me"


def _location(meeting: Meeting) -> str | None:
    return meeting.place or meeting.online_url


def _description(meeting: Meeting, team: Team | None, language: str, link: str | None) -> str:
    parts = [team.name(language)] if team is not None else []
    if meeting.agenda:
        parts.append(meeting.agenda)
    if meeting.place and meeting.online_url:
        parts.append(meeting.online_url)
    if link:
        parts.append(link)
    return "\n\n".join(parts)


def _event(entry: MeetingEntry, language: str, bot_username: str, zone: ZoneInfo) -> Event:
    meeting, team = entry.meeting, entry.team
    link = deep_link(bot_username, meeting.id)
    from icalendar import Event  # loaded on the first export: it weighs ~2.4 MiB idle

    event = Event()
    event.add("uid", event_uid(bot_username, meeting.id))
    event.add("dtstamp", meeting.updated_at.astimezone(UTC))
    event.add("last-modified", meeting.updated_at.astimezone(UTC))
    event.add("sequence", meeting.revision)  # RFC 5545: one more per revision
    event.add("summary", meeting.title)
    event.add("dtstart", meeting.starts_at.astimezone(zone))
    event.add("dtend", meeting.ends_at.astimezone(zone))
    location = _location(meeting)
    if location:
        event.add("location", location)
    event.add("url", meeting.online_url or link)
    event.add("description", _description(meeting, team, language, link))
    event.add("status", "CANCELLED" if meeting.state == "cancelled" else "CONFIRMED")
    return event


def ics_bytes(
    entries: Sequence[MeetingEntry], language: str, bot_username: str, zone: ZoneInfo
) -> bytes:
    """Build one iCalendar file with an event per meeting, times in the deployment's zone."""
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    for entry in entries:
        calendar.add_component(_event(entry, language, bot_username, zone))
    # A VTIMEZONE per TZID used, so clients without the zone database import it right.
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def _utc_stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def google_calendar_url(
    meeting: Meeting,
    language: str,
    *,
    team: Team | None = None,
    bot_username: str | None = None,
    zone: ZoneInfo | None = None,
) -> str:
    """A Google Calendar "add event" link prefilled with the meeting (times in UTC)."""
    link = deep_link(bot_username, meeting.id) if bot_username else None
    params = {
        "action": "TEMPLATE",
        "text": meeting.title,
        "dates": f"{_utc_stamp(meeting.starts_at)}/{_utc_stamp(meeting.ends_at)}",
        "details": _description(meeting, team, language, link),
    }
    if zone is not None:
        params["ctz"] = zone.key
    location = _location(meeting)
    if location:
        params["location"] = location
    return "https://calendar.google.com/calendar/render?" + urlencode(params)
