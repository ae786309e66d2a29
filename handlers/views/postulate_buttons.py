"""Postulates' typed buttons: the draft's steps, the card's actions, the review's confirmation.

Every `pst:` and `rev:` button is a typed callback (handlers/callbacks.py); the data shapes are
the ones users already have on their screens (`pst:sector:3`, `rev:fwd:12`, `rev:to:12:4`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.services import postulates_review as reviews
from handlers.callbacks import Callback, Slug


@dataclass(frozen=True)
class OpenForReview(Callback, prefix="rev:open"):
    """Open a postulate's card for review (moderators, the coordinating team)."""

    postulate_id: int


@dataclass(frozen=True)
class AnswerQuestion(Callback, prefix="pst:answer"):
    """The author answers the reviewers' question about their postulate."""

    postulate_id: int


@dataclass(frozen=True)
class SubmitToCall(Callback, prefix="pst:new"):
    """Start a postulate in the sector of an open call (`pst:new:<slug>`)."""

    slug: Slug


# --- the draft's buttons (the author's private chat) ---


@dataclass(frozen=True)
class PickSector(Callback, prefix="pst:sector"):
    """The draft's sector."""

    team_id: int


@dataclass(frozen=True)
class OnBehalf(Callback, prefix="pst:behalf"):
    """Submit for the author's organisation or as themselves."""

    who: Literal["self", "organisation"]


@dataclass(frozen=True)
class EditField(Callback, prefix="pst:edit"):
    """Change one field from the preview."""

    field: Literal["sector", "title", "content", "attachment"]


@dataclass(frozen=True)
class DraftStep(Callback, prefix="pst"):
    """A step without a value: the content is complete, no attachment, go on, drop the draft."""

    step: Literal["done", "skip", "continue", "cancel"]


@dataclass(frozen=True)
class SupportSimilar(Callback, prefix="pst:support"):
    """Co-sign a similar postulate instead of submitting the draft."""

    postulate_id: int


@dataclass(frozen=True)
class Submit(Callback, prefix="pst:submit"):
    """Submit the previewed draft."""

    draft_id: int


# --- buttons on a postulate's card ---


@dataclass(frozen=True)
class Withdraw(Callback, prefix="pst:withdraw"):
    """The author withdraws their postulate."""

    postulate_id: int


@dataclass(frozen=True)
class OpenCard(Callback, prefix="pst:card"):
    """Open a postulate's card from /my_postulates or /postulates."""

    postulate_id: int


@dataclass(frozen=True)
class SupportCard(Callback, prefix="pst:sup"):
    """Co-sign the postulate on its card."""

    postulate_id: int


# Short codes keep `rev:<code>:<id>` well under 64 bytes; the codes are on users' screens.
ReviewCode = Literal["fwd", "rej", "ask", "dup", "mov", "yes", "no"]
ACTIONS: dict[str, reviews.Action] = {
    "fwd": "forward",
    "rej": "reject",
    "ask": "ask",
    "dup": "duplicate",
    "mov": "move",
    "yes": "adopt",
    "no": "not_adopt",
}
CODES: dict[str, ReviewCode] = {
    "forward": "fwd",
    "reject": "rej",
    "ask": "ask",
    "duplicate": "dup",
    "move": "mov",
    "adopt": "yes",
    "not_adopt": "no",
}


@dataclass(frozen=True)
class Review(Callback, prefix="rev"):
    """A reviewer's action on a postulate (forward at once; the others ask for a text)."""

    code: ReviewCode
    postulate_id: int

    @property
    def action(self) -> reviews.Action:
        """The state machine's name of the action."""
        return ACTIONS[self.code]


@dataclass(frozen=True)
class MoveTo(Callback, prefix="rev:to"):
    """Move a postulate to another sector."""

    postulate_id: int
    team_id: int


@dataclass(frozen=True)
class Attachment(Callback, prefix="rev:file"):
    """Send the postulate's attachment."""

    postulate_id: int


@dataclass(frozen=True)
class FullText(Callback, prefix="rev:full"):
    """Send a long card's whole text as a .txt file."""

    postulate_id: int


@dataclass(frozen=True)
class Take(Callback, prefix="rev:take"):
    """Take a submitted postulate into review (the author is told)."""

    postulate_id: int


# The confirmed actions; "wd" is the author's withdrawal.
ConfirmCode = Literal["fwd", "rej", "ask", "dup", "yes", "no", "wd"]
CONFIRM_ACTIONS: dict[str, reviews.Action] = {
    **{code: ACTIONS[code] for code in ("fwd", "rej", "ask", "dup", "yes", "no")},
    "wd": "withdraw",
}
CONFIRM_CODES: dict[str, ConfirmCode] = {
    "forward": "fwd",
    "reject": "rej",
    "ask": "ask",
    "duplicate": "dup",
    "adopt": "yes",
    "not_adopt": "no",
    "withdraw": "wd",
}


@dataclass(frozen=True)
class Confirm(Callback, prefix="rev:ok"):
    """Confirm the action shown with the notice it sends."""

    code: ConfirmCode
    postulate_id: int

    @property
    def action(self) -> reviews.Action:
        """The state machine's name of the action."""
        return CONFIRM_ACTIONS[self.code]


@dataclass(frozen=True)
class Back(Callback, prefix="rev:back"):
    """Give up the action under way and show the card again."""

    postulate_id: int


AUTHOR_BUTTONS = (AnswerQuestion, Withdraw, OpenCard)
DRAFT_BUTTONS = (PickSector, OnBehalf, EditField, DraftStep, SupportSimilar, Submit, SubmitToCall)
REVIEW_BUTTONS = (OpenForReview, Review, MoveTo, Attachment, FullText, Take, Confirm, Back)
