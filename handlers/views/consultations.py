"""Consultations presentation: the table of contents, sections, comments, previews and notices.

Every card is built to fit Telegram's limits (bot/limits.py): a section's text is shown in
pages, comments under it are shortened, and the table of contents is paged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import datefmt, limits
from bot.config import Language
from bot.engine import DeliveryEngine, Rendered
from bot.i18n import Html, Texts
from bot.services import consultations as service
from handlers.callbacks import Callback
from storage.consultations import Comment

TOC_PAGE = 10
# A page of a section's text, in characters: with the heading, the comments and the buttons the
# card stays well under 4,096 UTF-16 units (the shortening below is the backstop).
TEXT_PAGE = 2500
COMMENT_SHOWN = 200
PREVIEW_SECTIONS = 40


# --- buttons --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contents(Callback, prefix="cons:toc"):
    consultation_id: int
    page: int


@dataclass(frozen=True)
class Read(Callback, prefix="cons:sec"):
    section_id: int
    page: int


@dataclass(frozen=True)
class StartComment(Callback, prefix="cons:comment"):
    section_id: int


@dataclass(frozen=True)
class SkipWording(Callback, prefix="cons:skip"):
    """No proposed wording: go on to the preview."""


@dataclass(frozen=True)
class Behalf(Callback, prefix="cons:as"):
    who: Literal["org", "me"]


@dataclass(frozen=True)
class Send(Callback, prefix="cons:send"):
    """Send the previewed comment."""


@dataclass(frozen=True)
class Abort(Callback, prefix="cons:abort"):
    """Drop the comment being written."""


@dataclass(frozen=True)
class New(Callback, prefix="cons:new"):
    """Start a new consultation (admins)."""


@dataclass(frozen=True)
class OpensNow(Callback, prefix="cons:now"):
    """The window opens as soon as the draft is published."""


@dataclass(frozen=True)
class Audience(Callback, prefix="cons:aud"):
    team_id: int  # 0: every sector


@dataclass(frozen=True)
class AudienceDone(Callback, prefix="cons:aud-done"):
    """The chosen sectors are the audience."""


@dataclass(frozen=True)
class Publish(Callback, prefix="cons:publish"):
    consultation_id: int


@dataclass(frozen=True)
class Discard(Callback, prefix="cons:discard"):
    consultation_id: int


@dataclass(frozen=True)
class Manage(Callback, prefix="cons:admin"):
    consultation_id: int


@dataclass(frozen=True)
class AnswerQueue(Callback, prefix="cons:queue"):
    consultation_id: int


@dataclass(frozen=True)
class Verdict(Callback, prefix="cons:ans"):
    comment_id: int
    answer: Literal["accepted", "partly", "rejected"]


def button(label: str, press: Callback) -> InlineKeyboardButton:
    """An inline button for a typed press."""
    return InlineKeyboardButton(label, callback_data=press.pack())


# --- texts ----------------------------------------------------------------------------------


def when(instant: Any, zone: ZoneInfo) -> str:
    """A local date and time as shown in the chat."""
    return str(instant.astimezone(zone).strftime("%d.%m.%Y %H:%M"))


def _phase(texts: Texts, language: Language, phase: str, closes: datetime, zone: ZoneInfo) -> Html:
    # "do soboty, …" / "zakończyło się w sobotę, …": the sentence takes the day by its role.
    key = f"consultations.phase-{phase}"
    return texts.get(language, key, **datefmt.phrases(closes, language, zone))


def _short(value: str, limit: int) -> str:
    return limits.plain_prefix(value, limit)


def answer_label(texts: Texts, language: Language, answer: str | None) -> Html:
    """The answer's name in the language."""
    key = {
        "accepted": "consultations.answer-accepted",
        "partly": "consultations.answer-partly",
        "rejected": "consultations.answer-rejected",
    }.get(answer or "", "consultations.answer-none")
    return texts.get(language, key)


def submitter(texts: Texts, language: Language, organisation_name: str | None) -> str:
    """An organisation's name or 'osoba prywatna' (a private person is never named)."""
    if organisation_name is not None:
        return organisation_name
    return str(texts.get(language, "consultations.private-person"))


def contents(
    texts: Texts, language: Language, zone: ZoneInfo, view: service.Contents, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    """The table of contents: numbered sections with their comment counts, paged."""
    consultation = view.consultation
    pages = max(1, -(-len(view.sections) // TOC_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = view.sections[page * TOC_PAGE : (page + 1) * TOC_PAGE]
    lines = [
        texts.get(language, "consultations.toc-title", title=consultation.title),
        _phase(texts, language, view.phase, consultation.closes_at, zone),
        "",
    ]
    for section in shown:
        lines.append(
            texts.plural(
                language,
                "consultations.toc-line",
                section.comments,
                number=section.number,
                title=_short(section.title, 120),
            )
        )
    if pages > 1:
        lines.append(texts.get(language, "consultations.page", page=page + 1, pages=pages))
    rows = [[button(f"{s.number}. {_short(s.title, 40)}", Read(s.id, 0))] for s in shown]
    nav = []
    if page > 0:
        nav.append(button("◀", Contents(consultation.id, page - 1)))
    if page < pages - 1:
        nav.append(button("▶", Contents(consultation.id, page + 1)))
    if nav:
        rows.append(nav)
    return limits.shorten("\n".join(lines), limits.TEXT_LIMIT), InlineKeyboardMarkup(rows)


def _chunks(body: str) -> list[str]:
    if not body:
        return [""]
    chunks: list[str] = []
    rest = body
    while rest:
        if len(rest) <= TEXT_PAGE:
            chunks.append(rest)
            break
        cut = rest.rfind("\n", 0, TEXT_PAGE)
        if cut < TEXT_PAGE // 2:
            cut = rest.rfind(" ", 0, TEXT_PAGE)
        if cut < TEXT_PAGE // 2:
            cut = TEXT_PAGE
        chunks.append(rest[:cut])
        rest = rest[cut:].lstrip("\n ")
    return chunks


def section(
    texts: Texts, language: Language, zone: ZoneInfo, view: service.SectionView, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    """A section: its text (paged), the comments so far, Comment while the window is open."""
    chunks = _chunks(view.section.body)
    pages = len(chunks)
    page = min(max(page, 0), pages - 1)
    lines = [
        texts.get(
            language,
            "consultations.section-title",
            title=view.consultation.title,
            number=view.section.number,
            sections=view.sections,
            section=view.section.title,
        ),
        texts.get(language, "consultations.section-body", body=chunks[page]),
    ]
    if pages > 1:
        lines.append(texts.get(language, "consultations.page", page=page + 1, pages=pages))
    lines.append(texts.plural(language, "consultations.section-comments", view.total_comments))
    for comment in view.comments:
        lines.append(
            texts.get(
                language,
                "consultations.section-comment",
                who=submitter(texts, language, comment.organisation_name),
                body=_short(comment.body, COMMENT_SHOWN),
                answer=answer_label(texts, language, comment.answer),
            )
        )
    if view.phase != "open":
        lines.append(_phase(texts, language, view.phase, view.consultation.closes_at, zone))
    rows = []
    nav = []
    if page > 0:
        nav.append(button("◀", Read(view.section.id, page - 1)))
    if page < pages - 1:
        nav.append(button("▶", Read(view.section.id, page + 1)))
    if nav:
        rows.append(nav)
    if view.phase == "open":
        rows.append(
            [
                button(
                    texts.get(language, "consultations.button-comment"),
                    StartComment(view.section.id),
                )
            ]
        )
    rows.append(
        [
            button(
                texts.get(language, "consultations.button-contents"),
                Contents(view.consultation.id, (view.section.number - 1) // TOC_PAGE),
            )
        ]
    )
    return limits.shorten("\n\n".join(lines), limits.TEXT_LIMIT), InlineKeyboardMarkup(rows)


def draft_preview(
    texts: Texts, language: Language, zone: ZoneInfo, view: service.Contents
) -> tuple[str, InlineKeyboardMarkup]:
    """The admin's preview before Publish: window, sections and their lengths."""
    consultation = view.consultation
    lines = [
        texts.get(
            language,
            "consultations.preview",
            title=consultation.title,
            opens=when(consultation.opens_at, zone),
            closes=when(consultation.closes_at, zone),
            file=consultation.file_name,
        ),
        texts.plural(language, "consultations.preview-sections", len(view.sections)),
    ]
    for item in view.sections[:PREVIEW_SECTIONS]:
        lines.append(
            texts.plural(
                language,
                "consultations.preview-line",
                item.length,
                number=item.number,
                title=_short(item.title, 80),
            )
        )
    if len(view.sections) > PREVIEW_SECTIONS:
        lines.append(
            texts.get(
                language, "consultations.preview-more", count=len(view.sections) - PREVIEW_SECTIONS
            )
        )
    markup = InlineKeyboardMarkup(
        [
            [button(texts.get(language, "consultations.button-publish"), Publish(consultation.id))],
            [button(texts.get(language, "consultations.button-discard"), Discard(consultation.id))],
        ]
    )
    return limits.shorten("\n".join(lines), limits.TEXT_LIMIT), markup


def comment_preview(
    texts: Texts, language: Language, preview: service.CommentPreview
) -> tuple[str, InlineKeyboardMarkup]:
    """The comment as it will be sent, with Send and Cancel."""
    who = (
        preview.organisation_name
        if preview.organisation_name is not None
        else str(texts.get(language, "consultations.behalf-me-short"))
    )
    lines = [
        texts.get(
            language,
            "consultations.comment-preview",
            number=preview.section.number,
            section=_short(preview.section.title, 120),
            who=who,
            body=preview.body,
        )
    ]
    if preview.wording:
        lines.append(texts.get(language, "consultations.comment-wording", wording=preview.wording))
    markup = InlineKeyboardMarkup(
        [
            [button(texts.get(language, "consultations.button-send"), Send())],
            [button(texts.get(language, "consultations.button-abort"), Abort())],
        ]
    )
    return limits.shorten("\n\n".join(lines), limits.TEXT_LIMIT), markup


def comment_card(
    texts: Texts, language: Language, comment: Comment, *, for_admin: bool
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One comment with its answer; the admin's copy carries the three answer buttons."""
    lines = [
        texts.get(
            language,
            "consultations.comment-card",
            id=comment.id,
            number=comment.section_number,
            section=_short(comment.section_title, 120),
            who=submitter(texts, language, comment.organisation_name),
            body=_short(comment.body, 1500),
        )
    ]
    if comment.wording:
        lines.append(
            texts.get(
                language, "consultations.comment-wording", wording=_short(comment.wording, 1000)
            )
        )
    lines.append(
        texts.get(
            language,
            "consultations.comment-answer",
            answer=answer_label(texts, language, comment.answer),
            justification=_short(comment.justification or "—", 800),
        )
    )
    markup = None
    if for_admin:
        markup = InlineKeyboardMarkup(
            [
                [
                    button(
                        texts.get(language, f"consultations.button-{answer}"),
                        Verdict(comment.id, answer),
                    )
                ]
                for answer in service.ANSWERS
            ]
        )
    return limits.shorten("\n\n".join(lines), limits.TEXT_LIMIT), markup


# --- notices --------------------------------------------------------------------------------


def _opened(key: str) -> Any:
    def render(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
        notice = service.OpenedNotice.model_validate(data)
        body = texts.get(
            language,
            key,
            title=notice.title,
            sections=notice.sections,
            **datefmt.phrases(notice.closes_at, language, zone),
        )
        markup = InlineKeyboardMarkup(
            [
                [
                    button(
                        texts.get(language, "consultations.button-read"),
                        Contents(notice.consultation_id, 0),
                    )
                ]
            ]
        )
        return Rendered(text=limits.shorten(body, limits.TEXT_LIMIT), markup=markup)

    return render


def answered(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    """'Your comment on section N was accepted: justification'."""
    notice = service.AnswerNotice.model_validate(data)
    body = texts.get(
        language,
        "consultations.notice-answer",
        title=notice.title,
        number=notice.section_number,
        section=_short(notice.section_title, 120),
        body=_short(notice.body, 500),
        answer=answer_label(texts, language, notice.answer),
        justification=_short(notice.justification, 2000),
    )
    return Rendered(text=limits.shorten(body, limits.TEXT_LIMIT))


def register(engine: DeliveryEngine) -> None:
    """Render the consultation's notices: published, the reminder, an answer."""
    engine.add_renderer(service.PUBLISHED_KIND, _opened("consultations.notice-published"))
    engine.add_renderer(service.REMINDER_KIND, _opened("consultations.notice-reminder"))
    engine.add_renderer(service.ANSWER_KIND, answered)
