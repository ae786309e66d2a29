"""Privacy (GDPR): consent status, /mydata (the export) and /forget (erasure); the daily
retention run is in bot/services/retention.py.

/mydata is built from SECTIONS, one per feature: adding a table that holds a user id means
adding one Section (and erasing it: ON DELETE CASCADE to users, or a line in `erase_member`).
tests/test_privacy.py fails when a column that names a user is covered by neither.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.services import rsvp as rsvp_service
from storage.database import Database
from storage.unit import Unit

log = logging.getLogger(__name__)


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
    Section(
        "expired_prompts",
        lambda unit, user_id: unit.privacy.list_rows(
            "stale_prompts", "user_id", user_id, omit=("user_id",)
        ),
        ("stale_prompts.user_id",),
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


def erase_member(unit: Unit, user_id: int, now: datetime) -> Erasure:
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
    return await db.run(erase_member, user_id, now)
