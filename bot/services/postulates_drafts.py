"""Postulates, the submission: a resumable draft kept in the database, step by step to submit.

Every event is one `db.run` unit; an idle draft expires and its author is told once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.errors import StaleButton
from bot.services import conversations, delivery
from bot.services.postulates import (
    ATTACHMENT_TYPES,
    CONTENT_LIMITS,
    DRAFT_EXPIRED_KIND,
    EDITABLE_FIELDS,
    TITLE_LIMITS,
    DraftExpired,
    InvalidInput,
    NotRepresentative,
    Settings,
    SubmissionsClosed,
    alert_moderators,
    check_length,
    clean,
    require_consent,
    sector_team,
    support,
)
from storage.database import Database
from storage.models import Team
from storage.postulates import Call, Draft, Postulate, Prompt
from storage.unit import Unit

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
    # An attachment's caption: never dropped silently (the attachment is refused with it).
    caption: str | None = None


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


def _to_similar_or_preview(unit: Unit, draft: Draft, now: datetime) -> Draft:
    assert draft.team_id is not None
    similar = unit.postulates.list_similar(
        draft.team_id, draft.content or "", title=draft.title or ""
    )
    step = "similar" if similar else "preview"
    return unit.postulates.update_draft(draft.id, now, step=step, editing=0)


def _expire(unit: Unit, draft: Draft, now: datetime) -> None:
    unit.postulates.delete_draft(draft.id)
    if draft.prompt_message_id is not None:
        # Its step's buttons go too, so none stays live (handlers/prompts.py).
        conversations.stale_prompt(unit, draft.user_id, draft.prompt_message_id, now)
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
    require_consent(unit, user_id, settings.notice_version)
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
    # The author's confirmation is the answer to their press (with the reference): a notice
    # on top of it would say "submitted" a second time a few seconds later.
    alert_moderators(unit, postulate, postulate.team_id, now, "new")
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
        team = sector_team(unit, event.number)
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
        title = check_length(event.text, TITLE_LIMITS, "title")
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
        check_length(draft.content or "", CONTENT_LIMITS, "content")
        return _after_field(unit, draft, now)
    if name == "attachment" and step == "attachment" and event.caption:
        raise InvalidInput("postulates.error-attachment-caption")
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


async def remember_prompt(db: Database, user_id: int, message_id: int, now: datetime) -> None:
    """Note the message that now asks the draft's step (edited in place, cleared later)."""

    def change(unit: Unit) -> None:
        draft = unit.postulates.get_draft(user_id)
        if draft is not None:
            unit.postulates.update_draft(draft.id, now, prompt_message_id=message_id)

    await db.run(change)
