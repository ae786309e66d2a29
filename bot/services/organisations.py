"""Organisations: registering, editing and leaving a member's NGO, and the admins' decisions
(the rules for what is typed are in organisation_rules; their names are importable from here)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.config import Language
from bot.errors import ConsentRequired, NotAllowed, StaleButton
from bot.services import audit, delivery
from bot.services.organisation_rules import (
    KRS_DIGITS,
    KRS_PREFIX,
    NAME_MAX,
    NAME_MIN,
    REGISTER_TYPES,
    AlreadyRepresenting,
    InvalidKrs,
    InvalidNipChecksum,
    InvalidNipFormat,
    InvalidOrganisation,
    InvalidRegonChecksum,
    InvalidRegonFormat,
    NotRepresenting,
    NumberTaken,
    OrganisationDraft,
    RegisterType,
    TooLong,
    TooShort,
    clean_krs,
    clean_nip,
    clean_regon,
    clean_text,
)
from bot.services.users import Actor
from storage.database import Database
from storage.models import Organisation
from storage.organisations import Representative, RepresentativeState
from storage.unit import ConstraintViolation, Unit
from storage.users import PersonName

# Callers import the rules (organisation_rules) from here too, as before the split.
__all__ = [
    "KRS_DIGITS",
    "KRS_PREFIX",
    "NAME_MAX",
    "NAME_MIN",
    "REGISTER_TYPES",
    "AlreadyRepresenting",
    "InvalidKrs",
    "InvalidNipChecksum",
    "InvalidNipFormat",
    "InvalidOrganisation",
    "InvalidRegonChecksum",
    "InvalidRegonFormat",
    "NotRepresenting",
    "NumberTaken",
    "OrganisationDraft",
    "RegisterType",
    "TooLong",
    "TooShort",
    "clean_krs",
    "clean_nip",
    "clean_regon",
    "clean_text",
]
# The fields an edit may change, in the order the audit log lists them.
FIELDS = ("name", "register_type", "krs", "register_name", "nip", "regon")
# Requests listed to an admin at once (each is one message with its buttons).
PENDING_SHOWN = 10


def _decider_recipients(unit: Unit, organisation_id: int) -> list[tuple[int, Language]]:
    """Resolver `organisation-deciders`: accepted representatives, else the admins."""
    return [
        (chat_id, "pl" if language == "pl" else "en")
        for chat_id, language in unit.organisations.list_decider_recipients(organisation_id)
    ]


def register(registry: delivery.Registry) -> None:
    """Organisations' audience (who decides a request) and notice kinds for the engine."""
    registry.add_audience("organisation-deciders", _decider_recipients)
    registry.add_kinds("transactional", REQUEST_KIND, DECISION_KIND)


# The notice kinds; each face registers a renderer per kind (handlers/views/organisations.py).
REQUEST_KIND = "organisation-request"
DECISION_KIND = "organisation-decision"


class OrganisationCard(BaseModel):
    """An organisation as one of its representatives (or someone asking to be one) sees it."""

    model_config = ConfigDict(frozen=True)

    organisation: Organisation
    representatives: int
    # The viewer's own standing: accepted representative, or a request still waiting.
    state: Literal["accepted", "pending"] = "accepted"


class Registered(BaseModel):
    """What Save did: a new organisation the user now represents, or a request to join one."""

    model_config = ConfigDict(frozen=True)

    card: OrganisationCard
    joined: bool


class Request(BaseModel):
    """A request to represent an organisation, with what a decider needs to see."""

    model_config = ConfigDict(frozen=True)

    representative: Representative
    organisation: Organisation
    # Who asks, by their Telegram names (None: nothing known, or a notice queued before names).
    name: PersonName | None = None


class Decision(BaseModel):
    """The state of a request after a press; `changed` is False for a repeated or late press."""

    model_config = ConfigDict(frozen=True)

    request: Request
    changed: bool


class DecisionNotice(BaseModel):
    """Notice data: the author's request to represent `organisation` was decided."""

    model_config = ConfigDict(frozen=True)

    organisation: Organisation
    accepted: bool


class PendingRequests(BaseModel):
    """The requests waiting for a decision (oldest first, at most PENDING_SHOWN) and the total."""

    model_config = ConfigDict(frozen=True)

    requests: tuple[Request, ...]
    total: int


def _card(
    unit: Unit,
    organisation: Organisation,
    state: Literal["accepted", "pending"] = "accepted",
) -> OrganisationCard:
    return OrganisationCard(
        organisation=organisation,
        representatives=unit.organisations.count_representatives(organisation.id),
        state=state,
    )


def _my_organisation(unit: Unit, user_id: int) -> OrganisationCard | None:
    current = unit.organisations.get_current_representative(user_id)
    if current is None:
        return None
    organisation = unit.organisations.get_organisation(current.organisation_id)
    if organisation is None:
        return None
    return _card(unit, organisation, "accepted" if current.state == "accepted" else "pending")


async def my_organisation(db: Database, user_id: int) -> OrganisationCard | None:
    """The organisation the user represents or asked to represent, with its representatives."""
    return await db.run(_my_organisation, user_id)


def _joins_other(unit: Unit, user_id: int, draft: OrganisationDraft) -> bool:
    existing = unit.organisations.get_organisation_by_numbers(draft.krs, draft.nip, draft.regon)
    if existing is None:
        return False
    user = unit.users.get_user(user_id)
    return user is None or user.organisation_id != existing.id


async def joins_registered(db: Database, user_id: int, draft: OrganisationDraft) -> bool:
    """Whether saving this draft asks to join an organisation registered under its numbers."""
    return await db.run(_joins_other, user_id, draft)


def _register(
    unit: Unit,
    user_id: int,
    draft: OrganisationDraft,
    notice_version: int,
    now: datetime,
) -> Registered:
    user = unit.users.get_user(user_id)
    if user is None or user.consent_version is None or user.consent_version < notice_version:
        raise ConsentRequired()
    if unit.organisations.get_current_representative(user_id) is not None:
        raise AlreadyRepresenting()
    existing = unit.organisations.get_organisation_by_numbers(draft.krs, draft.nip, draft.regon)
    if existing is None:
        created = unit.organisations.add_organisation(**draft.model_dump(), now=now)
        unit.organisations.add_representative(created.id, user_id, "accepted", now)
        return Registered(card=_card(unit, created), joined=False)
    # Joining never edits the organisation: what the newcomer typed is dropped, and the
    # request waits for its representatives (or, with none left, an admin).
    representative = unit.organisations.add_representative(existing.id, user_id, "pending", now)
    request = Request(
        representative=representative,
        organisation=existing,
        name=unit.users.list_names((user_id,)).get(user_id),
    )
    delivery.announce(
        unit,
        kind=REQUEST_KIND,
        audience="organisation-deciders",
        audience_id=existing.id,
        data=request,
        now=now,
        subject=f"representative:{representative.id}",
    )
    return Registered(card=_card(unit, existing, "pending"), joined=True)


async def register_organisation(
    db: Database,
    user_id: int,
    draft: OrganisationDraft,
    notice_version: int,
    now: datetime,
) -> Registered:
    """Register a new organisation, or ask to join the one its KRS, NIP or REGON names.

    Raises InvalidOrganisation (a rule is broken), ConsentRequired, AlreadyRepresenting.
    """
    clean = draft.validated()

    def save(unit: Unit) -> Registered:
        try:
            with unit.checked():
                return _register(unit, user_id, clean, notice_version, now)
        except ConstraintViolation as exc:
            # The rules above mirror the table's constraints; this is the last line of defence.
            raise InvalidOrganisation() from exc

    return await db.run(save)


def _edit(
    unit: Unit,
    user_id: int,
    organisation_id: int,
    draft: OrganisationDraft,
    now: datetime,
) -> OrganisationCard:
    if not unit.organisations.is_accepted_representative(organisation_id, user_id):
        raise NotRepresenting()
    before = unit.organisations.get_organisation(organisation_id)
    if before is None:
        raise NotRepresenting()
    if unit.organisations.get_organisation_by_numbers(
        draft.krs, draft.nip, draft.regon, other_than=organisation_id
    ):
        raise NumberTaken()
    # One "old → new" line per changed field, readable as is in /audit and its CSV.
    changes = {
        field: f"{getattr(before, field) or '—'} → {getattr(draft, field) or '—'}"
        for field in FIELDS
        if getattr(before, field) != getattr(draft, field)
    }
    if not changes:
        return _card(unit, before)
    after = unit.organisations.update_organisation(organisation_id, **draft.model_dump(), now=now)
    assert after is not None
    audit.record(
        unit,
        actor_id=user_id,
        action="organisation.edit",
        target=f"organisation:{organisation_id}",
        details=changes,
        now=now,
    )
    return _card(unit, after)


async def edit_organisation(
    db: Database, user_id: int, organisation_id: int, draft: OrganisationDraft, now: datetime
) -> OrganisationCard:
    """Change an organisation's data; only its accepted representatives may, and every
    changed field goes to the audit log as old -> new.

    Raises InvalidOrganisation (incl. NumberTaken), NotRepresenting.
    """
    clean = draft.validated()

    def save(unit: Unit) -> OrganisationCard:
        try:
            with unit.checked():
                return _edit(unit, user_id, organisation_id, clean, now)
        except ConstraintViolation as exc:
            raise InvalidOrganisation() from exc

    return await db.run(save)


def _request(unit: Unit, representative: Representative) -> Request:
    organisation = unit.organisations.get_organisation(representative.organisation_id)
    assert organisation is not None  # the row cascades with its organisation
    user_id = representative.user_id
    return Request(
        representative=representative,
        organisation=organisation,
        name=unit.users.list_names((user_id,)).get(user_id),
    )


def _decide(
    unit: Unit,
    actor: Actor,
    representative_id: int,
    accept: bool,
    now: datetime,
) -> Decision:
    representative = unit.organisations.get_representative(representative_id)
    if representative is None:
        raise StaleButton()
    # Callback data can be forged: the presser must be a decider for this organisation now.
    if not actor.is_admin and not unit.organisations.is_accepted_representative(
        representative.organisation_id, actor.user_id
    ):
        raise NotAllowed()
    if representative.state != "pending":
        return Decision(request=_request(unit, representative), changed=False)
    new: RepresentativeState = "accepted" if accept else "declined"
    decided = unit.organisations.update_representative_state(
        representative_id, old="pending", new=new, now=now, decided_by=actor.user_id
    )
    assert decided is not None  # one transaction at a time: it was pending just above
    request = _request(unit, decided)
    audit.record(
        unit,
        actor_id=actor.user_id,
        action="organisation.accept" if accept else "organisation.decline",
        target=f"organisation:{decided.organisation_id}",
        details={"request": decided.id},
        now=now,
    )
    delivery.announce(
        unit,
        kind=DECISION_KIND,
        audience="user",
        audience_id=decided.user_id,
        data=DecisionNotice(organisation=request.organisation, accepted=accept),
        now=now,
        subject=f"representative:{decided.id}",
        created_by=actor.user_id,
    )
    return Decision(request=request, changed=True)


async def decide(
    db: Database, actor: Actor, representative_id: int, accept: bool, now: datetime
) -> Decision:
    """Accept or decline a request to represent an organisation (its representatives, admins).

    A request already decided (a second press, another decider first) stays as it is.
    Raises NotAllowed (not a decider), StaleButton (no such request).
    """
    return await db.run(_decide, actor, representative_id, accept, now)


def _pending(unit: Unit) -> PendingRequests:
    rows = unit.organisations.list_pending_representatives(PENDING_SHOWN)
    return PendingRequests(
        requests=tuple(_request(unit, row) for row in rows),
        total=unit.organisations.count_pending_representatives(),
    )


async def pending_requests(db: Database, actor: Actor) -> PendingRequests:
    """The requests waiting for a decision, for an admin."""
    if not actor.is_admin:
        raise NotAllowed()
    return await db.run(_pending)


def _stop_representing(
    unit: Unit, user_id: int, organisation_id: int, now: datetime
) -> Organisation:
    current = unit.organisations.get_current_representative(user_id)
    if current is None or current.organisation_id != organisation_id:
        raise NotRepresenting()
    organisation = unit.organisations.get_organisation(organisation_id)
    if organisation is None:
        raise NotRepresenting()
    # An organisation whose last representative leaves is kept, not deleted: postulates
    # submitted on its behalf refer to it; claiming it again needs an admin's approval.
    unit.organisations.update_representative_state(
        current.id, old=current.state, new="removed", now=now
    )
    if current.state == "pending":
        # A withdrawn request: deciders who have not got it yet never will.
        delivery.cancel_pending(unit, subject=f"representative:{current.id}", now=now)
    return organisation


async def stop_representing(
    db: Database, user_id: int, organisation_id: int, now: datetime
) -> Organisation:
    """Stop representing (or withdraw the request to represent) the organisation the button
    named; raise NotRepresenting if stale."""
    return await db.run(_stop_representing, user_id, organisation_id, now)
