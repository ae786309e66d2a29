"""Organisation's buttons: the /organisation flow's, stop representing, the admins' list of
requests, typed (handlers/callbacks). Accept / Decline is `views.organisations.DecideButton`.

Every press is re-checked by its handler and the service: the data comes from the client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from handlers.callbacks import Callback


@dataclass(frozen=True)
class Edit(Callback, prefix="org:edit"):
    """Edit the organisation's details (opens the conversation)."""


@dataclass(frozen=True)
class Leave(Callback, prefix="org:leave"):
    """Stop representing (or withdraw the request): asks to confirm. `org:leave:<organisation>`."""

    organisation_id: int


@dataclass(frozen=True)
class LeaveYes(Callback, prefix="org:leave-yes"):
    """The confirmation's Yes: `org:leave-yes:<organisation>`."""

    organisation_id: int


@dataclass(frozen=True)
class LeaveNo(Callback, prefix="org:leave-no"):
    """The confirmation's No: nothing changes."""


@dataclass(frozen=True)
class Requests(Callback, prefix="org:requests"):
    """For an admin: list the requests waiting for a decision."""


@dataclass(frozen=True)
class RegisterKind(Callback, prefix="org:type"):
    """The register the organisation is in: `org:type:<krs|other|none>`."""

    kind: Literal["krs", "other", "none"]


@dataclass(frozen=True)
class Keep(Callback, prefix="org:keep"):
    """While editing: keep the current value."""


@dataclass(frozen=True)
class Skip(Callback, prefix="org:skip"):
    """Skip an optional number (or remove it while editing)."""


@dataclass(frozen=True)
class Save(Callback, prefix="org:save"):
    """Save the summary."""


@dataclass(frozen=True)
class Cancel(Callback, prefix="org:cancel"):
    """Drop the draft; nothing is stored."""
