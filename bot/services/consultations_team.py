"""Consultations, the coordinating team's use cases: a draft created from a parsed document,
published (its notices queued in the same transaction) or discarded; the queue of comments and
the audited answers (the commenter is told). Part of bot/services/consultations.py."""

from __future__ import annotations

from datetime import datetime

from bot.errors import StaleButton
from bot.services import audit, delivery
from bot.services.consultation_documents import ParsedSection
from bot.services.consultation_rules import (
    ANSWER_KIND,
    AUDIENCE,
    PUBLISHED_KIND,
    QUEUE_LIMIT,
    REMINDER_BEFORE,
    REMINDER_KIND,
    AnswerNotice,
    Contents,
    InvalidDate,
    NewConsultation,
    NoAudience,
    OpenedNotice,
    Queue,
    ReportPublished,
    WindowTooShort,
    _require_admin,
    _visible,
    check_justification,
)
from bot.services.users import Actor
from storage.consultations import Answer, Comment, Consultation
from storage.database import Database
from storage.unit import Unit


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
