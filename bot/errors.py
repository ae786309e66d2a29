"""Domain exceptions: services raise them, handlers turn them into translated texts."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused the request; `key` names the message the user sees."""

    key = "error.generic"

    def __init__(self, **values: object) -> None:
        super().__init__(self.key, values)
        self.values = values


class ConsentRequired(DomainError):
    key = "error.consent-required"


class StaleButton(DomainError):
    key = "error.stale-button"


class NotAllowed(DomainError):
    key = "error.not-allowed"


class UnknownSector(DomainError):
    key = "error.unknown-sector"


class TeamSyncError(Exception):
    """The configured teams cannot be applied to the database (e.g. removing a team in use)."""
