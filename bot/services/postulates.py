"""Postulates, the core: errors, settings, shared checks, the notices as data, and supports.

The feature's rules are split by section: this module, `postulates_drafts` (the submission),
`postulates_review` (the state machine and cards) and `postulates_calls`. Every rule runs
inside one `db.run` unit per use case, and every change of state queues its notices (author:
`postulate-status`; sector moderators: `moderator-alert`) in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.config import Language
from bot.errors import ConsentRequired, DomainError, StaleButton
from bot.services import delivery
from storage.database import Database
from storage.models import Team
from storage.postulates import Postulate
from storage.unit import Unit

TITLE_LIMITS = (5, 150)
CONTENT_LIMITS = (20, 3500)
NOTE_LIMITS = (3, 2000)
# A reason the author reads (rejection, decision) says why: "Nie." is not one.
REASON_LIMITS = (20, 2000)
QUESTION_LIMITS = (10, 2000)
ATTACHMENT_TYPES = ("document", "photo", "voice")
# Postulates that may still be co-signed or offered as "similar".
LIVE = ("submitted", "in_review", "clarification", "forwarded", "adopted")
REVIEW_QUEUE = ("submitted", "in_review")
DECISION_QUEUE = ("forwarded",)
EDITABLE_FIELDS = ("sector", "title", "content", "attachment")


def _moderator_recipients(unit: Unit, team_id: int) -> list[tuple[int, Language]]:
    """Resolver `team-moderators`: the sector's moderators and the admins."""
    return [
        (chat_id, "pl" if language == "pl" else "en")
        for chat_id, language in unit.postulates.list_team_moderator_recipients(team_id)
    ]


def register(registry: delivery.Registry) -> None:
    """Postulates' audience (a sector's moderators) and notice kinds for the delivery engine."""
    registry.add_audience("team-moderators", _moderator_recipients)
    registry.add_kinds("news", CALL_OPENED_KIND)
    registry.add_kinds("reminder", CALL_REMINDER_KIND)
    registry.add_kinds("transactional", DRAFT_EXPIRED_KIND, STATUS_KIND, ALERT_KIND)


# --- domain errors --------------------------------------------------------------------------


class InvalidInput(DomainError):
    """The typed value breaks a limit; the step is asked again."""

    key = "postulates.error-input"

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(**values)
        self.key = key


class WrongState(DomainError):
    key = "postulates.error-state"


class SubmissionsClosed(DomainError):
    key = "postulates.error-no-call"


class NotRepresentative(DomainError):
    """On behalf of an organisation the author no longer represents (accepted)."""

    key = "organisation.error-not-representing"


class CannotSupport(DomainError):
    key = "postulates.error-support"

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


# --- settings -------------------------------------------------------------------------------


class Settings(BaseModel):
    """What the rules read from the configuration."""

    model_config = ConfigDict(frozen=True)

    accept_outside_calls: bool = True
    draft_idle_hours: int = 24
    notice_version: int = 1


def clean(value: str) -> str:
    """Trim surrounding blanks; the author's words, capitals and punctuation stay."""
    return value.strip()


def check_length(value: str, limits: tuple[int, int], name: str) -> str:
    """Clean a typed value and refuse it outside the limits (the error names them)."""
    value = clean(value)
    low, high = limits
    if not value:
        raise InvalidInput("postulates.error-empty")
    if len(value) < low:
        raise InvalidInput(f"postulates.error-{name}-short", minimum=low, length=len(value))
    if len(value) > high:
        raise InvalidInput(f"postulates.error-{name}-long", maximum=high, length=len(value))
    return value


def require_consent(unit: Unit, user_id: int, notice_version: int) -> None:
    """Refuse a user who has not accepted the current privacy notice."""
    user = unit.users.get_user(user_id)
    if user is None or user.consent_version is None or user.consent_version < notice_version:
        raise ConsentRequired()


def sector_team(unit: Unit, team_id: int | None) -> Team:
    """The sector with this id; a missing one (or another kind of team) is a stale button."""
    team = unit.teams.get_team(team_id) if team_id is not None else None
    if team is None or team.kind != "sector":
        raise StaleButton()
    return team


# --- notices --------------------------------------------------------------------------------
# Queued as data; each face renders them (Telegram: handlers/views/postulates.py).

DRAFT_EXPIRED_KIND = "draft-expired"
STATUS_KIND = "postulate-status"
ALERT_KIND = "moderator-alert"
CALL_OPENED_KIND = "call-opened"
CALL_REMINDER_KIND = "call-reminder"


class DraftExpired(BaseModel):
    """Notice data: the author's draft was idle too long and is gone."""

    model_config = ConfigDict(frozen=True)

    draft_id: int


class StatusNotice(BaseModel):
    """Notice data for the author: what happened to their postulate (`event`: 'submitted' or
    the review action) and the answer that came with it."""

    model_config = ConfigDict(frozen=True)

    event: str
    postulate_id: int
    reference: str
    title: str
    state: str
    team: Team
    note: str | None = None


class ModeratorAlert(BaseModel):
    """Notice data for a sector's moderators (or the coordinating team)."""

    model_config = ConfigDict(frozen=True)

    event: Literal["new", "answered", "withdrawn", "forwarded", "moved"]
    postulate_id: int
    reference: str
    title: str
    team: Team  # the postulate's sector


class CallNotice(BaseModel):
    """Notice data: a call for postulates opened in a sector (or closes in 48 hours)."""

    model_config = ConfigDict(frozen=True)

    call_id: int
    title: str
    team: Team
    deadline: datetime


def team_of(unit: Unit, team_id: int) -> Team:
    """The team with this id (it must exist)."""
    team = unit.teams.get_team(team_id)
    assert team is not None  # a postulate's sector is a foreign key
    return team


def status_notice(
    unit: Unit, postulate: Postulate, event: str, note: str | None = None
) -> StatusNotice:
    """The author's notice of what happened to their postulate (as it stands now)."""
    return StatusNotice(
        event=event,
        postulate_id=postulate.id,
        reference=postulate.reference,
        title=postulate.title,
        state=postulate.state,
        team=team_of(unit, postulate.team_id),
        note=note or None,
    )


def notify_author(
    unit: Unit, postulate: Postulate, now: datetime, event: str, note: str | None = None
) -> None:
    """Queue the author's notice of what happened to their postulate."""
    if postulate.author_id is None:
        return
    delivery.announce(
        unit,
        kind=STATUS_KIND,
        audience="user",
        audience_id=postulate.author_id,
        data=status_notice(unit, postulate, event, note),
        now=now,
        subject=f"postulate:{postulate.id}",
    )


def alert_moderators(
    unit: Unit,
    postulate: Postulate,
    team_id: int,
    now: datetime,
    event: Literal["new", "answered", "withdrawn", "forwarded", "moved"],
    actor_id: int | None = None,
) -> None:
    """Queue the alert for the sector's moderators (and the admins)."""
    delivery.announce(
        unit,
        kind=ALERT_KIND,
        audience="team-moderators",
        audience_id=team_id,
        data=ModeratorAlert(
            event=event,
            postulate_id=postulate.id,
            reference=postulate.reference,
            title=postulate.title,
            team=team_of(unit, postulate.team_id),
        ),
        now=now,
        subject=f"postulate:{postulate.id}",
        created_by=actor_id,
    )


# --- supports -------------------------------------------------------------------------------


def _support(
    unit: Unit,
    user_id: int,
    postulate_id: int,
    settings: Settings,
    now: datetime,
    drop_draft: bool,
) -> Postulate:
    require_consent(unit, user_id, settings.notice_version)
    postulate = unit.postulates.get_postulate(postulate_id)
    if postulate is None:
        raise StaleButton()
    user = unit.users.get_user(user_id)
    organisation_id = user.organisation_id if user is not None else None
    if organisation_id is None and unit.organisations.get_pending_organisation_name(user_id):
        raise CannotSupport("organisation.pending-cannot-support")
    if organisation_id is None:
        raise CannotSupport("postulates.error-support-no-organisation")
    if postulate.author_id == user_id or postulate.organisation_id == organisation_id:
        raise CannotSupport("postulates.error-support-own")
    if postulate.state not in LIVE:
        raise CannotSupport("postulates.error-support-closed")
    name = unit.postulates.get_organisation_name(organisation_id)
    if not unit.postulates.add_support(
        postulate.id,
        user_id=user_id,
        organisation_id=organisation_id,
        organisation_name=name,
        now=now,
    ):
        raise CannotSupport("postulates.error-support-twice")
    if drop_draft:
        draft = unit.postulates.get_draft(user_id)
        if draft is not None:
            unit.postulates.delete_draft(draft.id)
    changed = unit.postulates.get_postulate(postulate.id)
    assert changed is not None
    return changed


async def support(
    db: Database,
    user_id: int,
    postulate_id: int,
    settings: Settings,
    now: datetime,
    *,
    drop_draft: bool = False,
) -> Postulate:
    """Co-sign a postulate on behalf of the user's organisation (once per organisation)."""
    return await db.run(_support, user_id, postulate_id, settings, now, drop_draft)


async def support_by_reference(
    db: Database, user_id: int, reference: str, settings: Settings, now: datetime
) -> Postulate:
    """Co-sign the postulate with this reference (e.g. P-2026-0042)."""

    def change(unit: Unit) -> Postulate:
        postulate = unit.postulates.get_postulate_by_reference(reference.strip())
        if postulate is None:
            raise InvalidInput("postulates.error-reference", reference=reference)
        return _support(unit, user_id, postulate.id, settings, now, False)

    return await db.run(change)


async def refresh_common_words(db: Database) -> int:
    """Note again which words most postulates use (the similar search leaves them out)."""
    # The whole vocabulary is read beside the writer; only the short list is written.
    words = await db.read(lambda unit: unit.postulates.list_common_words())
    await db.run(_replace_common_words, words)
    return len(words)


def _replace_common_words(unit: Unit, words: dict[str, int]) -> None:
    unit.postulates.replace_common_words(words)
