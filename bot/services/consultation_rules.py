"""Consultations: the rules and models every part of the feature shares.

Domain errors, the models services return, and the checks of titles, dates, windows, comments
and justifications (bot/services/consultations.py holds the use cases).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.errors import ConsentRequired, DomainError, NotAllowed
from bot.services import dates
from bot.services.users import Actor
from storage.consultations import Answer, Comment, Consultation, Section, SectionSummary
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
    today = now.astimezone(zone).date()
    try:
        # The same formats as /new_meeting (bot/services/dates.py).
        typed = dates.local_date(value, today)
    except ValueError as exc:
        raise InvalidDate() from exc
    if typed < today:
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
