"""Statistics storage (/stats): counts per sector team over the existing tables.

Every function takes the team ids in scope (a moderator's sectors, or all of them) and
returns plain counts keyed by team id; nothing here writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from datetime import datetime

from storage.repository import Repository
from storage.timefmt import db_time


def _in(ids: Collection[int]) -> str:
    return ",".join("?" * len(ids))


def _by_team(rows: list[sqlite3.Row]) -> dict[int, int]:
    return {row[0]: row[1] for row in rows}


class Stats(Repository):
    """Stats repository over one transaction's connection."""

    __slots__ = ()

    def list_subscriber_counts(self, team_ids: Collection[int]) -> dict[int, int]:
        """Subscriptions per team now."""
        if not team_ids:
            return {}
        rows = self._conn.execute(
            f"""SELECT team_id, count(*) FROM subscriptions WHERE team_id IN ({_in(team_ids)})
                GROUP BY team_id""",
            list(team_ids),
        ).fetchall()
        return _by_team(rows)

    def list_joined_counts(self, team_ids: Collection[int], since: datetime) -> dict[int, int]:
        """Subscriptions started since `since` per team (those ended since count too)."""
        if not team_ids:
            return {}
        params = [*team_ids, db_time(since)]
        joined: dict[int, int] = {}
        for table, column in (
            ("subscriptions", "created_at"),
            ("subscription_ends", "subscribed_at"),
        ):
            rows = self._conn.execute(
                f"""SELECT team_id, count(*) FROM {table}
                    WHERE team_id IN ({_in(team_ids)}) AND {column} >= ? GROUP BY team_id""",
                params,
            ).fetchall()
            for team_id, count in rows:
                joined[team_id] = joined.get(team_id, 0) + count
        return joined

    def list_left_counts(self, team_ids: Collection[int], since: datetime) -> dict[int, int]:
        """Subscriptions ended since `since` per team."""
        if not team_ids:
            return {}
        rows = self._conn.execute(
            f"""SELECT team_id, count(*) FROM subscription_ends
                WHERE team_id IN ({_in(team_ids)}) AND ended_at >= ? GROUP BY team_id""",
            [*team_ids, db_time(since)],
        ).fetchall()
        return _by_team(rows)

    def list_meetings_held(
        self, team_ids: Collection[int], since: datetime, until: datetime
    ) -> dict[int, int]:
        """Meetings (not cancelled) that started in [since, until) per team."""
        if not team_ids:
            return {}
        rows = self._conn.execute(
            f"""SELECT team_id, count(*) FROM meetings
                WHERE team_id IN ({_in(team_ids)}) AND state = 'scheduled'
                  AND starts_at >= ? AND starts_at < ?
                GROUP BY team_id""",
            [*team_ids, db_time(since), db_time(until)],
        ).fetchall()
        return _by_team(rows)

    def list_rsvp_counts(
        self, team_ids: Collection[int], since: datetime, until: datetime
    ) -> dict[int, dict[str, int]]:
        """Answers to the meetings held in [since, until), per team and answer; 'going' counts
        only confirmed places ('waiting' is the waiting list)."""
        if not team_ids:
            return {}
        rows = self._conn.execute(
            f"""SELECT m.team_id,
                       CASE WHEN r.answer = 'going' AND r.waitlist_position IS NOT NULL
                            THEN 'waiting' ELSE r.answer END AS answer,
                       count(*)
                FROM rsvps r JOIN meetings m ON m.id = r.meeting_id
                WHERE m.team_id IN ({_in(team_ids)}) AND m.state = 'scheduled'
                  AND m.starts_at >= ? AND m.starts_at < ?
                GROUP BY 1, 2""",
            [*team_ids, db_time(since), db_time(until)],
        ).fetchall()
        counts: dict[int, dict[str, int]] = {}
        for team_id, answer, count in rows:
            counts.setdefault(team_id, {})[answer] = count
        return counts

    def list_postulate_counts(self, team_ids: Collection[int]) -> dict[int, dict[str, int]]:
        """Postulates per team and current state."""
        if not team_ids:
            return {}
        rows = self._conn.execute(
            f"""SELECT team_id, state, count(*) FROM postulates
                WHERE team_id IN ({_in(team_ids)}) GROUP BY team_id, state""",
            list(team_ids),
        ).fetchall()
        counts: dict[int, dict[str, int]] = {}
        for team_id, state, count in rows:
            counts.setdefault(team_id, {})[state] = count
        return counts

    def list_delivery_state_counts(
        self, team_ids: Collection[int] | None, since: datetime
    ) -> dict[str, int]:
        """Copies of the notices queued since `since`, by state. `team_ids` None: every notice;
        otherwise those to the teams' subscribers, moderators, meetings' audiences and the
        broadcasts that include one of the teams."""
        if team_ids is None:
            rows = self._conn.execute(
                """SELECT d.state, count(*) FROM deliveries d
                   JOIN announcements a ON a.id = d.announcement_id
                   WHERE a.created_at >= ? GROUP BY d.state""",
                (db_time(since),),
            ).fetchall()
            return {row[0]: row[1] for row in rows}
        if not team_ids:
            return {}
        marks = _in(team_ids)
        rows = self._conn.execute(
            f"""SELECT d.state, count(*) FROM deliveries d
                JOIN announcements a ON a.id = d.announcement_id
                WHERE a.created_at >= ?
                  AND ((a.audience IN ('team', 'team-moderators') AND a.audience_id IN ({marks}))
                       OR (a.audience = 'meeting' AND a.audience_id IN
                           (SELECT id FROM meetings WHERE team_id IN ({marks})))
                       OR (a.audience = 'broadcast' AND EXISTS
                           (SELECT 1 FROM broadcasts b, json_each(b.team_ids) j
                            WHERE b.id = a.audience_id AND j.value IN ({marks}))))
                GROUP BY d.state""",
            [db_time(since), *team_ids, *team_ids, *team_ids],
        ).fetchall()
        return {row[0]: row[1] for row in rows}
