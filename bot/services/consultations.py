"""Consultations of the draft programme: publishing a draft, comments per section, answers.

The coordinating team (admins) uploads the draft as a document split into sections
(bot/services/consultation_documents.py), previews it and publishes it to all sectors or
chosen ones: one 'consultation-published' notice per subscriber and a reminder 48 hours before
the window closes are queued in the publishing transaction. Members comment on a section (20 to
2,000 characters, optionally a proposed wording) for themselves or for the organisation they
represent, while the window is open; the window is read from the clock, so closing needs no
job and survives a restart. Admins answer each comment (accepted, partly accepted, not
accepted, with a justification) until the report is published; every answer is audited and
the commenter is told. The report's data comes from `report`
(rendered by bot/consultation_report.py).
"""

from __future__ import annotations

from datetime import datetime

from bot.config import Language
from bot.errors import StaleButton
from bot.services import audit, delivery
from bot.services.consultation_documents import ParsedSection
from bot.services.consultation_rules import (
    ANSWER_KIND,
    ANSWERS,
    AUDIENCE,
    COMMENT_LIMITS,
    JUSTIFICATION_LIMITS,
    PUBLISHED_KIND,
    QUEUE_LIMIT,
    REMINDER_BEFORE,
    REMINDER_KIND,
    SECTION_COMMENTS,
    TITLE_LIMITS,
    WORDING_LIMITS,
    AnswerNotice,
    CommentDraft,
    CommentPreview,
    Contents,
    InvalidComment,
    InvalidDate,
    InvalidJustification,
    InvalidTitle,
    InvalidWording,
    NewConsultation,
    NoAudience,
    NotOpen,
    NotRepresentative,
    OpenedNotice,
    PublicComment,
    Queue,
    Report,
    ReportPublished,
    ReportSection,
    SectionView,
    StillOpen,
    Unanswered,
    UnknownConsultation,
    Window,
    WindowTooShort,
    _require_admin,
    _require_consent,
    _visible,
    _visible_section,
    check_comment,
    check_justification,
    check_title,
    check_wording,
    clean,
    closing,
    parse_date,
    phase,
    start_of,
)
from bot.services.users import Actor
from storage.consultations import Answer, Comment, Consultation, Section
from storage.database import Database
from storage.unit import Unit


def _audience(unit: Unit, consultation_id: int) -> list[tuple[int, Language]]:
    """Resolver 'consultation': each subscriber of the consultation's sectors, once."""
    return [
        (chat_id, "pl" if language == "pl" else "en")
        for chat_id, language in unit.consultations.list_audience(consultation_id)
    ]


def register(registry: delivery.Registry) -> None:
    """The consultation's audience and its notice kinds."""
    registry.add_audience(AUDIENCE, _audience)
    registry.add_kinds("news", PUBLISHED_KIND)
    registry.add_kinds("reminder", REMINDER_KIND)
    registry.add_kinds("transactional", ANSWER_KIND)


# --- the coordinating team ------------------------------------------------------------------


async def sectors(db: Database, actor: Actor) -> list[tuple[int, str, str]]:
    """The sector teams a consultation may address: (id, Polish name, English name)."""
    _require_admin(actor)
    teams = await db.read(lambda unit: unit.teams.list_teams("sector"))
    return [(team.id, team.name_pl, team.name_en) for team in teams]


def _create(
    unit: Unit,
    actor: Actor,
    draft: NewConsultation,
    file_name: str,
    sections: list[ParsedSection],
    now: datetime,
) -> Contents:
    _require_admin(actor)
    if draft.opens_at is None or draft.closes_at is None:
        raise InvalidDate()
    teams = unit.teams.list_teams("sector")
    if draft.all_sectors:
        team_ids = [team.id for team in teams]
    else:
        known = {team.id for team in teams}
        team_ids = sorted(set(draft.team_ids) & known)
        if not team_ids:
            raise NoAudience()
    if draft.consultation_id is not None:
        # A second upload replaces the unpublished draft of the same conversation.
        unit.consultations.delete_draft(draft.consultation_id)
    consultation_id = unit.consultations.add_consultation(
        title=draft.title,
        opens_at=draft.opens_at,
        closes_at=draft.closes_at,
        team_ids=team_ids,
        all_sectors=draft.all_sectors,
        file_name=file_name[:255] or "draft",
        sections=[(section.title, section.body) for section in sections],
        created_by=actor.user_id,
        now=now,
    )
    consultation = unit.consultations.get_consultation(consultation_id)
    assert consultation is not None
    return Contents(
        consultation=consultation,
        sections=unit.consultations.list_sections(consultation_id),
        phase="draft",
    )


async def create_draft(
    db: Database,
    actor: Actor,
    draft: NewConsultation,
    file_name: str,
    sections: list[ParsedSection],
    now: datetime,
) -> Contents:
    """Store the uploaded draft unpublished and return its preview (sections, lengths)."""
    return await db.run(_create, actor, draft, file_name, sections, now)


def _publish(unit: Unit, actor: Actor, consultation_id: int, now: datetime) -> Consultation:
    _require_admin(actor)
    consultation = unit.consultations.get_consultation(consultation_id)
    if consultation is None or not unit.consultations.update_published(consultation_id, now):
        raise StaleButton()
    if consultation.closes_at <= now:
        raise WindowTooShort(days=0)
    sections = len(unit.consultations.list_sections(consultation_id))
    notice = OpenedNotice(
        consultation_id=consultation_id,
        title=consultation.title,
        sections=sections,
        closes_at=consultation.closes_at,
    )
    subject = f"consultation:{consultation_id}"
    opens = max(now, consultation.opens_at)
    delivery.announce(
        unit,
        kind=PUBLISHED_KIND,
        audience=AUDIENCE,
        audience_id=consultation_id,
        data=notice,
        now=now,
        due_at=opens,
        expires_at=consultation.closes_at,
        subject=subject,
        created_by=actor.user_id,
    )
    remind_at = consultation.closes_at - REMINDER_BEFORE
    if remind_at > opens:
        delivery.announce(
            unit,
            kind=REMINDER_KIND,
            audience=AUDIENCE,
            audience_id=consultation_id,
            data=notice,
            now=now,
            due_at=remind_at,
            expires_at=consultation.closes_at,
            subject=subject,
            created_by=actor.user_id,
        )
    audit.record(
        unit,
        actor_id=actor.user_id,
        action="consultation.publish",
        target=subject,
        details={"title": consultation.title, "sections": sections},
        now=now,
    )
    published = unit.consultations.get_consultation(consultation_id)
    assert published is not None
    return published


async def publish(db: Database, actor: Actor, consultation_id: int, now: datetime) -> Consultation:
    """Publish a draft: queue the notice to its audience and the reminder, in one transaction."""
    return await db.run(_publish, actor, consultation_id, now)


async def discard(db: Database, actor: Actor, consultation_id: int) -> bool:
    """Drop an unpublished draft."""
    _require_admin(actor)
    return await db.run(lambda unit: unit.consultations.delete_draft(consultation_id))


async def list_consultations(db: Database, actor: Actor) -> list[Consultation]:
    """Consultations newest first: admins see drafts too."""
    return await db.read(
        lambda unit: unit.consultations.list_consultations(published_only=not actor.is_admin)
    )


def _queue(unit: Unit, actor: Actor, consultation_id: int) -> Queue:
    _require_admin(actor)
    consultation = _visible(unit, actor, consultation_id)
    return Queue(
        consultation=consultation,
        comments=unit.consultations.list_unanswered(consultation_id, QUEUE_LIMIT),
    )


async def queue(db: Database, actor: Actor, consultation_id: int) -> Queue:
    """The comments still waiting for an answer, oldest first."""
    return await db.run(_queue, actor, consultation_id)


async def comment(db: Database, actor: Actor, comment_id: int) -> Comment:
    """One comment, for the admin answering it."""
    _require_admin(actor)
    found = await db.run(lambda unit: unit.consultations.get_comment(comment_id))
    if found is None:
        raise StaleButton()
    return found


def _answer(
    unit: Unit,
    actor: Actor,
    comment_id: int,
    answer: Answer,
    justification: str,
    now: datetime,
) -> Comment:
    _require_admin(actor)
    text = check_justification(justification)
    found = unit.consultations.get_comment(comment_id)
    if found is None:
        raise StaleButton()
    consultation = unit.consultations.get_consultation(found.consultation_id)
    assert consultation is not None
    if consultation.report_published_at is not None:
        raise ReportPublished()
    unit.consultations.update_answer(
        comment_id, answer=answer, justification=text, by=actor.user_id, now=now
    )
    audit.record(
        unit,
        actor_id=actor.user_id,
        action="consultation.answer" if found.answer is None else "consultation.answer-change",
        target=f"consultation-comment:{comment_id}",
        details={"answer": answer, "justification": text, "previous": found.answer},
        now=now,
    )
    if found.user_id is not None:
        delivery.announce(
            unit,
            kind=ANSWER_KIND,
            audience="user",
            audience_id=found.user_id,
            data=AnswerNotice(
                consultation_id=consultation.id,
                title=consultation.title,
                section_number=found.section_number,
                section_title=found.section_title,
                body=found.body,
                answer=answer,
                justification=text,
            ),
            now=now,
            created_by=actor.user_id,
        )
    answered = unit.consultations.get_comment(comment_id)
    assert answered is not None
    return answered


async def answer(
    db: Database,
    actor: Actor,
    comment_id: int,
    answer: Answer,
    justification: str,
    now: datetime,
) -> Comment:
    """Answer a comment (or change the answer) until the report is published; tell its author."""
    return await db.run(_answer, actor, comment_id, answer, justification, now)


# --- members --------------------------------------------------------------------------------


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


# --- the report -----------------------------------------------------------------------------


def _report(unit: Unit, consultation_id: int) -> Report:
    consultation = unit.consultations.get_consultation(consultation_id)
    if consultation is None or consultation.state != "published":
        raise UnknownConsultation()
    names = {team.id: team.name_pl for team in unit.teams.list_teams("sector")}
    organisations, individuals = unit.consultations.count_commenters(consultation_id)
    comments = unit.consultations.list_comments(consultation_id)
    sections = [
        ReportSection(
            number=s.number,
            title=s.title,
            comments=[PublicComment.of(c) for c in comments if c.section_id == s.id],
        )
        for s in unit.consultations.list_section_bodies(consultation_id)
    ]
    return Report(
        consultation=consultation,
        all_sectors=consultation.all_sectors,
        sectors=[names[i] for i in unit.consultations.list_team_ids(consultation_id) if i in names],
        organisations=organisations,
        individuals=individuals,
        # Comments after the window are refused when they are sent, so none were accepted late.
        late=0,
        sections=sections,
    )


def report_of(unit: Unit, consultation_id: int) -> Report:
    """The report's data inside a unit of work (the public site reads it on its own)."""
    return _report(unit, consultation_id)


async def report_data(db: Database, consultation_id: int) -> Report:
    """The report's data (the CLI's export; no publishing)."""
    return await db.read(_report, consultation_id)


def _publish_report(unit: Unit, actor: Actor, consultation_id: int, now: datetime) -> Report:
    _require_admin(actor)
    consultation = unit.consultations.get_consultation(consultation_id)
    if consultation is None or consultation.state != "published":
        raise UnknownConsultation()
    if phase(consultation, now) != "closed":
        raise StillOpen()
    waiting = len(unit.consultations.list_unanswered(consultation_id, QUEUE_LIMIT))
    if waiting:
        raise Unanswered(count=waiting)
    if consultation.report_published_at is None:
        unit.consultations.update_report_published(consultation_id, now)
        audit.record(
            unit,
            actor_id=actor.user_id,
            action="consultation.report",
            target=f"consultation:{consultation_id}",
            now=now,
        )
    return _report(unit, consultation_id)


async def publish_report(db: Database, actor: Actor, consultation_id: int, now: datetime) -> Report:
    """Publish the report once the window closed and every comment is answered."""
    return await db.run(_publish_report, actor, consultation_id, now)


# Callers import the shared rules and models from here too (one name for the feature).
__all__ = [
    "ANSWERS",
    "ANSWER_KIND",
    "AUDIENCE",
    "COMMENT_LIMITS",
    "JUSTIFICATION_LIMITS",
    "PUBLISHED_KIND",
    "QUEUE_LIMIT",
    "REMINDER_BEFORE",
    "REMINDER_KIND",
    "SECTION_COMMENTS",
    "TITLE_LIMITS",
    "WORDING_LIMITS",
    "AnswerNotice",
    "CommentDraft",
    "CommentPreview",
    "Contents",
    "InvalidComment",
    "InvalidDate",
    "InvalidJustification",
    "InvalidTitle",
    "InvalidWording",
    "NewConsultation",
    "NoAudience",
    "NotOpen",
    "NotRepresentative",
    "OpenedNotice",
    "PublicComment",
    "Queue",
    "Report",
    "ReportPublished",
    "ReportSection",
    "SectionView",
    "StillOpen",
    "Unanswered",
    "UnknownConsultation",
    "Window",
    "WindowTooShort",
    "check_comment",
    "check_justification",
    "check_title",
    "check_wording",
    "clean",
    "closing",
    "parse_date",
    "phase",
    "start_of",
]
