"""Calendar export of sector meetings: the meetings a calendar file or feed holds.

Building the file (bot/ics.py) is the faces' part: it names the bot's address."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from bot.errors import ConsentRequired
from storage.database import Database
from storage.models import Meeting, Team
from storage.unit import Unit

# One .ics holds at most this many meetings (a year of weekly meetings in every sector fits).
MAX_EVENTS = 500


class MeetingEntry(BaseModel):
    """A meeting with its sector team, what every calendar entry is built from."""

    model_config = ConfigDict(frozen=True)

    meeting: Meeting
    team: Team


async def meeting_entry(db: Database, meeting_id: int) -> MeetingEntry | None:
    """Return one meeting (any state) with its team."""

    def read(unit: Unit) -> MeetingEntry | None:
        meeting = unit.meetings.get_meeting(meeting_id)
        if meeting is None:
            return None
        team = unit.teams.get_team(meeting.team_id)
        return None if team is None else MeetingEntry(meeting=meeting, team=team)

    return await db.run(read)


async def my_upcoming_entries(
    db: Database, user_id: int, notice_version: int, now: datetime
) -> list[MeetingEntry]:
    """The meetings of the user's sectors still to start, cancelled ones included."""

    def read(unit: Unit) -> list[MeetingEntry]:
        user = unit.users.get_user(user_id)
        if user is None or user.consent_version is None or user.consent_version < notice_version:
            raise ConsentRequired()
        team_ids = unit.subscriptions.list_subscribed_team_ids(user_id)
        teams = {team.id: team for team in unit.teams.list_teams("sector")}
        # Cancelled ones are included so that re-importing the file cancels them there too.
        meetings = unit.meetings.list_meetings(
            team_ids=team_ids, since=now, include_cancelled=True, limit=MAX_EVENTS
        )
        return [
            MeetingEntry(meeting=m, team=teams[m.team_id]) for m in meetings if m.team_id in teams
        ]

    return await db.run(read)
