"""Organisations: validating what a user types, registering, editing and leaving their NGO."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict
from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.pl import nip as stdnum_nip
from stdnum.pl import regon as stdnum_regon

from bot.errors import ConsentRequired, DomainError
from storage import organisations as organisations_storage
from storage import users as users_storage
from storage.database import Database
from storage.models import Organisation

RegisterType = Literal["krs", "other", "none"]
REGISTER_TYPES: tuple[RegisterType, ...] = ("krs", "other", "none")
# Limits of the free-text fields; the same as the CHECK constraints of the table.
NAME_MIN, NAME_MAX = 2, 200
KRS_DIGITS = re.compile(r"[0-9]{10}")


class InvalidOrganisation(DomainError):
    """The organisation's details break a rule (the handler re-asks the step)."""

    key = "organisation.error-invalid"


class TooShort(InvalidOrganisation):
    key = "organisation.error-too-short"


class TooLong(InvalidOrganisation):
    key = "organisation.error-too-long"


class InvalidKrs(InvalidOrganisation):
    key = "organisation.error-krs"


class InvalidNipFormat(InvalidOrganisation):
    key = "organisation.error-nip-format"


class InvalidNipChecksum(InvalidOrganisation):
    key = "organisation.error-nip-checksum"


class InvalidRegonFormat(InvalidOrganisation):
    key = "organisation.error-regon-format"


class InvalidRegonChecksum(InvalidOrganisation):
    key = "organisation.error-regon-checksum"


class NotRepresenting(DomainError):
    """The user does not (or no longer) represent the organisation a button names."""

    key = "organisation.error-not-representing"


def clean_text(value: str) -> str:
    """Collapse whitespace (names are one line) and enforce the 2-200 character limit."""
    cleaned = " ".join(value.split())
    if len(cleaned) < NAME_MIN:
        raise TooShort(min=NAME_MIN, length=len(cleaned))
    if len(cleaned) > NAME_MAX:
        raise TooLong(max=NAME_MAX, length=len(cleaned))
    return cleaned


def clean_krs(value: str) -> str:
    """Return the KRS number as ten digits, leading zeros kept (spaces are ignored)."""
    cleaned = "".join(value.split())
    if KRS_DIGITS.fullmatch(cleaned) is None:
        raise InvalidKrs()
    return cleaned


def clean_nip(value: str) -> str:
    """Validate a NIP (tax id) by its check digit; return the compact ten digits."""
    try:
        compact: str = stdnum_nip.validate(value)
    except InvalidChecksum as exc:
        raise InvalidNipChecksum() from exc
    except ValidationError as exc:
        raise InvalidNipFormat() from exc
    return compact


def clean_regon(value: str) -> str:
    """Validate a REGON (statistical id, 9 or 14 digits); return its compact form."""
    try:
        compact: str = stdnum_regon.validate(value)
    except InvalidChecksum as exc:
        raise InvalidRegonChecksum() from exc
    except ValidationError as exc:
        raise InvalidRegonFormat() from exc
    return compact


class OrganisationDraft(BaseModel):
    """What the user typed, before it is saved; `validated` re-checks every rule."""

    model_config = ConfigDict(frozen=True)

    name: str
    register_type: RegisterType
    krs: str | None = None
    register_name: str | None = None
    nip: str | None = None
    regon: str | None = None

    def validated(self) -> OrganisationDraft:
        """Return the draft in its stored form or raise InvalidOrganisation."""
        krs = clean_krs(self.krs or "") if self.register_type == "krs" else None
        register_name = (
            clean_text(self.register_name or "") if self.register_type == "other" else None
        )
        return OrganisationDraft(
            name=clean_text(self.name),
            register_type=self.register_type,
            krs=krs,
            register_name=register_name,
            nip=None if self.nip is None else clean_nip(self.nip),
            regon=None if self.regon is None else clean_regon(self.regon),
        )


class OrganisationCard(BaseModel):
    """An organisation as its representative sees it."""

    model_config = ConfigDict(frozen=True)

    organisation: Organisation
    representatives: int


def _card(conn: sqlite3.Connection, organisation: Organisation) -> OrganisationCard:
    return OrganisationCard(
        organisation=organisation,
        representatives=organisations_storage.count_representatives(conn, organisation.id),
    )


def _my_organisation(conn: sqlite3.Connection, user_id: int) -> OrganisationCard | None:
    user = users_storage.get_user(conn, user_id)
    if user is None or user.organisation_id is None:
        return None
    organisation = organisations_storage.get_organisation(conn, user.organisation_id)
    return None if organisation is None else _card(conn, organisation)


async def my_organisation(db: Database, user_id: int) -> OrganisationCard | None:
    """The organisation the user represents, with its number of representatives."""
    return await db.run(_my_organisation, user_id)


def _joins_other(conn: sqlite3.Connection, user_id: int, krs: str) -> bool:
    existing = organisations_storage.get_organisation_by_krs(conn, krs)
    if existing is None:
        return False
    user = users_storage.get_user(conn, user_id)
    return user is None or user.organisation_id != existing.id


async def joins_registered_krs(db: Database, user_id: int, krs: str) -> bool:
    """Whether saving this KRS would join an organisation the user does not represent yet."""
    return await db.run(_joins_other, user_id, krs)


# An organisation whose last representative leaves is kept, not deleted: postulates submitted
# on its behalf refer to it, and whoever registers its KRS later takes over its history.
def _save(
    conn: sqlite3.Connection,
    user_id: int,
    draft: OrganisationDraft,
    notice_version: int,
    now: datetime,
) -> OrganisationCard:
    user = users_storage.get_user(conn, user_id)
    if user is None or user.consent_version is None or user.consent_version < notice_version:
        raise ConsentRequired()
    fields = draft.model_dump()
    current = user.organisation_id
    existing = (
        None
        if draft.krs is None
        else organisations_storage.get_organisation_by_krs(conn, draft.krs)
    )
    saved: Organisation | None = None
    if existing is not None:
        saved = organisations_storage.update_organisation(conn, existing.id, **fields, now=now)
    elif current is not None and organisations_storage.count_representatives(conn, current) == 1:
        # The user is its only representative: correct it in place (it keeps its id).
        saved = organisations_storage.update_organisation(conn, current, **fields, now=now)
    if saved is None:
        saved = organisations_storage.add_organisation(conn, **fields, now=now)
    users_storage.update_organisation(conn, user_id, saved.id)
    return _card(conn, saved)


async def save_organisation(
    db: Database,
    user_id: int,
    draft: OrganisationDraft,
    notice_version: int,
    now: datetime,
) -> OrganisationCard:
    """Register or edit the user's organisation; a known KRS joins its organisation.

    Raises InvalidOrganisation (a rule is broken), ConsentRequired.
    """
    clean = draft.validated()

    def save(conn: sqlite3.Connection) -> OrganisationCard:
        try:
            return _save(conn, user_id, clean, notice_version, now)
        except sqlite3.IntegrityError as exc:
            # The rules above mirror the table's constraints; this is the last line of defence.
            raise InvalidOrganisation() from exc

    return await db.run(save)


def _stop_representing(
    conn: sqlite3.Connection, user_id: int, organisation_id: int
) -> Organisation:
    user = users_storage.get_user(conn, user_id)
    if user is None or user.organisation_id != organisation_id:
        raise NotRepresenting()
    organisation = organisations_storage.get_organisation(conn, organisation_id)
    if organisation is None:
        raise NotRepresenting()
    users_storage.update_organisation(conn, user_id, None)
    return organisation


async def stop_representing(db: Database, user_id: int, organisation_id: int) -> Organisation:
    """Unlink the user from the organisation the button named; raise NotRepresenting if stale."""
    return await db.run(_stop_representing, user_id, organisation_id)
