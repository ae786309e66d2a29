"""Schedule presentation: the typed buttons that open a meeting card."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.callbacks import Callback


@dataclass(frozen=True)
class OpenMeeting(Callback, prefix="sched:open"):
    """Open one meeting's card (from /meetings lists and notices)."""

    meeting_id: int
