"""Notification settings (/settings): muted sectors, reminder lead times, quiet hours, digest.

The settings act at fan-out (the engine's registry calls `screen`, registered here):
sector news (audiences 'team', 'broadcast', 'all') is dropped for whoever muted every sector
it goes to that they follow, and collected in `digest_items` for digest users;
news for someone in their quiet hours is held until the window ends, and a reminder whose
lead time the user turned off skips them. Transactional notices are never touched. The
daily digests are queued by one housekeeping job (`queue_digests`), not by a job per user.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.errors import ConsentRequired, StaleButton
from bot.services import delivery
from storage import delivery as delivery_storage
from storage import settings as storage
from storage.database import Database
from storage.models import Team
from storage.unit import Unit

DIGEST_KIND = "digest"


class SettingsView(BaseModel):
    """A user's notification settings, with the choices they have."""

    model_config = ConfigDict(frozen=True)

    teams: tuple[Team, ...]  # the sector teams the user subscribes to
    muted: frozenset[int]
    leads: tuple[int, ...]  # the configured reminder lead times, longest first
    leads_on: frozenset[int]
    quiet: tuple[int, int] | None  # local minutes after midnight: start, end
    digest: bool


@dataclass(frozen=True)
class Notifications:
    """What the dispatcher needs to apply the settings and write the digests."""

    zone: ZoneInfo
    digest_hour: int


class DigestEntry(BaseModel):
    """One news item held for the digest: its kind and its payload as it was queued."""

    model_config = ConfigDict(frozen=True)

    kind: str
    # Either rendered text per language or a notice's data (delivery.NOTICE_KEY): each face
    # renders it the way it renders that notice on its own.
    payload: dict[str, Any]


class Digest(BaseModel):
    """Notice data: the daily digest of the news held for one member, oldest first."""

    model_config = ConfigDict(frozen=True)

    entries: tuple[DigestEntry, ...]


# ---------------------------------------------------------------- fan-out


def quiet_until(start: int, end: int, now: datetime, zone: ZoneInfo) -> datetime | None:
    """If `now` falls in the local window start-end (may wrap midnight), when it ends."""
    local = now.astimezone(zone)
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else minute >= start or minute < end
    if not inside:
        return None
    day = local.date() if minute < end else local.date() + timedelta(days=1)
    ends = datetime.combine(day, time(end // 60, end % 60), tzinfo=zone)
    return ends.astimezone(UTC)


# Audiences of sector news to subscribers: 'team' (audience_id = the team), 'broadcast'
# (a broadcast to one or several sectors, or to everyone) and 'all' (every subscriber).
# Other audiences (a meeting's participants, one user, moderators) are not muted or digested.
SUBSCRIBER_AUDIENCES = frozenset({"team", "broadcast", "all"})


def _sector_teams(unit: Unit, announcement: delivery_storage.Announcement) -> list[int] | None:
    """The sector teams whose news an announcement is; None = everyone's (not mutable)."""
    if announcement.audience == "team":
        return [announcement.audience_id]
    if announcement.audience == "broadcast":
        return unit.settings.get_broadcast_team_ids(announcement.audience_id)
    return None


def screen(
    unit: Unit,
    announcement: delivery_storage.Announcement,
    category: delivery.NoticeClass,
    recipients: list[delivery.Recipient],
    now: datetime,
    zone: ZoneInfo,
) -> delivery.Screened:
    """Apply the recipients' settings to news and reminders (see the module docstring)."""
    settings = unit.settings.list_settings()
    if category == "news" and announcement.audience in SUBSCRIBER_AUDIENCES:
        teams = _sector_teams(unit, announcement)
        muted = set() if teams is None else unit.settings.list_fully_muted_user_ids(teams)
        digest = {user_id for user_id, item in settings.items() if item.digest}
        collected = [chat for chat, _ in recipients if chat in digest and chat not in muted]
        if collected:
            unit.settings.add_digest_items(announcement.id, collected, now)
        if muted or digest:
            recipients = [r for r in recipients if r[0] not in muted and r[0] not in digest]
    elif category == "reminder" and announcement.lead_minutes is not None and settings:
        lead = announcement.lead_minutes
        recipients = [
            r
            for r in recipients
            if r[0] not in settings or lead not in settings[r[0]].reminders_off
        ]
    held: dict[int, datetime] = {}
    if category == "news":
        for chat, _ in recipients:
            item = settings.get(chat)
            if item is None or item.quiet_start is None or item.quiet_end is None:
                continue
            until = quiet_until(item.quiet_start, item.quiet_end, now, zone)
            if until is not None:
                held[chat] = until
    return delivery.Screened(recipients=recipients, held=held)


def register(registry: delivery.Registry) -> None:
    """Install the settings' screen and the digest's notice kind in the delivery engine."""
    registry.set_screen(screen)
    registry.add_kinds("news", DIGEST_KIND)


def queue_digests(unit: Unit, now: datetime, notifications: Notifications) -> int:
    """Once today's digest hour has come, queue a digest of the news held from before it."""
    local = now.astimezone(notifications.zone)
    if local.hour < notifications.digest_hour:
        return 0
    # News held after today's digest hour waits for tomorrow's: one digest a day.
    cutoff = datetime.combine(
        local.date(), time(notifications.digest_hour), tzinfo=notifications.zone
    ).astimezone(UTC)
    today = local.date().isoformat()
    queued = 0
    for user_id, _ in unit.settings.list_digest_due(today, cutoff):
        items = [
            item
            for item in unit.settings.list_digest_items(user_id, cutoff)
            if item.expires_at is None or item.expires_at > now
        ]
        unit.settings.delete_digest_items(user_id, cutoff)
        unit.settings.update_digest_sent_on(user_id, today, now)
        if not items:
            continue
        delivery.announce(
            unit,
            kind=DIGEST_KIND,
            audience="user",
            audience_id=user_id,
            data=_digest(items),
            now=now,
        )
        queued += 1
    return queued


def flush_digest(unit: Unit, user_id: int, now: datetime) -> bool:
    """Queue a digest of everything held for a user now; False when nothing was held."""
    cutoff = now + timedelta(microseconds=1)
    items = [
        item
        for item in unit.settings.list_digest_items(user_id, cutoff)
        if item.expires_at is None or item.expires_at > now
    ]
    unit.settings.delete_digest_items(user_id, cutoff)
    if not items:
        return False
    delivery.announce(
        unit,
        kind=DIGEST_KIND,
        audience="user",
        audience_id=user_id,
        data=_digest(items),
        now=now,
    )
    return True


def _digest(items: list[storage.DigestItem]) -> Digest:
    return Digest(
        entries=tuple(
            DigestEntry(kind=item.kind, payload=json.loads(item.payload)) for item in items
        )
    )


# ---------------------------------------------------------------- use cases


def _view(unit: Unit, user_id: int, leads: tuple[int, ...]) -> SettingsView:
    subscribed = unit.subscriptions.list_subscribed_team_ids(user_id)
    teams = tuple(team for team in unit.teams.list_teams("sector") if team.id in subscribed)
    item = unit.settings.get_settings(user_id)
    off = set() if item is None else set(item.reminders_off)
    quiet = None
    if item is not None and item.quiet_start is not None and item.quiet_end is not None:
        quiet = (item.quiet_start, item.quiet_end)
    return SettingsView(
        teams=teams,
        muted=frozenset(unit.settings.list_muted_team_ids(user_id)),
        leads=leads,
        leads_on=frozenset(lead for lead in leads if lead not in off),
        quiet=quiet,
        digest=item is not None and item.digest,
    )


def _require_consent(unit: Unit, user_id: int, notice_version: int) -> None:
    version = unit.users.get_consent_version(user_id)
    if version is None or version < notice_version:
        raise ConsentRequired()


async def settings_view(
    db: Database, user_id: int, leads: tuple[int, ...], notice_version: int
) -> SettingsView:
    """Return the user's settings (consent required)."""

    def inner(unit: Unit) -> SettingsView:
        _require_consent(unit, user_id, notice_version)
        return _view(unit, user_id, leads)

    return await db.run(inner)


Change = Callable[[Unit, SettingsView], SettingsView]


async def _change(
    db: Database,
    user_id: int,
    leads: tuple[int, ...],
    notice_version: int,
    now: datetime,
    change: Change,
) -> SettingsView:
    def inner(unit: Unit) -> SettingsView:
        _require_consent(unit, user_id, notice_version)
        before = _view(unit, user_id, leads)
        after = change(unit, before)
        current = unit.settings.get_settings(user_id)
        # Turned-off lead times no longer configured are kept: harmless, and they come
        # back as chosen if an admin configures them again.
        kept = [] if current is None else [x for x in current.reminders_off if x not in leads]
        unit.settings.update_settings(
            user_id,
            reminders_off=kept + [lead for lead in leads if lead not in after.leads_on],
            quiet_start=None if after.quiet is None else after.quiet[0],
            quiet_end=None if after.quiet is None else after.quiet[1],
            digest=after.digest,
            now=now,
        )
        return _view(unit, user_id, leads)

    return await db.run(inner)


async def toggle_mute(
    db: Database,
    user_id: int,
    team_id: int,
    leads: tuple[int, ...],
    notice_version: int,
    now: datetime,
) -> SettingsView:
    """Mute a subscribed sector's news, or unmute it."""

    def change(unit: Unit, view: SettingsView) -> SettingsView:
        if not any(team.id == team_id for team in view.teams):
            raise StaleButton()
        if not unit.settings.add_muted_team(user_id, team_id, now):
            unit.settings.delete_muted_team(user_id, team_id)
        return view

    return await _change(db, user_id, leads, notice_version, now, change)


async def toggle_lead(
    db: Database,
    user_id: int,
    lead: int,
    leads: tuple[int, ...],
    notice_version: int,
    now: datetime,
) -> SettingsView:
    """Turn one configured reminder lead time off or on."""

    def change(unit: Unit, view: SettingsView) -> SettingsView:
        if lead not in leads:
            raise StaleButton()
        return view.model_copy(update={"leads_on": view.leads_on ^ {lead}})

    return await _change(db, user_id, leads, notice_version, now, change)


async def set_quiet(
    db: Database,
    user_id: int,
    window: tuple[int, int] | None,
    leads: tuple[int, ...],
    notice_version: int,
    now: datetime,
) -> SettingsView:
    """Set the quiet hours (local minutes after midnight: start, end) or turn them off."""
    if window is not None and (
        not all(0 <= value < 1440 for value in window) or window[0] == window[1]
    ):
        raise StaleButton()

    def change(unit: Unit, view: SettingsView) -> SettingsView:
        return view.model_copy(update={"quiet": window})

    return await _change(db, user_id, leads, notice_version, now, change)


async def toggle_digest(
    db: Database,
    user_id: int,
    leads: tuple[int, ...],
    notice_version: int,
    now: datetime,
) -> SettingsView:
    """Switch between instant news and the daily digest; news held so far goes out at once
    (as a digest) when switching back to instant news."""

    def change(unit: Unit, view: SettingsView) -> SettingsView:
        if view.digest:
            flush_digest(unit, user_id, now)
        return view.model_copy(update={"digest": not view.digest})

    return await _change(db, user_id, leads, notice_version, now, change)
