"""Postulates storage, the records: postulates, drafts, history, supports, prompts, calls."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from storage.models import Row

State = Literal[
    "submitted",
    "in_review",
    "clarification",
    "forwarded",
    "adopted",
    "not_adopted",
    "rejected",
    "duplicate",
    "withdrawn",
]
Step = Literal["sector", "behalf", "title", "content", "attachment", "similar", "preview"]
AttachmentType = Literal["document", "photo", "voice"]
PromptAction = Literal["reject", "ask", "duplicate", "adopt", "not_adopt", "answer", "call"]


class Postulate(Row):
    id: int
    reference: str
    draft_id: int
    team_id: int
    author_id: int | None
    organisation_id: int | None
    organisation_name: str | None
    call_id: int | None
    title: str
    content: str
    attachment_type: AttachmentType | None
    attachment_file_id: str | None
    state: State
    duplicate_of: int | None
    answer: str | None
    created_at: datetime
    updated_at: datetime
    supports: int = 0
    # Hidden from the public site by a moderator (bot/services/publication.py).
    hidden_at: datetime | None = None


class HistoryEntry(Row):
    id: int
    postulate_id: int
    at: datetime
    actor_id: int | None
    action: str
    from_state: str | None
    to_state: str
    note: str | None


class Support(Row):
    postulate_id: int
    user_id: int | None
    organisation_id: int | None
    organisation_name: str | None
    created_at: datetime


class Draft(Row):
    id: int
    user_id: int
    step: Step
    editing: bool
    paused: bool
    team_id: int | None
    organisation_id: int | None
    on_behalf: Literal["self", "organisation"] | None
    title: str | None
    content: str | None
    attachment_type: AttachmentType | None
    attachment_file_id: str | None
    created_at: datetime
    updated_at: datetime
    prompt_message_id: int | None = None


class Prompt(Row):
    user_id: int
    action: PromptAction
    postulate_id: int | None
    team_id: int | None
    created_at: datetime
    note: str | None = None
    message_id: int | None = None


class Call(Row):
    id: int
    team_id: int
    title: str
    deadline: datetime
    state: Literal["open", "closed"]
    opened_by: int
    created_at: datetime


# A postulate's columns and its support count; `p` is the postulates table.
POSTULATE_COLUMNS = """SELECT p.*, (SELECT count(*) FROM postulate_supports s
                              WHERE s.postulate_id = p.id) AS supports"""
POSTULATE_SELECT = f"{POSTULATE_COLUMNS} FROM postulates p"
