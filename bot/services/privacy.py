"""Privacy (GDPR): consent status, /mydata (the export), /forget (erasure) and retention.

/mydata is built from SECTIONS, one per feature: adding a table that holds a user id means
adding one Section (and erasing it: ON DELETE CASCADE to users, or a line in `_erase`).
tests/test_privacy.py fails when a column that names a user is covered by neither.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.config import Config
from bot.services import rsvp as rsvp_service
from bot.services import updates as updates_service
from storage.database import Database
from storage.unit import Unit

log = logging.getLogger(__name__)

# Retention runs at most this often (the dispatcher asks every few seconds).
RETENTION_EVERY = timedelta(days=1)
# Users erased by one day's retention run (the rest wait for the next day).
PURGE_BATCH = 200
# Each retention unit stops taking more work after this long, and after this much work: the
# issue's budget is 50 ms for any unit at 50,000 members, whatever else runs. Time alone did
# not bound it on a loaded machine (bench/scale.py: units of 40-240 ms with 10 ms, 5 erasures
# and 100-row slices): a unit's commit writes and syncs every page it changed (secure_delete
# overwrites deleted rows), so the pages a unit may change are bounded too.
UNIT_SECONDS = 0.004
# One erasure per unit (a member touches a dozen tables), and at most PRUNE_ROWS old rows
# per unit, deleted PRUNE_SLICE at a time.
ERASE_SLICE = 1
PRUNE_SLICE = 100
PRUNE_ROWS = 400


# --- /mydata --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One part of the export: `collect(unit, user_id)`; `covers` names the `table.column`s
    holding the user's id that it exports. A section whose tables do not exist is left out."""

    name: str
    collect: Callable[[Unit, int], Any]
    covers: tuple[str, ...]


def _profile(unit: Unit, user_id: int) -> dict[str, Any] | None:
    user = unit.users.get_user(user_id)
    if user is None:
        return None
    inactive = unit.privacy.list_rows("user_inactivity", "user_id", user_id, omit=("user_id",))
    return {**user.model_dump(mode="json"), "inactive_since": inactive[0] if inactive else None}


def _organisation(unit: Unit, user_id: int) -> dict[str, Any] | None:
    user = unit.users.get_user(user_id)
    if user is None or user.organisation_id is None:
        return None
    organisation = unit.organisations.get_organisation(user.organisation_id)
    return None if organisation is None else organisation.model_dump(mode="json")


def _roles(unit: Unit, user_id: int) -> dict[str, Any]:
    return {
        "admin": unit.roles.is_admin(user_id),
        "moderator_of": unit.privacy.list_moderator_roles(user_id),
    }


def _rsvps(unit: Unit, user_id: int) -> list[dict[str, Any]]:
    return [
        answer.model_dump(mode="json", exclude={"user_id"})
        for answer in unit.rsvps.list_user_answers(user_id)
    ]


def _postulates(unit: Unit, user_id: int) -> dict[str, Any]:
    data = dict(unit.postulates.list_personal_data(user_id))
    data["history"] = unit.privacy.list_history_of_authored(user_id)
    data["review_prompts"] = unit.privacy.list_prompts(user_id)
    return data


def _deliveries(unit: Unit, user_id: int) -> dict[str, Any]:
    return {
        "queued_for_me": unit.privacy.list_user_announcements(user_id),
        "copies": unit.privacy.list_deliveries_to(user_id),
    }


def _settings(unit: Unit, user_id: int) -> dict[str, Any]:
    settings = unit.privacy.list_rows("notification_settings", "user_id", user_id)
    return {
        "notifications": settings[0] if settings else None,
        "muted_teams": unit.privacy.list_rows("muted_teams", "user_id", user_id),
        "digest_waiting": unit.privacy.list_rows("digest_items", "user_id", user_id),
    }


def _moderation(unit: Unit, user_id: int) -> dict[str, Any]:
    """What the user did as a moderator or admin (without the people it concerned)."""
    return {
        "roles_granted": unit.privacy.list_roles_granted_by(user_id),
        "meetings": unit.privacy.list_meetings_by(user_id),
        "calls_for_postulates": unit.privacy.list_calls_by(user_id),
        "notices_queued": unit.privacy.list_announcements_by(user_id),
        "review_actions": unit.privacy.list_actions_by(user_id),
    }


def _moderation_since_wave_2(unit: Unit, user_id: int) -> dict[str, Any]:
    return {
        "invites": unit.privacy.list_rows(
            "moderator_invites", "created_by", user_id, omit=("token_hash", "used_by")
        ),
        "invite_used": unit.privacy.list_rows(
            "moderator_invites", "used_by", user_id, omit=("token_hash", "created_by")
        ),
        "audit": [
            {**row, "target": "user" if str(row["target"]).startswith("user:") else row["target"]}
            for row in unit.privacy.list_rows("audit_log", "actor_id", user_id, omit=("details",))
        ],
        "audit_about_me": unit.privacy.list_audit_about(user_id),
        "broadcasts": unit.privacy.list_rows("broadcasts", "created_by", user_id),
        "progress_messages": unit.privacy.list_rows(
            "broadcasts", "progress_chat_id", user_id, omit=("created_by",)
        ),
        "groups_linked": unit.privacy.list_rows("group_links", "linked_by", user_id),
    }


def _consultations(unit: Unit, user_id: int) -> dict[str, Any]:
    return {
        "comments": [
            comment.model_dump(mode="json", exclude={"user_id"})
            for comment in unit.consultations.list_user_comments(user_id)
        ],
        "drafts_created": unit.privacy.list_rows("consultations", "created_by", user_id),
        "answers_given": unit.privacy.list_rows("consultation_answers", "answered_by", user_id),
    }


SECTIONS: list[Section] = [
    Section("profile", _profile, ("users.id", "user_inactivity.user_id")),
    Section(
        "consents",
        lambda unit, user_id: unit.privacy.list_consents(user_id),
        ("consent_history.user_id",),
    ),
    Section("organisation", _organisation, ()),
    Section(
        "representation",
        lambda unit, user_id: unit.organisations.list_personal_representation(user_id),
        ("organisation_representatives.user_id", "organisation_representatives.decided_by"),
    ),
    Section(
        "subscriptions",
        lambda unit, user_id: unit.privacy.list_subscriptions(user_id),
        ("subscriptions.user_id",),
    ),
    Section("roles", _roles, ("admins.user_id", "moderators.user_id")),
    Section("rsvps", _rsvps, ("rsvps.user_id",)),
    Section(
        "postulates",
        _postulates,
        (
            "postulates.author_id",
            "postulate_history.actor_id",
            "postulate_supports.user_id",
            "postulate_supports.supporter_key",
            "postulate_drafts.user_id",
            "postulate_prompts.user_id",
        ),
    ),
    Section(
        "consultations",
        _consultations,
        (
            "consultation_comments.user_id",
            "consultation_comments.answered_by",
            "consultation_answers.answered_by",
            "consultations.created_by",
        ),
    ),
    Section(
        "conversations",
        lambda unit, user_id: unit.privacy.list_rows(
            "conversations", "user_id", user_id, omit=("user_id",)
        ),
        ("conversations.user_id",),
    ),
    Section("deliveries", _deliveries, ("deliveries.chat_id", "announcements.audience_id")),
    Section(
        "settings",
        _settings,
        ("notification_settings.user_id", "muted_teams.user_id", "digest_items.user_id"),
    ),
    Section(
        "moderation",
        _moderation,
        (
            "moderators.granted_by",
            "meetings.created_by",
            "meeting_series.created_by",
            "postulate_calls.opened_by",
            "announcements.created_by",
        ),
    ),
    Section(
        "moderation_log",
        _moderation_since_wave_2,
        (
            "moderator_invites.created_by",
            "moderator_invites.used_by",
            "audit_log.actor_id",
            "audit_log.target",
            "broadcasts.created_by",
            "broadcasts.progress_chat_id",
            "group_links.linked_by",
        ),
    ),
]


# How erasure reaches each column naming a user, besides ON DELETE CASCADE to users (id).
ERASED: dict[str, str] = {
    "users.id": "the user row is deleted",
    "deliveries.chat_id": "waiting copies expire; every row's chat id becomes a placeholder",
    "announcements.audience_id": "notices to the user alone are cancelled, addressed to 0",
    "announcements.created_by": "set to NULL",
    "postulates.author_id": "storage.postulates.update_anonymise_author: NULL",
    "postulate_history.actor_id": "storage.postulates.update_anonymise_author: NULL",
    "postulate_supports.user_id": "storage.postulates.update_anonymise_author: NULL",
    "postulate_supports.supporter_key": "rewritten to a random key",
    "postulate_drafts.user_id": "storage.postulates.update_anonymise_author: deleted",
    "postulate_prompts.user_id": "storage.postulates.update_anonymise_author: deleted",
    "consultation_comments.user_id": (
        "storage.consultations.update_anonymise_comments: NULL (kept as a private person's)"
    ),
    "moderators.user_id": "the roles are deleted",
    "broadcasts.progress_chat_id": "set to NULL: the progress message is no longer edited",
    "organisation_representatives.decided_by": "ON DELETE SET NULL: who decided is forgotten",
}

# Columns naming a user that erasure keeps, and why (GDPR art. 17(3)(b): records of what
# moderators and admins did in the programme's name). /mydata still shows them.
KEPT: dict[str, str] = {
    "admins.user_id": "admins come from the configuration; removed by editing it",
    "moderators.granted_by": "who granted a role: accountability of an admin's act",
    "meetings.created_by": "the team's meeting record: a moderator's official act",
    "meeting_series.created_by": "the team's meeting record: a moderator's official act",
    "postulate_calls.opened_by": "a call for postulates: a moderator's official act",
    "moderator_invites.created_by": "who invited a moderator: accountability of an admin's act",
    "moderator_invites.used_by": "who became a moderator through an invite: record of a grant",
    "audit_log.actor_id": "the audit log of moderators' and admins' actions",
    "audit_log.target": "'user:<id>' of a role granted or revoked: the record of an admin's act",
    "broadcasts.created_by": "who sent a broadcast in the programme's name",
    "group_links.linked_by": "who linked a group to a sector team",
    "consultations.created_by": "who put a draft to consultation: the coordinating team's act",
    "consultation_comments.answered_by": "who answered a comment: the coordinating team's act",
    "consultation_answers.answered_by": "who answered a comment: the coordinating team's act",
}

# Columns named like user ids that do not hold a person's id.
NOT_PERSONAL: dict[str, str] = {
    "group_links.chat_id": "a Telegram group's id (negative), not a person",
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


def _export(unit: Unit, user_id: int, now: datetime) -> dict[str, Any] | None:
    if unit.users.get_user(user_id) is None:
        return None
    tables = unit.privacy.list_table_names()
    data: dict[str, Any] = {"generated_at": now.isoformat(), "user_id": user_id}
    for section in SECTIONS:
        if all(column.split(".")[0] in tables for column in section.covers):
            data[section.name] = _jsonable(section.collect(unit, user_id))
    return data


async def export(
    db: Database, user_id: int, now: datetime, *, secrets: Collection[str] = ()
) -> bytes | None:
    """Everything stored about the user as a JSON document; None when nothing is stored.

    `secrets` (the bot token) are blanked wherever they occur: a stored error reason may
    quote a request URL, and the file leaves the deployment.
    """
    data = await db.run(_export, user_id, now)
    if data is None:
        return None
    document = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        document = document.replace(secret, "[redacted]")
    return document.encode("utf-8")


# --- /forget and retention ----------------------------------------------------------------------


class Erasure(BaseModel):
    """What erasing one user did."""

    model_config = ConfigDict(frozen=True)

    erased: bool = False
    postulates_anonymised: int = 0
    # Copies waiting for the user that will never be sent.
    expired: int = 0
    # Copies the dispatcher had claimed (committed `sending`): they may already be with
    # Telegram and cannot be recalled.
    sending: int = 0
    # Notices to the user alone (reminders, status changes) cancelled before fan-out.
    cancelled: int = 0
    # Members moved from a waiting list into the places the user held.
    promoted: int = 0


def _erase(unit: Unit, user_id: int, now: datetime) -> Erasure:
    """Erase one user inside the caller's transaction (used by /forget and by retention)."""
    if unit.users.get_user(user_id) is None:
        return Erasure()
    # Places the user held at meetings still to come go to those waiting, as on a withdrawal.
    freed = [
        answer.meeting_id
        for answer in unit.rsvps.list_user_answers(user_id)
        if answer.answer == "going" and not answer.waiting
    ]
    expired = unit.privacy.update_expire_deliveries(user_id, now)
    sending = unit.privacy.count_sending(user_id)
    unit.privacy.update_anonymise_deliveries(user_id)
    cancelled = unit.privacy.update_anonymise_announcements(user_id)
    anonymised = unit.postulates.update_anonymise_author(user_id)
    unit.consultations.update_anonymise_comments(user_id)
    unit.privacy.update_anonymise_support_keys(user_id)
    unit.privacy.delete_moderator_roles(user_id)
    unit.privacy.update_forget_progress_chat(user_id)
    # ON DELETE CASCADE: subscriptions, rsvps, consent_history, user_inactivity, settings.
    unit.privacy.delete_user(user_id)
    promoted = 0
    for meeting_id in freed:
        meeting = unit.meetings.get_meeting(meeting_id)
        if meeting is None or meeting.state != "scheduled" or meeting.starts_at <= now:
            continue
        team = unit.teams.get_team(meeting.team_id)
        if team is None:
            continue
        promoted += len(rsvp_service.fill_free_places(unit, meeting, team, now))
    return Erasure(
        erased=True,
        postulates_anonymised=anonymised,
        expired=expired,
        sending=sending,
        cancelled=cancelled,
        promoted=promoted,
    )


async def forget(db: Database, user_id: int, *, now: datetime) -> Erasure:
    """Erase everything about the user in one transaction; postulates stay, anonymised."""
    return await db.run(_erase, user_id, now)


class Retention(BaseModel):
    """What one retention run did."""

    model_config = ConfigDict(frozen=True)

    ran: bool
    purged: int = 0
    pruned: int = 0
    # Ids of updates handled more than updates_service.KEEP_IDS ago (at-most-once records).
    updates_forgotten: int = 0
    next_at: datetime


def _retain(unit: Unit, config: Config, now: datetime, force: bool) -> Retention:
    """Start the day's run if it is due: record it and start counting new inactivity."""
    last = unit.privacy.get_last_retention()
    if not force and last is not None and now < last + RETENTION_EVERY:
        return Retention(ran=False, next_at=last + RETENTION_EVERY)
    # Recorded first: the batches that follow are their own transactions, and a run cut
    # short (a restart) finishes the next day rather than twice at once.
    unit.privacy.update_last_retention(now)
    unit.privacy.add_inactivity(now)
    return Retention(ran=True, next_at=now + RETENTION_EVERY)


def _within(budget: float) -> Callable[[], bool]:
    deadline = time.perf_counter() + budget
    return lambda: time.perf_counter() < deadline


def _purge_batch(unit: Unit, config: Config, now: datetime, limit: int) -> tuple[int, bool]:
    """Erase inactive members until the unit's time is up; return (erased, more left)."""
    cutoff = now - timedelta(days=config.privacy.inactive_purge_days)
    more = _within(UNIT_SECONDS)
    due = unit.privacy.list_inactive_since(cutoff, limit)
    done = erased = 0
    for user_id in due:
        erased += _erase(unit, user_id, now).erased
        done += 1
        if not more():
            break
    return erased, done < len(due) or len(due) == limit


def _prune_batch(unit: Unit, config: Config, now: datetime) -> tuple[int, int, bool]:
    """Delete old delivery rows, then old update ids, in slices until the unit's time or
    its PRUNE_ROWS are used up; return (deliveries, update ids, more left)."""
    more = _within(UNIT_SECONDS)
    before = now - timedelta(days=config.privacy.deliveries_keep_days)
    pruned = forgotten = 0
    while more() and pruned < PRUNE_ROWS:
        step = unit.privacy.delete_old_deliveries(before, PRUNE_SLICE)
        pruned += step
        if step < PRUNE_SLICE:
            break
    while more() and pruned + forgotten < PRUNE_ROWS:
        step = unit.updates.delete_processed_updates_before(
            now - updates_service.KEEP_IDS, PRUNE_SLICE
        )
        forgotten += step
        if step < PRUNE_SLICE:
            return pruned, forgotten, False
    return pruned, forgotten, True


async def _finish_retention(
    db: Database, config: Config, now: datetime, start: Retention
) -> Retention:
    """The day's run in units of about UNIT_SECONDS, yielding between them.

    At 50,000 members one transaction erasing 200 people held the single writer for
    seconds (issue 12); small units let every other update and the engine interleave.
    """
    purged = 0
    more = True
    while more and purged < PURGE_BATCH:
        erased, more = await db.run(
            _purge_batch, config, now, min(ERASE_SLICE, PURGE_BATCH - purged)
        )
        purged += erased
        await asyncio.sleep(0)
    pruned = forgotten = 0
    more = True
    while more:
        deleted, ids, more = await db.run(_prune_batch, config, now)
        pruned += deleted
        forgotten += ids
        await asyncio.sleep(0)
    # Fresh planner statistics once a day, after the day's biggest change.
    await db.optimize()
    return start.model_copy(
        update={"purged": purged, "pruned": pruned, "updates_forgotten": forgotten}
    )


# When each database's next retention run is due: checked in memory, so the dispatcher's
# frequent calls cost nothing between the daily runs.
_next_run: weakref.WeakKeyDictionary[Database, datetime] = weakref.WeakKeyDictionary()


async def retain_if_due(
    db: Database, config: Config, now: datetime, *, force: bool = False
) -> Retention | None:
    """Purge long-inactive members and old delivery rows, at most once a day."""
    due = _next_run.get(db)
    if not force and due is not None and now < due:
        return None
    # Claimed in memory first: the run yields between its units, and the dispatcher (or a
    # housekeeping job) may ask again meanwhile.
    _next_run[db] = now + RETENTION_EVERY
    try:
        start = await db.run(_retain, config, now, force)
        if not start.ran:
            _next_run[db] = start.next_at
            return start
        outcome = await _finish_retention(db, config, now, start)
    except Exception:
        # Rolled back whole; the dispatcher that called us must go on sending regardless.
        log.exception("Retention failed; retrying in a day")
        _next_run[db] = now + RETENTION_EVERY
        return None
    _next_run[db] = outcome.next_at
    if outcome.ran:
        log.info(
            "Retention: %d inactive member(s) erased, %d old delivery row(s) deleted, "
            "%d old update id(s) forgotten",
            outcome.purged,
            outcome.pruned,
            outcome.updates_forgotten,
        )
    return outcome
