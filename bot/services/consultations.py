"""Consultations of the draft programme: publishing a draft, comments per section, answers.

The coordinating team (admins) uploads the draft as a document split into sections
(bot/services/consultation_documents.py), previews it and publishes it to all sectors or
chosen ones: one 'consultation-published' notice per subscriber and a reminder 48 hours before
the window closes are queued in the publishing transaction. Members comment on a section (20 to
2,000 characters, optionally a proposed wording) for themselves or for the organisation they
represent, while the window is open; the window is read from the clock, so closing needs no
job and survives a restart. Admins answer each comment (accepted, partly accepted, not
accepted, with a justification) until the report is published; every answer is audited and
the commenter is told. The report's data comes from `report_data`
(rendered by bot/consultation_report.py).

This module registers the feature with the engine and is the one name callers import; the use
cases live by section in `consultations_team` (the coordinating team), `consultations_comments`
(members) and `consultations_report`, the shared rules and models in `consultation_rules`.
"""

from __future__ import annotations

from bot.config import Language
from bot.services import delivery
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
from bot.services.consultations_comments import (
    contents,
    my_comments,
    preview,
    representing,
    section,
    start_comment,
    submit,
)
from bot.services.consultations_report import publish_report, report_data, report_of
from bot.services.consultations_team import (
    answer,
    comment,
    create_draft,
    discard,
    list_consultations,
    publish,
    queue,
    sectors,
)
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


# Callers import the use cases (split by section into consultations_team, _comments and
# _report) and the shared rules and models from here (one name for the feature).
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
    "answer",
    "check_comment",
    "check_justification",
    "check_title",
    "check_wording",
    "clean",
    "closing",
    "comment",
    "contents",
    "create_draft",
    "discard",
    "list_consultations",
    "my_comments",
    "parse_date",
    "phase",
    "preview",
    "publish",
    "publish_report",
    "queue",
    "register",
    "report_data",
    "report_of",
    "representing",
    "section",
    "sectors",
    "start_comment",
    "start_of",
    "submit",
]
