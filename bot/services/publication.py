"""Publication of postulates on the public site: the authors' agreement, hiding by moderators."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.errors import DomainError, NotAllowed, StaleButton
from bot.services import audit, delivery
from storage.database import Database
from storage.public import PublicationState
from storage.unit import Unit

QUESTION_KIND = "postulate-publication"
OWNERS = "postulate-owners"
# Authors asked per housekeeping run: a unit of work stays short on a large database.
ASK_BATCH = 200
REASON_LIMITS = (10, 500)


class InvalidReason(DomainError):
    """The reason for hiding is missing, too short or too long."""

    key = "publication.error-reason"


class Question(BaseModel):
    """The notice asking whether a postulate submitted before the site may be published."""

    model_config = ConfigDict(frozen=True)

    postulate_id: int
    reference: str
    title: str


class Answered(BaseModel):
    """Where a postulate's publication stands after an answer (or a repeated press)."""

    model_config = ConfigDict(frozen=True)

    reference: str
    title: str
    publication: Literal["pending", "asked", "yes", "no"]
    changed: bool


class Visibility(BaseModel):
    """A postulate's visibility on the site after a moderator's action."""

    model_config = ConfigDict(frozen=True)

    postulate_id: int
    reference: str
    hidden: bool
    changed: bool


def register(registry: delivery.Registry) -> None:
    """Who answers for a postulate (its organisation's representatives, else its author)."""
    registry.add_audience(OWNERS, lambda unit, key: unit.public.list_owner_recipients(key))
    registry.add_kinds("transactional", QUESTION_KIND)


def _ask(unit: Unit, now: datetime) -> int:
    pending = unit.public.list_pending_publication(ASK_BATCH)
    for item in pending:
        if not unit.public.update_publication(item.id, "asked", only_from=("pending",)):
            continue
        delivery.announce(
            unit,
            kind=QUESTION_KIND,
            audience=OWNERS,
            audience_id=item.id,
            now=now,
            data=Question(postulate_id=item.id, reference=item.reference, title=item.title),
            subject=f"postulate:{item.id}",
        )
    return len(pending)


async def ask_pending(db: Database, now: datetime) -> int:
    """Ask the authors of postulates submitted before the site, once each; return how many."""
    return await db.run(_ask, now)


def _answers_for(unit: Unit, user_id: int, item: PublicationState) -> bool:
    if item.organisation_id is not None:
        return unit.organisations.is_accepted_representative(item.organisation_id, user_id)
    return item.author_id == user_id


def _answer(unit: Unit, user_id: int, postulate_id: int, publish: bool) -> Answered:
    item = unit.public.get_publication(postulate_id)
    if item is None:
        raise StaleButton()
    if not _answers_for(unit, user_id, item):
        raise NotAllowed()
    # The first answer counts; a second press (another representative's too) shows it.
    changed = unit.public.update_publication(
        postulate_id, "yes" if publish else "no", only_from=("pending", "asked")
    )
    after = unit.public.get_publication(postulate_id)
    assert after is not None
    return Answered(
        reference=after.reference,
        title=after.title,
        publication=after.publication,
        changed=changed,
    )


async def answer(db: Database, user_id: int, postulate_id: int, publish: bool) -> Answered:
    """Record the author's (or representative's) answer to the publication question."""
    return await db.run(_answer, user_id, postulate_id, publish)


def _may_moderate(unit: Unit, user_id: int, team_id: int) -> bool:
    return unit.roles.is_admin(user_id) or team_id in unit.roles.list_moderated_team_ids(user_id)


def may_hide(unit: Unit, user_id: int, postulate_id: int) -> bool:
    """Whether the user moderates the postulate's sector (or is an admin)."""
    item = unit.public.get_publication(postulate_id)
    return item is not None and _may_moderate(unit, user_id, item.team_id)


def clean_reason(reason: str) -> str:
    """Return the reason trimmed, or raise InvalidReason when its length is out of bounds."""
    value = " ".join(reason.split())
    low, high = REASON_LIMITS
    if not low <= len(value) <= high:
        raise InvalidReason()
    return value


def _set_hidden(
    unit: Unit, user_id: int, postulate_id: int, reason: str | None, now: datetime
) -> Visibility:
    item = unit.public.get_publication(postulate_id)
    if item is None:
        raise StaleButton()
    if not _may_moderate(unit, user_id, item.team_id):
        raise NotAllowed()
    if reason is not None:
        reason = clean_reason(reason)
    changed = unit.public.update_hidden(postulate_id, reason, now)
    if changed:
        audit.record(
            unit,
            actor_id=user_id,
            action="postulate.hide" if reason is not None else "postulate.show",
            target=f"postulate:{item.reference}",
            details={"reason": reason} if reason is not None else None,
            now=now,
        )
    after = unit.public.get_publication(postulate_id)
    assert after is not None
    return Visibility(
        postulate_id=postulate_id,
        reference=after.reference,
        hidden=after.hidden_at is not None,
        changed=changed,
    )


async def hide(
    db: Database, user_id: int, postulate_id: int, reason: str, now: datetime
) -> Visibility:
    """Hide a postulate from the public site, with a reason kept in the audit log."""
    return await db.run(_set_hidden, user_id, postulate_id, reason, now)


async def show(db: Database, user_id: int, postulate_id: int, now: datetime) -> Visibility:
    """Show a hidden postulate on the public site again (audited)."""
    return await db.run(_set_hidden, user_id, postulate_id, None, now)


async def is_hidden(db: Database, postulate_id: int) -> bool:
    """Whether the postulate is hidden from the public site now."""

    def read(unit: Unit) -> bool:
        item = unit.public.get_publication(postulate_id)
        return item is not None and item.hidden_at is not None

    return await db.run(read)
