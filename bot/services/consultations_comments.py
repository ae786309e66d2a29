"""Consultations, the members' use cases: the contents and a section while the window is open,
a comment for oneself or one's organisation (checked, previewed, submitted), my comments.
Part of bot/services/consultations.py."""

from __future__ import annotations

from datetime import datetime

from bot.services.consultation_rules import (
    SECTION_COMMENTS,
    CommentDraft,
    CommentPreview,
    Contents,
    NotOpen,
    NotRepresentative,
    PublicComment,
    SectionView,
    _require_consent,
    _visible,
    _visible_section,
    check_comment,
    phase,
)
from bot.services.users import Actor
from storage.consultations import Comment, Section
from storage.database import Database
from storage.unit import Unit


def _contents(unit: Unit, actor: Actor, consultation_id: int, now: datetime) -> Contents:
    consultation = _visible(unit, actor, consultation_id)
    return Contents(
        consultation=consultation,
        sections=unit.consultations.list_sections(consultation_id),
        phase=phase(consultation, now),
    )


async def contents(db: Database, actor: Actor, consultation_id: int, now: datetime) -> Contents:
    """The table of contents: numbered sections with their comment counts."""
    return await db.read(_contents, actor, consultation_id, now)


def _section_view(unit: Unit, actor: Actor, section_id: int, now: datetime) -> SectionView:
    section, consultation = _visible_section(unit, actor, section_id)
    summaries = unit.consultations.list_sections(consultation.id)
    total = next((s.comments for s in summaries if s.id == section_id), 0)
    comments = unit.consultations.list_section_comments(section_id, SECTION_COMMENTS)
    return SectionView(
        consultation=consultation,
        section=section,
        sections=len(summaries),
        comments=[PublicComment.of(c) for c in comments],
        total_comments=total,
        phase=phase(consultation, now),
    )


async def section(db: Database, actor: Actor, section_id: int, now: datetime) -> SectionView:
    """One section with its text and the comments made so far (no private names)."""
    return await db.read(_section_view, actor, section_id, now)


def _open_section(unit: Unit, actor: Actor, section_id: int, now: datetime) -> Section:
    section, consultation = _visible_section(unit, actor, section_id)
    if phase(consultation, now) != "open":
        raise NotOpen()
    return section


async def start_comment(
    db: Database, actor: Actor, section_id: int, notice_version: int, now: datetime
) -> Section:
    """Check a comment may be started on the section now (consent, window)."""
    _require_consent(actor, notice_version)
    return await db.read(_open_section, actor, section_id, now)


async def representing(db: Database, actor: Actor) -> tuple[int, str] | None:
    """The organisation the actor may comment for (accepted representatives only)."""

    def read(unit: Unit) -> tuple[int, str] | None:
        representative = unit.organisations.get_current_representative(actor.user_id)
        if representative is None or representative.state != "accepted":
            return None
        organisation = unit.organisations.get_organisation(representative.organisation_id)
        return None if organisation is None else (organisation.id, organisation.name)

    return await db.read(read)


def _check_behalf(unit: Unit, actor: Actor, organisation_id: int | None) -> str | None:
    if organisation_id is None:
        return None
    if not unit.organisations.is_accepted_representative(organisation_id, actor.user_id):
        raise NotRepresentative()
    organisation = unit.organisations.get_organisation(organisation_id)
    return None if organisation is None else organisation.name


def _preview(unit: Unit, actor: Actor, draft: CommentDraft, now: datetime) -> CommentPreview:
    section = _open_section(unit, actor, draft.section_id, now)
    return CommentPreview(
        section=section,
        body=check_comment(draft.body),
        wording=draft.wording,
        organisation_name=_check_behalf(unit, actor, draft.organisation_id),
    )


async def preview(db: Database, actor: Actor, draft: CommentDraft, now: datetime) -> CommentPreview:
    """What Send would store, checked like Send checks it."""
    return await db.read(_preview, actor, draft, now)


def _submit(unit: Unit, actor: Actor, draft: CommentDraft, now: datetime) -> Comment:
    # Checked again here, whatever the client sends: the window may have closed meanwhile.
    checked = _preview(unit, actor, draft, now)
    comment_id = unit.consultations.add_comment(
        consultation_id=checked.section.consultation_id,
        section_id=checked.section.id,
        user_id=actor.user_id,
        organisation_id=draft.organisation_id,
        body=checked.body,
        wording=checked.wording,
        now=now,
    )
    stored = unit.consultations.get_comment(comment_id)
    assert stored is not None
    return stored


async def submit(
    db: Database, actor: Actor, draft: CommentDraft, notice_version: int, now: datetime
) -> Comment:
    """Store the comment if the window is open and the actor may speak for the organisation."""
    _require_consent(actor, notice_version)
    return await db.run(_submit, actor, draft, now)


async def my_comments(db: Database, actor: Actor) -> list[Comment]:
    """My comments with their answers."""
    return await db.read(lambda unit: unit.consultations.list_user_comments(actor.user_id))
