"""Broadcasts' buttons: the /broadcast flow's and /broadcasts' cancel, typed (handlers/callbacks).

Every press is re-checked by its handler and the service: the data comes from the client."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.callbacks import Callback


@dataclass(frozen=True)
class Sector(Callback, prefix="bc:aud"):
    """Toggle one sector team in the audience: `bc:aud:<team>`."""

    team_id: int


@dataclass(frozen=True)
class Everyone(Callback, prefix="bc:aud:all"):
    """Toggle everyone subscribed to any team (admins only)."""


@dataclass(frozen=True)
class Next(Callback, prefix="bc:aud:done"):
    """The audience is chosen: ask for the message."""


@dataclass(frozen=True)
class Now(Callback, prefix="bc:now"):
    """Send at once (after the confirmation)."""


@dataclass(frozen=True)
class Later(Callback, prefix="bc:later"):
    """Send at a typed local date and time."""


@dataclass(frozen=True)
class Confirm(Callback, prefix="bc:confirm"):
    """Queue the broadcast."""


@dataclass(frozen=True)
class Abort(Callback, prefix="bc:abort"):
    """Drop the draft; nothing is stored."""


@dataclass(frozen=True)
class CancelBroadcast(Callback, prefix="bc:cancel"):
    """Cancel a queued or scheduled broadcast from /broadcasts: `bc:cancel:<broadcast>`."""

    broadcast_id: int
