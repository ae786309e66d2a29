"""Organisations: the rules for what a user types (name, register, KRS, NIP, REGON) and the
errors that name a broken one; bot.services.organisations stores what passes."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict
from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.pl import nip as stdnum_nip
from stdnum.pl import regon as stdnum_regon

from bot.errors import DomainError

RegisterType = Literal["krs", "other", "none"]
REGISTER_TYPES: tuple[RegisterType, ...] = ("krs", "other", "none")
# Limits of the free-text fields; the same as the CHECK constraints of the table.
NAME_MIN, NAME_MAX = 2, 200
KRS_DIGITS = re.compile(r"[0-9]{10}")
# How people copy a number from the register: "KRS 0000123456", "krs: 0000123456", "nr KRS ...".
KRS_PREFIX = re.compile(r"^(?:nr\.?\s*)?krs\s*(?:nr\.?)?\s*[:.]?\s*", re.IGNORECASE)


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


class NumberTaken(InvalidOrganisation):
    """An edit gives the organisation a KRS, NIP or REGON another one is registered under."""

    key = "organisation.error-number-taken"


class AlreadyRepresenting(DomainError):
    """The user represents (or asked to represent) an organisation already."""

    key = "organisation.error-already"


def clean_text(value: str) -> str:
    """Collapse whitespace (names are one line) and enforce the 2-200 character limit."""
    cleaned = " ".join(value.split())
    if len(cleaned) < NAME_MIN:
        raise TooShort(min=NAME_MIN, length=len(cleaned))
    if len(cleaned) > NAME_MAX:
        raise TooLong(max=NAME_MAX, length=len(cleaned))
    return cleaned


def clean_krs(value: str) -> str:
    """Return the KRS number as ten digits, leading zeros kept: "KRS 0000-123 456" is read too
    (the prefix in any case, spaces and dashes inside are ignored)."""
    cleaned = KRS_PREFIX.sub("", value.strip())
    cleaned = "".join(cleaned.replace("-", " ").split())
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
