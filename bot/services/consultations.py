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

import re
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.config import Language
from bot.errors import ConsentRequired, DomainError, NotAllowed, StaleButton
from bot.services import audit, delivery
from bot.services.consultation_documents import ParsedSection
from bot.services.users import Actor
from storage.consultations import Answer, Comment, Consultation, Section, SectionSummary
from storage.database import Database
from storage.unit import Unit

TITLE_LIMITS = (3, 200)
COMMENT_LIMITS = (20, 2000)
WORDING_LIMITS = (1, 2000)
JUSTIFICATION_LIMITS = (10, 2000)
REMINDER_BEFORE = timedelta(hours=48)
# Comments shown under a section in the chat (the public site shows all of them).
SECTION_COMMENTS = 5
QUEUE_LIMIT = 20
ANSWERS: tuple[Answer, ...] = ("accepted", "partly", "rejected")
PUBLISHED_KIND = "consultation-published"
REMINDER_KIND = "consultation-reminder"
ANSWER_KIND = "consultation-answer"
AUDIENCE = "consultation"
_DATE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$|^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


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


# --- domain errors --------------------------------------------------------------------------


class InvalidTitle(DomainError):
    key = "consultations.error-title"


class InvalidDate(DomainError):
    key = "consultations.error-date"


class WindowTooShort(DomainError):
    key = "consultations.error-window"


class NoAudience(DomainError):
    key = "consultations.error-no-audience"


class UnknownConsultation(DomainError):
    key = "consultations.error-unknown"


class NotOpen(DomainError):
    key = "consultations.error-not-open"


class InvalidComment(DomainError):
    key = "consultations.error-comment-length"


class InvalidWording(DomainError):
    key = "consultations.error-wording-length"


class NotRepresentative(DomainError):
    key = "consultations.error-not-representative"


class InvalidJustification(DomainError):
    key = "consultations.error-justification"


class ReportPublished(DomainError):
    key = "consultations.error-report-published"


class StillOpen(DomainError):
    key = "consultations.error-still-open"


class Unanswered(DomainError):
    key = "consultations.error-unanswered"


# --- models ---------------------------------------------------------------------------------


class NewConsultation(BaseModel):
    """The New flow's state: what the admin typed so far (kept in the database)."""

    title: str = ""
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    all_sectors: bool = True
    team_ids: list[int] = []
    consultation_id: int | None = None


class CommentDraft(BaseModel):
    """The Comment flow's state (kept in the database, so it survives a restart)."""

    section_id: int = 0
    body: str = ""
    wording: str | None = None
    organisation_id: int | None = None


class Window(BaseModel):
    """Whether a consultation takes comments now."""

    model_config = ConfigDict(frozen=True)

    phase: Literal["draft", "upcoming", "open", "closed"]


class Contents(BaseModel):
    """A consultation's table of contents as a member sees it."""

    model_config = ConfigDict(frozen=True)

    consultation: Consultation
    sections: list[SectionSummary]
    phase: Literal["draft", "upcoming", "open", "closed"]


class PublicComment(BaseModel):
    """A comment as others see it: an organisation's name, never a private person's."""

    model_config = ConfigDict(frozen=True)

    id: int
    body: str
    wording: str | None
    organisation_name: str | None
    answer: Answer | None
    justification: str | None

    @classmethod
    def of(cls, comment: Comment) -> PublicComment:
        return cls(
            id=comment.id,
            body=comment.body,
            wording=comment.wording,
            organisation_name=comment.organisation_name,
            answer=comment.answer,
            justification=comment.justification,
        )


class SectionView(BaseModel):
    """One section: its text, the comments made so far, and whether Comment is offered."""

    model_config = ConfigDict(frozen=True)

    consultation: Consultation
    section: Section
    sections: int
    comments: list[PublicComment]
    total_comments: int
    phase: Literal["draft", "upcoming", "open", "closed"]


class CommentPreview(BaseModel):
    """What Send will store: the section, the text, on whose behalf."""

    model_config = ConfigDict(frozen=True)

    section: Section
    body: str
    wording: str | None
    organisation_name: str | None


class AnswerNotice(BaseModel):
    """Notice data: the coordinating team answered my comment."""

    model_config = ConfigDict(frozen=True)

    consultation_id: int
    title: str
    section_number: int
    section_title: str
    body: str
    answer: Answer
    justification: str


class OpenedNotice(BaseModel):
    """Notice data: a draft is open for comments (also the reminder before it closes)."""

    model_config = ConfigDict(frozen=True)

    consultation_id: int
    title: str
    sections: int
    closes_at: datetime


class Queue(BaseModel):
    """Comments waiting for the coordinating team's answer."""

    model_config = ConfigDict(frozen=True)

    consultation: Consultation
    comments: list[Comment]


class ReportSection(BaseModel):
    """One section of the report with its comments."""

    model_config = ConfigDict(frozen=True)

    number: int
    title: str
    comments: list[PublicComment]


class Report(BaseModel):
    """What the consultation report holds: the same data always gives the same report."""

    model_config = ConfigDict(frozen=True)

    consultation: Consultation
    all_sectors: bool
    sectors: list[str]
    organisations: int
    individuals: int
    late: int
    sections: list[ReportSection]


# --- rules ----------------------------------------------------------------------------------


def phase(
    consultation: Consultation, now: datetime
) -> Literal["draft", "upcoming", "open", "closed"]:
    """Where a consultation stands at `now` (read from the clock: closing needs no job)."""
    if consultation.state == "draft":
        return "draft"
    if now < consultation.opens_at:
        return "upcoming"
    if now >= consultation.closes_at:
        return "closed"
    return "open"


def clean(value: str) -> str:
    """Trim the text and drop control characters other than line breaks and tabs."""
    return "".join(ch for ch in value.strip() if ch in "\n\t" or ch.isprintable())


def check_title(value: str) -> str:
    """A consultation's title: one line of 3-200 characters."""
    title = " ".join(clean(value).split())
    low, high = TITLE_LIMITS
    if not low <= len(title) <= high:
        raise InvalidTitle(min=low, max=high)
    return title


def parse_date(value: str, zone: ZoneInfo, now: datetime) -> date:
    """A typed local date (31.12.2026 or 2026-12-31), today or later."""
    match = _DATE.match(value)
    if match is None:
        raise InvalidDate()
    day, month, year, iso_year, iso_month, iso_day = match.groups()
    try:
        if iso_year is not None:
            typed = date(int(iso_year), int(iso_month), int(iso_day))
        else:
            typed = date(int(year), int(month), int(day))
    except ValueError as exc:
        raise InvalidDate() from exc
    if typed < now.astimezone(zone).date():
        raise InvalidDate()
    return typed


def start_of(day: date, zone: ZoneInfo) -> datetime:
    """Local midnight at the start of `day`, as an aware instant."""
    return datetime.combine(day, time(0, 0), tzinfo=zone)


def closing(day: date, zone: ZoneInfo, opens_at: datetime, min_days: int) -> datetime:
    """The window closes at the end of the typed local day, at least `min_days` after opening."""
    closes_at = start_of(day + timedelta(days=1), zone)
    if closes_at - opens_at < timedelta(days=min_days):
        raise WindowTooShort(days=min_days)
    return closes_at


def check_comment(value: str) -> str:
    """A comment: 20-2,000 characters."""
    body = clean(value)
    low, high = COMMENT_LIMITS
    if not low <= len(body) <= high:
        raise InvalidComment(min=low, max=high, length=len(body))
    return body


def check_wording(value: str) -> str:
    """A proposed wording: up to 2,000 characters."""
    wording = clean(value)
    low, high = WORDING_LIMITS
    if not low <= len(wording) <= high:
        raise InvalidWording(max=high)
    return wording


def check_justification(value: str) -> str:
    """An answer's justification: 10-2,000 characters."""
    text = clean(value)
    low, high = JUSTIFICATION_LIMITS
    if not low <= len(text) <= high:
        raise InvalidJustification(min=low, max=high)
    return text


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise NotAllowed()


def _require_consent(actor: Actor, notice_version: int) -> None:
    if not actor.consented(notice_version):
        raise ConsentRequired()


def _visible(unit: Unit, actor: Actor, consultation_id: int) -> Consultation:
    consultation = unit.consultations.get_consultation(consultation_id)
    if consultation is None or (consultation.state == "draft" and not actor.is_admin):
        raise UnknownConsultation()
    return consultation


def _visible_section(unit: Unit, actor: Actor, section_id: int) -> tuple[Section, Consultation]:
    section = unit.consultations.get_section(section_id)
    if section is None:
        raise UnknownConsultation()
    return section, _visible(unit, actor, section.consultation_id)


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
