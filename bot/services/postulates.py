"""Postulates: the resumable submission draft, the review state machine, supports and calls.

Every rule lives here, inside one `db.run` unit per use case, and every change of state
queues its notices (author: `postulate-status`; sector moderators: `moderator-alert`) in the
same transaction through the delivery engine.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.config import Language
from bot.errors import ConsentRequired, DomainError, NotAllowed, StaleButton
from bot.services import audit, delivery
from storage.database import Database
from storage.models import Team
from storage.postulates import Call, Draft, HistoryEntry, Postulate, Prompt, Support
from storage.unit import Unit

TITLE_LIMITS = (5, 150)
CONTENT_LIMITS = (20, 3500)
NOTE_LIMITS = (3, 2000)
ATTACHMENT_TYPES = ("document", "photo", "voice")
# Postulates that may still be co-signed or offered as "similar".
LIVE = ("submitted", "in_review", "clarification", "forwarded", "adopted")
REVIEW_QUEUE = ("submitted", "in_review")
DECISION_QUEUE = ("forwarded",)
EDITABLE_FIELDS = ("sector", "title", "content", "attachment")


def _moderator_recipients(unit: Unit, team_id: int) -> list[tuple[int, Language]]:
    """Resolver `team-moderators`: the sector's moderators and the admins."""
    return [
        (chat_id, "pl" if language == "pl" else "en")
        for chat_id, language in unit.postulates.list_team_moderator_recipients(team_id)
    ]


def register(registry: delivery.Registry) -> None:
    """Postulates' audience (a sector's moderators) and notice kinds for the delivery engine."""
    registry.add_audience("team-moderators", _moderator_recipients)
    registry.add_kinds("news", CALL_OPENED_KIND)
    registry.add_kinds("reminder", CALL_REMINDER_KIND)
    registry.add_kinds("transactional", DRAFT_EXPIRED_KIND, STATUS_KIND, ALERT_KIND)


# --- domain errors --------------------------------------------------------------------------


class InvalidInput(DomainError):
    """The typed value breaks a limit; the step is asked again."""

    key = "postulates.error-input"

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(**values)
        self.key = key


class WrongState(DomainError):
    key = "postulates.error-state"


class SubmissionsClosed(DomainError):
    key = "postulates.error-no-call"


class NotRepresentative(DomainError):
    """On behalf of an organisation the author no longer represents (accepted)."""

    key = "organisation.error-not-representing"


class CannotSupport(DomainError):
    key = "postulates.error-support"

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


# --- settings -------------------------------------------------------------------------------


class Settings(BaseModel):
    """What the rules read from the configuration."""

    model_config = ConfigDict(frozen=True)

    accept_outside_calls: bool = True
    draft_idle_hours: int = 24
    notice_version: int = 1


# --- drafting -------------------------------------------------------------------------------

EventName = Literal[
    "start",
    "text",
    "attachment",
    "unsupported",
    "sector",
    "behalf",
    "done",
    "skip",
    "continue",
    "support",
    "edit",
    "submit",
    "cancel",
]


class DraftEvent(BaseModel):
    """One thing the author did in the submission conversation."""

    model_config = ConfigDict(frozen=True)

    name: EventName
    text: str = ""
    number: int = 0
    kind: str = ""
    slug: str | None = None


class DraftOutcome(BaseModel):
    """Where the conversation stands after an event, with what the next prompt needs."""

    model_config = ConfigDict(frozen=True)

    draft: Draft | None
    problem: str | None = None
    problem_values: dict[str, str | int] = {}
    sectors: tuple[Team, ...] = ()
    team: Team | None = None
    organisation_name: str | None = None
    # The organisation the author asked to represent, while that request waits: they
    # submit as themselves and are told why.
    pending_organisation_name: str | None = None
    similar: tuple[Postulate, ...] = ()
    calls: tuple[Call, ...] = ()
    submitted: Postulate | None = None
    supported: Postulate | None = None
    cancelled: bool = False
    resumed: bool = False


def clean(value: str) -> str:
    """Trim surrounding blanks; the author's words, capitals and punctuation stay."""
    return value.strip()


def _check_length(value: str, limits: tuple[int, int], name: str) -> str:
    value = clean(value)
    low, high = limits
    if not value:
        raise InvalidInput("postulates.error-empty")
    if len(value) < low:
        raise InvalidInput(f"postulates.error-{name}-short", minimum=low, length=len(value))
    if len(value) > high:
        raise InvalidInput(f"postulates.error-{name}-long", maximum=high, length=len(value))
    return value


def _require_consent(unit: Unit, user_id: int, notice_version: int) -> None:
    user = unit.users.get_user(user_id)
    if user is None or user.consent_version is None or user.consent_version < notice_version:
        raise ConsentRequired()


def _sector(unit: Unit, team_id: int | None) -> Team:
    team = unit.teams.get_team(team_id) if team_id is not None else None
    if team is None or team.kind != "sector":
        raise StaleButton()
    return team


def _open_call_check(unit: Unit, team_id: int, settings: Settings, now: datetime) -> Call | None:
    call = unit.postulates.get_open_call(team_id, now)
    if call is None and not settings.accept_outside_calls:
        raise SubmissionsClosed()
    return call


def _outcome(unit: Unit, draft: Draft | None, **extra: object) -> DraftOutcome:
    values: dict[str, object] = {"draft": draft}
    if draft is not None:
        if draft.step == "sector" or extra.get("problem") is not None:
            values["sectors"] = tuple(unit.teams.list_teams("sector"))
            values["calls"] = tuple(unit.postulates.list_open_calls(draft.updated_at))
        if draft.team_id is not None:
            values["team"] = unit.teams.get_team(draft.team_id)
        if draft.organisation_id is not None:
            values["organisation_name"] = unit.postulates.get_organisation_name(
                draft.organisation_id
            )
        elif draft.step == "title":
            values["pending_organisation_name"] = unit.organisations.get_pending_organisation_name(
                draft.user_id
            )
        if draft.step == "similar" and draft.team_id is not None:
            values["similar"] = tuple(
                unit.postulates.list_similar(
                    draft.team_id, draft.content or "", title=draft.title or ""
                )
            )
    values.update(extra)
    return DraftOutcome.model_validate(values)


def _after_field(unit: Unit, draft: Draft, now: datetime) -> Draft:
    """Go on from a completed field: back to the preview when editing, else the next step."""
    if draft.editing:
        return unit.postulates.update_draft(draft.id, now, step="preview", editing=0)
    order = {"sector": "behalf", "behalf": "title", "title": "content", "content": "attachment"}
    step = order.get(draft.step)
    if step == "behalf" and draft.organisation_id is None:
        return unit.postulates.update_draft(draft.id, now, step="title", on_behalf="self")
    if step is not None:
        return unit.postulates.update_draft(draft.id, now, step=step)
    return _to_similar_or_preview(unit, draft, now)


async def refresh_common_words(db: Database) -> int:
    """Note again which words most postulates use (the similar search leaves them out)."""
    # The whole vocabulary is read beside the writer; only the short list is written.
    words = await db.read(lambda unit: unit.postulates.list_common_words())
    await db.run(_replace_common_words, words)
    return len(words)


def _replace_common_words(unit: Unit, words: dict[str, int]) -> None:
    unit.postulates.replace_common_words(words)


def _to_similar_or_preview(unit: Unit, draft: Draft, now: datetime) -> Draft:
    assert draft.team_id is not None
    similar = unit.postulates.list_similar(
        draft.team_id, draft.content or "", title=draft.title or ""
    )
    step = "similar" if similar else "preview"
    return unit.postulates.update_draft(draft.id, now, step=step, editing=0)


def _expire(unit: Unit, draft: Draft, now: datetime) -> None:
    unit.postulates.delete_draft(draft.id)
    delivery.announce(
        unit,
        kind=DRAFT_EXPIRED_KIND,
        audience="user",
        audience_id=draft.user_id,
        data=DraftExpired(draft_id=draft.id),
        now=now,
        subject=f"draft:{draft.id}",
    )


def _live_draft(unit: Unit, user_id: int, settings: Settings, now: datetime) -> Draft | None:
    draft = unit.postulates.get_draft(user_id)
    if draft is not None and draft.updated_at < now - timedelta(hours=settings.draft_idle_hours):
        _expire(unit, draft, now)
        return None
    return draft


def _start(
    unit: Unit,
    user_id: int,
    event: DraftEvent,
    settings: Settings,
    now: datetime,
) -> DraftOutcome:
    _require_consent(unit, user_id, settings.notice_version)
    draft = _live_draft(unit, user_id, settings, now)
    if draft is not None and event.slug is None:
        draft = unit.postulates.update_draft(draft.id, now, paused=0)
        return _outcome(unit, draft, resumed=True)
    user = unit.users.get_user(user_id)
    organisation_id = user.organisation_id if user is not None else None
    draft = unit.postulates.add_draft(user_id, now)
    draft = unit.postulates.update_draft(draft.id, now, organisation_id=organisation_id)
    if event.slug is not None:
        team = unit.teams.get_team_by_slug(event.slug)
        if team is not None and team.kind == "sector":
            _open_call_check(unit, team.id, settings, now)
            draft = unit.postulates.update_draft(draft.id, now, team_id=team.id)
            draft = _after_field(unit, draft, now)
    return _outcome(unit, draft)


def _submit(
    unit: Unit,
    user_id: int,
    draft: Draft | None,
    draft_id: int,
    settings: Settings,
    now: datetime,
) -> DraftOutcome:
    done = unit.postulates.get_postulate_by_draft(draft_id)
    if done is not None and done.author_id != user_id:
        raise StaleButton()  # someone else's draft number: reveal nothing
    if done is not None:
        # A double press or a retried update: the first submission stands, nothing new.
        return DraftOutcome(draft=None, submitted=done)
    if (
        draft is None
        or draft.id != draft_id
        or draft.step != "preview"
        or draft.team_id is None
        or not draft.title
        or not draft.content
    ):
        raise StaleButton()
    call = _open_call_check(unit, draft.team_id, settings, now)
    organisation_id = draft.organisation_id if draft.on_behalf == "organisation" else None
    author = unit.users.get_user(user_id)
    if organisation_id is not None and (
        author is None or author.organisation_id != organisation_id
    ):
        # Left, or was removed, since the draft began: only accepted representatives submit.
        raise NotRepresentative()
    organisation_name = (
        unit.postulates.get_organisation_name(organisation_id) if organisation_id else None
    )
    postulate = unit.postulates.add_postulate(
        reference=unit.postulates.next_reference(now.year),
        draft_id=draft.id,
        team_id=draft.team_id,
        author_id=draft.user_id,
        organisation_id=organisation_id,
        organisation_name=organisation_name,
        call_id=call.id if call is not None else None,
        title=draft.title,
        content=draft.content,
        attachment_type=draft.attachment_type,
        attachment_file_id=draft.attachment_file_id,
        now=now,
    )
    unit.postulates.add_history(
        postulate.id,
        actor_id=draft.user_id,
        action="submit",
        from_state=None,
        to_state="submitted",
        note=None,
        now=now,
    )
    unit.postulates.delete_draft(draft.id)
    _notify_author(unit, postulate, now, "submitted")
    _alert_moderators(unit, postulate, postulate.team_id, now, "new")
    return DraftOutcome(draft=None, submitted=postulate)


def _step(
    unit: Unit,
    user_id: int,
    event: DraftEvent,
    settings: Settings,
    now: datetime,
) -> DraftOutcome:
    if event.name == "start":
        return _start(unit, user_id, event, settings, now)
    draft = _live_draft(unit, user_id, settings, now)
    if event.name == "submit":
        return _submit(unit, user_id, draft, event.number, settings, now)
    if draft is None:
        raise StaleButton()
    if event.name == "cancel":
        unit.postulates.delete_draft(draft.id)
        return DraftOutcome(draft=None, cancelled=True)
    try:
        return _outcome(unit, _apply(unit, draft, event, settings, now))
    except InvalidInput as problem:
        values = {k: v for k, v in problem.values.items() if isinstance(v, str | int)}
        return _outcome(unit, draft, problem=problem.key, problem_values=values)


def _apply(unit: Unit, draft: Draft, event: DraftEvent, settings: Settings, now: datetime) -> Draft:
    step = draft.step
    name = event.name
    if name == "sector" and step == "sector":
        team = _sector(unit, event.number)
        try:
            _open_call_check(unit, team.id, settings, now)
        except SubmissionsClosed:
            raise InvalidInput("postulates.error-no-call") from None
        draft = unit.postulates.update_draft(draft.id, now, team_id=team.id)
        return _after_field(unit, draft, now)
    if name == "behalf" and step == "behalf" and event.kind in ("self", "organisation"):
        draft = unit.postulates.update_draft(draft.id, now, on_behalf=event.kind)
        return _after_field(unit, draft, now)
    if name == "text" and step == "title":
        title = _check_length(event.text, TITLE_LIMITS, "title")
        draft = unit.postulates.update_draft(draft.id, now, title=title)
        return _after_field(unit, draft, now)
    if name == "text" and step == "content":
        part = clean(event.text)
        if not part:
            raise InvalidInput("postulates.error-empty")
        content = f"{draft.content}\n{part}" if draft.content else part
        if len(content) > CONTENT_LIMITS[1]:
            raise InvalidInput(
                "postulates.error-content-long", maximum=CONTENT_LIMITS[1], length=len(content)
            )
        return unit.postulates.update_draft(draft.id, now, content=content)
    if name == "done" and step == "content":
        _check_length(draft.content or "", CONTENT_LIMITS, "content")
        return _after_field(unit, draft, now)
    if name == "attachment" and step == "attachment" and event.kind in ATTACHMENT_TYPES:
        draft = unit.postulates.update_draft(
            draft.id, now, attachment_type=event.kind, attachment_file_id=event.text
        )
        return _after_field(unit, draft, now)
    if name == "skip" and step == "attachment":
        draft = unit.postulates.update_draft(
            draft.id, now, attachment_type=None, attachment_file_id=None
        )
        return _after_field(unit, draft, now)
    if name == "unsupported" and step == "attachment":
        raise InvalidInput("postulates.error-attachment-type")
    if name == "continue" and step == "similar":
        return unit.postulates.update_draft(draft.id, now, step="preview")
    if name == "edit" and step == "preview" and event.kind in EDITABLE_FIELDS:
        if event.kind == "content":
            return unit.postulates.update_draft(
                draft.id, now, step="content", content=None, editing=1
            )
        return unit.postulates.update_draft(draft.id, now, step=event.kind, editing=1)
    if name in ("text", "attachment", "unsupported"):
        # Typed at a step that expects a button, or an attachment at a text step.
        raise InvalidInput(f"postulates.error-expected-{step}")
    raise StaleButton()


async def draft_step(
    db: Database,
    user_id: int,
    event: DraftEvent,
    settings: Settings,
    now: datetime,
) -> DraftOutcome:
    """Apply one event to the user's draft; bad input re-asks the same step."""
    if event.name == "support":
        supported = await support(db, user_id, event.number, settings, now, drop_draft=True)
        return DraftOutcome(draft=None, supported=supported)
    return await db.run(_step, user_id, event, settings, now)


class Capture(BaseModel):
    """What an incoming private message belongs to, if anything of this feature."""

    model_config = ConfigDict(frozen=True)

    draft: Draft | None = None
    prompt: Prompt | None = None


def _capture(
    unit: Unit,
    user_id: int,
    command: str | None,
    settings: Settings,
    now: datetime,
) -> Capture:
    prompt = unit.postulates.get_prompt(user_id)
    draft = _live_draft(unit, user_id, settings, now)
    if command is not None:
        if command == "cancel":
            if prompt is not None:
                unit.postulates.delete_prompt(user_id)
                return Capture(prompt=prompt)
            if draft is not None and not draft.paused:
                unit.postulates.delete_draft(draft.id)
                return Capture(draft=draft)
            return Capture()
        # Another command: stop taking text, so other features' conversations get it.
        if prompt is not None:
            unit.postulates.delete_prompt(user_id)
        if draft is not None and not draft.paused and command != "postulate":
            unit.postulates.update_draft(draft.id, now, paused=1)
        return Capture()
    if prompt is not None:
        return Capture(prompt=prompt)
    if draft is not None and not draft.paused:
        return Capture(draft=draft)
    return Capture()


async def capture(
    db: Database,
    user_id: int,
    command: str | None,
    settings: Settings,
    now: datetime,
) -> Capture:
    """Tell whether a private message continues a draft or answers a prompt.

    A command pauses the draft (and drops a prompt) so that it stops taking text; `/cancel`
    removes whichever is active and is reported back.
    """
    return await db.run(_capture, user_id, command, settings, now)


def _expire_drafts(unit: Unit, idle_hours: int, now: datetime) -> int:
    drafts = unit.postulates.list_idle_drafts(now - timedelta(hours=idle_hours))
    for draft in drafts:
        _expire(unit, draft, now)
    return len(drafts)


def expire_drafts(unit: Unit, now: datetime, idle_hours: int = 24) -> int:
    """Drop drafts idle too long and tell each author once; for the dispatcher's unit."""
    return _expire_drafts(unit, idle_hours, now)


async def expire_idle_drafts(db: Database, idle_hours: int, now: datetime) -> int:
    """Drop drafts idle too long and tell each author once; return how many."""
    return await db.run(_expire_drafts, idle_hours, now)


# --- notices --------------------------------------------------------------------------------
# Queued as data; each face renders them (Telegram: handlers/views/postulates.py).

DRAFT_EXPIRED_KIND = "draft-expired"
STATUS_KIND = "postulate-status"
ALERT_KIND = "moderator-alert"
CALL_OPENED_KIND = "call-opened"
CALL_REMINDER_KIND = "call-reminder"


class DraftExpired(BaseModel):
    """Notice data: the author's draft was idle too long and is gone."""

    model_config = ConfigDict(frozen=True)

    draft_id: int


class StatusNotice(BaseModel):
    """Notice data for the author: what happened to their postulate (`event`: 'submitted' or
    the review action) and the answer that came with it."""

    model_config = ConfigDict(frozen=True)

    event: str
    postulate_id: int
    reference: str
    title: str
    state: str
    team: Team
    note: str | None = None


class ModeratorAlert(BaseModel):
    """Notice data for a sector's moderators (or the coordinating team)."""

    model_config = ConfigDict(frozen=True)

    event: Literal["new", "answered", "withdrawn", "forwarded", "moved"]
    postulate_id: int
    reference: str
    title: str
    team: Team  # the postulate's sector


class CallNotice(BaseModel):
    """Notice data: a call for postulates opened in a sector (or closes in 48 hours)."""

    model_config = ConfigDict(frozen=True)

    call_id: int
    title: str
    team: Team
    deadline: datetime


def _team(unit: Unit, team_id: int) -> Team:
    team = unit.teams.get_team(team_id)
    assert team is not None  # a postulate's sector is a foreign key
    return team


def _notify_author(
    unit: Unit, postulate: Postulate, now: datetime, event: str, note: str | None = None
) -> None:
    if postulate.author_id is None:
        return
    delivery.announce(
        unit,
        kind=STATUS_KIND,
        audience="user",
        audience_id=postulate.author_id,
        data=StatusNotice(
            event=event,
            postulate_id=postulate.id,
            reference=postulate.reference,
            title=postulate.title,
            state=postulate.state,
            team=_team(unit, postulate.team_id),
            note=note or None,
        ),
        now=now,
        subject=f"postulate:{postulate.id}",
    )


def _alert_moderators(
    unit: Unit,
    postulate: Postulate,
    team_id: int,
    now: datetime,
    event: Literal["new", "answered", "withdrawn", "forwarded", "moved"],
    actor_id: int | None = None,
) -> None:
    delivery.announce(
        unit,
        kind=ALERT_KIND,
        audience="team-moderators",
        audience_id=team_id,
        data=ModeratorAlert(
            event=event,
            postulate_id=postulate.id,
            reference=postulate.reference,
            title=postulate.title,
            team=_team(unit, postulate.team_id),
        ),
        now=now,
        subject=f"postulate:{postulate.id}",
        created_by=actor_id,
    )


# --- review state machine -----------------------------------------------------------------

Action = Literal[
    "open",
    "forward",
    "reject",
    "ask",
    "duplicate",
    "move",
    "answer",
    "adopt",
    "not_adopt",
    "withdraw",
]
Role = Literal["moderator", "admin", "author"]

# action -> (states it applies to, state it leads to (None: unchanged), who may do it, note)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None, Role, bool]] = {
    "open": (frozenset({"submitted"}), "in_review", "moderator", False),
    "forward": (frozenset({"submitted", "in_review"}), "forwarded", "moderator", False),
    "reject": (
        frozenset({"submitted", "in_review", "clarification"}),
        "rejected",
        "moderator",
        True,
    ),
    "ask": (frozenset({"submitted", "in_review"}), "clarification", "moderator", True),
    "duplicate": (
        frozenset({"submitted", "in_review", "clarification"}),
        "duplicate",
        "moderator",
        True,
    ),
    "move": (frozenset({"submitted", "in_review", "clarification"}), None, "moderator", False),
    "answer": (frozenset({"clarification"}), "in_review", "author", True),
    "adopt": (frozenset({"forwarded"}), "adopted", "admin", True),
    "not_adopt": (frozenset({"forwarded"}), "not_adopted", "admin", True),
    "withdraw": (
        frozenset({"submitted", "in_review", "clarification", "forwarded"}),
        "withdrawn",
        "author",
        False,
    ),
}
PROMPTED: frozenset[str] = frozenset({"reject", "ask", "duplicate", "adopt", "not_adopt", "answer"})


def may(unit: Unit, user_id: int, action: str, postulate: Postulate) -> bool:
    """Whether the user may take `action` on the postulate now (roles read from the database)."""
    states, _, role, _ = TRANSITIONS[action]
    if postulate.state not in states:
        return False
    if role == "author":
        return postulate.author_id == user_id
    if postulate.author_id == user_id:
        return False  # nobody decides on their own postulate
    admin = unit.roles.is_admin(user_id)
    if role == "admin":
        return admin
    return admin or postulate.team_id in unit.roles.list_moderated_team_ids(user_id)


def _allowed(unit: Unit, user_id: int, action: str, postulate_id: int) -> Postulate:
    postulate = unit.postulates.get_postulate(postulate_id)
    if postulate is None:
        raise StaleButton()
    if not may(unit, user_id, action, postulate):
        states = TRANSITIONS[action][0]
        raise WrongState() if postulate.state not in states else NotAllowed()
    return postulate


def _transition(
    unit: Unit,
    user_id: int,
    action: str,
    postulate_id: int,
    now: datetime,
    note: str | None = None,
    target: int | None = None,
) -> Postulate:
    postulate = _allowed(unit, user_id, action, postulate_id)
    _, to_state, _, needs_note = TRANSITIONS[action]
    if needs_note:
        note = _check_length(note or "", NOTE_LIMITS, "note")
    duplicate_of: Postulate | None = None
    team_id: int | None = None
    if action == "duplicate":
        assert note is not None
        duplicate_of = unit.postulates.get_postulate_by_reference(note.strip())
        if duplicate_of is None or duplicate_of.id == postulate.id:
            raise InvalidInput("postulates.error-reference", reference=note)
    if action == "move":
        team = _sector(unit, target)
        if team.id == postulate.team_id:
            raise StaleButton()
        team_id = team.id
        note = team.slug
    new_state = to_state or postulate.state
    unit.postulates.update_postulate(
        postulate.id,
        now,
        state=new_state,
        answer=note if action not in ("answer", "duplicate", "move") else None,
        team_id=team_id,
        duplicate_of=duplicate_of.id if duplicate_of is not None else None,
    )
    unit.postulates.add_history(
        postulate.id,
        actor_id=user_id,
        action=action,
        from_state=postulate.state,
        to_state=new_state,
        note=note,
        now=now,
    )
    unit.postulates.delete_prompt(user_id)
    if TRANSITIONS[action][2] != "author":
        audit.record(
            unit,
            actor_id=user_id,
            action="postulate.review",
            target=f"postulate:{postulate.reference}",
            details={"action": action, "from": postulate.state, "to": new_state, "note": note},
            now=now,
        )
    changed = unit.postulates.get_postulate(postulate.id)
    assert changed is not None
    if action == "answer":
        _alert_moderators(unit, changed, changed.team_id, now, "answered", user_id)
    elif action == "withdraw":
        # The reviewers may be in the middle of it; the coordinating team too once forwarded.
        alert_team = changed.team_id
        if postulate.state == "forwarded":
            alert_team = unit.teams.list_teams("coordination")[0].id
        _alert_moderators(unit, changed, alert_team, now, "withdrawn", user_id)
    else:
        # The author of an 'ask' gets an Answer button with it (drawn by each face).
        _notify_author(unit, changed, now, action, note if action != "move" else None)
    if action == "forward":
        coordination = unit.teams.list_teams("coordination")
        for team in coordination:
            _alert_moderators(unit, changed, team.id, now, "forwarded", user_id)
    if action == "move" and team_id is not None:
        _alert_moderators(unit, changed, team_id, now, "moved", user_id)
    return changed


async def act(
    db: Database,
    user_id: int,
    action: Action,
    postulate_id: int,
    now: datetime,
    *,
    note: str | None = None,
    target: int | None = None,
) -> Postulate:
    """Take a review, decision or author action; the role and state are checked here."""
    return await db.run(_transition, user_id, action, postulate_id, now, note, target)


def _prepare(unit: Unit, user_id: int, action: str, postulate_id: int, now: datetime) -> Postulate:
    postulate = _allowed(unit, user_id, action, postulate_id)
    unit.postulates.set_prompt(user_id, action, now, postulate_id=postulate.id)
    return postulate


async def prepare(
    db: Database, user_id: int, action: Action, postulate_id: int, now: datetime
) -> Postulate:
    """Check an action that needs a text and wait for the user's next message."""
    if action not in PROMPTED:
        raise StaleButton()
    return await db.run(_prepare, user_id, action, postulate_id, now)


# --- views ----------------------------------------------------------------------------------


class Card(BaseModel):
    """One postulate as a reviewer or its author sees it, with the actions allowed now."""

    model_config = ConfigDict(frozen=True)

    postulate: Postulate
    team: Team
    history: tuple[HistoryEntry, ...]
    supports: tuple[Support, ...]
    actions: tuple[str, ...]
    duplicate_reference: str | None = None
    sectors: tuple[Team, ...] = ()
    can_support: bool = False


def _may_support(unit: Unit, user_id: int, postulate: Postulate) -> bool:
    user = unit.users.get_user(user_id)
    organisation_id = user.organisation_id if user is not None else None
    if organisation_id is None or postulate.state not in LIVE:
        return False
    if postulate.author_id == user_id or postulate.organisation_id == organisation_id:
        return False
    return all(
        s.organisation_id != organisation_id for s in unit.postulates.list_supports(postulate.id)
    )


def _card(unit: Unit, user_id: int, postulate: Postulate) -> Card:
    team = unit.teams.get_team(postulate.team_id)
    assert team is not None
    duplicate = (
        unit.postulates.get_postulate(postulate.duplicate_of) if postulate.duplicate_of else None
    )
    return Card(
        postulate=postulate,
        team=team,
        history=tuple(unit.postulates.list_history(postulate.id)),
        supports=tuple(unit.postulates.list_supports(postulate.id)),
        actions=tuple(a for a in TRANSITIONS if a != "open" and may(unit, user_id, a, postulate)),
        duplicate_reference=duplicate.reference if duplicate is not None else None,
        sectors=tuple(t for t in unit.teams.list_teams("sector") if t.id != postulate.team_id),
        can_support=_may_support(unit, user_id, postulate),
    )


def _open(unit: Unit, user_id: int, postulate_id: int, now: datetime) -> Card:
    postulate = unit.postulates.get_postulate(postulate_id)
    if postulate is None:
        raise StaleButton()
    if may(unit, user_id, "open", postulate):
        postulate = _transition(unit, user_id, "open", postulate_id, now)
    elif not _can_see(unit, user_id, postulate):
        raise NotAllowed()
    return _card(unit, user_id, postulate)


def _can_see(unit: Unit, user_id: int, postulate: Postulate) -> bool:
    if postulate.author_id == user_id or unit.roles.is_admin(user_id):
        return True
    return postulate.team_id in unit.roles.list_moderated_team_ids(user_id)


async def open_card(db: Database, user_id: int, postulate_id: int, now: datetime) -> Card:
    """Show a postulate; a reviewer's first look moves it from submitted to in review."""
    return await db.run(_open, user_id, postulate_id, now)


def _peek(unit: Unit, user_id: int, postulate_id: int) -> Card:
    postulate = unit.postulates.get_postulate(postulate_id)
    if postulate is None:
        raise StaleButton()
    if may(unit, user_id, "open", postulate):
        # Opening allows the same actions in both states; only the state shown changes.
        opened = postulate.model_copy(update={"state": TRANSITIONS["open"][1]})
        return _card(unit, user_id, postulate).model_copy(update={"postulate": opened})
    if not _can_see(unit, user_id, postulate):
        raise NotAllowed()
    return _card(unit, user_id, postulate)


async def peek_card(db: Database, user_id: int, postulate_id: int) -> Card:
    """The card `open_card` would show, changing nothing: send it first, then open_card."""
    return await db.run(_peek, user_id, postulate_id)


class Queue(BaseModel):
    """The reviewer's queue: oldest first, with counts per state."""

    model_config = ConfigDict(frozen=True)

    review: tuple[Postulate, ...]
    decisions: tuple[Postulate, ...]
    counts: dict[str, int]
    is_admin: bool
    is_moderator: bool


def _queue(unit: Unit, user_id: int, limit: int) -> Queue:
    admin = unit.roles.is_admin(user_id)
    sectors = [t.id for t in unit.teams.list_teams("sector")]
    mine = sectors if admin else sorted(unit.roles.list_moderated_team_ids(user_id))
    review = unit.postulates.list_postulates(team_ids=mine, states=list(REVIEW_QUEUE), limit=limit)
    decisions = (
        unit.postulates.list_postulates(states=list(DECISION_QUEUE), limit=limit) if admin else []
    )
    return Queue(
        review=tuple(review),
        decisions=tuple(decisions),
        counts=unit.postulates.count_by_state(mine),
        is_admin=admin,
        is_moderator=admin or bool(mine),
    )


async def review_queue(db: Database, user_id: int, limit: int = 20) -> Queue:
    """Return the postulates waiting for the user as moderator or admin."""
    return await db.run(_queue, user_id, limit)


def _mine(unit: Unit, user_id: int) -> list[Card]:
    postulates = unit.postulates.list_postulates(author_id=user_id)
    return [_card(unit, user_id, p) for p in reversed(postulates)]


async def my_postulates(db: Database, user_id: int) -> list[Card]:
    """Return the user's postulates, newest first, with what they may still do."""
    return await db.run(_mine, user_id)


async def card(db: Database, user_id: int, postulate_id: int) -> Card:
    """Show one postulate to someone allowed to see it."""

    def view(unit: Unit) -> Card:
        postulate = unit.postulates.get_postulate(postulate_id)
        if postulate is None:
            raise StaleButton()
        # Live postulates are public to members (so organisations can co-sign them).
        if postulate.state not in LIVE and not _can_see(unit, user_id, postulate):
            raise NotAllowed()
        return _card(unit, user_id, postulate)

    return await db.run(view)


def _browse(unit: Unit, user_id: int, limit: int) -> list[Postulate]:
    followed = sorted(unit.subscriptions.list_subscribed_team_ids(user_id))
    team_ids = followed or [t.id for t in unit.teams.list_teams("sector")]
    found = unit.postulates.list_postulates(team_ids=team_ids, states=list(LIVE))
    others = [p for p in found if p.author_id != user_id]
    return list(reversed(others))[:limit]


async def browse(db: Database, user_id: int, limit: int = 20) -> list[Postulate]:
    """Live postulates of the sectors I follow (all sectors if none), newest first."""
    return await db.run(_browse, user_id, limit)


# --- supports -------------------------------------------------------------------------------


def _support(
    unit: Unit,
    user_id: int,
    postulate_id: int,
    settings: Settings,
    now: datetime,
    drop_draft: bool,
) -> Postulate:
    _require_consent(unit, user_id, settings.notice_version)
    postulate = unit.postulates.get_postulate(postulate_id)
    if postulate is None:
        raise StaleButton()
    user = unit.users.get_user(user_id)
    organisation_id = user.organisation_id if user is not None else None
    if organisation_id is None and unit.organisations.get_pending_organisation_name(user_id):
        raise CannotSupport("organisation.pending-cannot-support")
    if organisation_id is None:
        raise CannotSupport("postulates.error-support-no-organisation")
    if postulate.author_id == user_id or postulate.organisation_id == organisation_id:
        raise CannotSupport("postulates.error-support-own")
    if postulate.state not in LIVE:
        raise CannotSupport("postulates.error-support-closed")
    name = unit.postulates.get_organisation_name(organisation_id)
    if not unit.postulates.add_support(
        postulate.id,
        user_id=user_id,
        organisation_id=organisation_id,
        organisation_name=name,
        now=now,
    ):
        raise CannotSupport("postulates.error-support-twice")
    if drop_draft:
        draft = unit.postulates.get_draft(user_id)
        if draft is not None:
            unit.postulates.delete_draft(draft.id)
    changed = unit.postulates.get_postulate(postulate.id)
    assert changed is not None
    return changed


async def support(
    db: Database,
    user_id: int,
    postulate_id: int,
    settings: Settings,
    now: datetime,
    *,
    drop_draft: bool = False,
) -> Postulate:
    """Co-sign a postulate on behalf of the user's organisation (once per organisation)."""
    return await db.run(_support, user_id, postulate_id, settings, now, drop_draft)


async def support_by_reference(
    db: Database, user_id: int, reference: str, settings: Settings, now: datetime
) -> Postulate:
    """Co-sign the postulate with this reference (e.g. P-2026-0042)."""

    def change(unit: Unit) -> Postulate:
        postulate = unit.postulates.get_postulate_by_reference(reference.strip())
        if postulate is None:
            raise InvalidInput("postulates.error-reference", reference=reference)
        return _support(unit, user_id, postulate.id, settings, now, False)

    return await db.run(change)


async def drop_prompt(db: Database, user_id: int) -> None:
    """Stop waiting for the user's text (the action it was for is no longer possible)."""
    await db.run(lambda unit: unit.postulates.delete_prompt(user_id))


# --- calls for postulates -------------------------------------------------------------------

CALL_REMINDER = timedelta(hours=48)


def _open_call(
    unit: Unit,
    user_id: int,
    slug: str,
    title: str,
    deadline: datetime,
    now: datetime,
) -> Call:
    team = unit.teams.get_team_by_slug(slug)
    if team is None or team.kind != "sector":
        raise InvalidInput("postulates.error-call-sector", slug=slug)
    admin = unit.roles.is_admin(user_id)
    if not admin and team.id not in unit.roles.list_moderated_team_ids(user_id):
        raise NotAllowed()
    title = _check_length(title, (3, 150), "call-title")
    if deadline <= now:
        raise InvalidInput("postulates.error-call-deadline")
    call = unit.postulates.add_call(
        team_id=team.id, title=title, deadline=deadline, opened_by=user_id, now=now
    )
    audit.record(
        unit,
        actor_id=user_id,
        action="postulate.call",
        target=f"call:{call.id}",
        details={"sector": team.slug, "title": title, "deadline": deadline.isoformat()},
        now=now,
    )

    notice = CallNotice(call_id=call.id, title=title, team=team, deadline=deadline)
    subject = f"call:{call.id}"
    delivery.announce(
        unit,
        kind=CALL_OPENED_KIND,
        audience="team",
        audience_id=team.id,
        data=notice,
        now=now,
        expires_at=deadline,
        subject=subject,
        created_by=user_id,
    )
    if deadline - CALL_REMINDER > now:
        delivery.announce(
            unit,
            kind=CALL_REMINDER_KIND,
            audience="team",
            audience_id=team.id,
            data=notice,
            now=now,
            due_at=deadline - CALL_REMINDER,
            expires_at=deadline,
            subject=subject,
            created_by=user_id,
        )
    return call


async def open_call(
    db: Database,
    user_id: int,
    slug: str,
    title: str,
    deadline: datetime,
    now: datetime,
) -> Call:
    """Open a call for postulates in a sector; subscribers are told now and 48 h before."""
    return await db.run(_open_call, user_id, slug, title, deadline, now)
