"""Postulates presentation: the notices about postulates and calls, and their typed buttons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import Language
from bot.engine import DeliveryEngine, Rendered
from bot.i18n import Html, Texts
from bot.services import postulates as service
from handlers.callbacks import Callback, Slug

# The deadline of a call as everyone reads it, in the deployment's zone.
DEADLINE_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class OpenForReview(Callback, prefix="rev:open"):
    """Open a postulate's card for review (moderators, the coordinating team)."""

    postulate_id: int


@dataclass(frozen=True)
class AnswerQuestion(Callback, prefix="pst:answer"):
    """The author answers the reviewers' question about their postulate."""

    postulate_id: int


@dataclass(frozen=True)
class SubmitToCall(Callback, prefix="pst:new"):
    """Start a postulate in the sector of an open call (`pst:new:<slug>`)."""

    slug: Slug


def state_name(texts: Texts, language: Language, state: str) -> str:
    """The translated name of a postulate's state."""
    return texts.get(language, f"postulates.state-{state}")


def deadline_text(notice: service.CallNotice, zone: ZoneInfo) -> str:
    """The call's deadline in local time."""
    return notice.deadline.astimezone(zone).strftime(DEADLINE_FORMAT)


def _button(label: str, data: Callback) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data.pack())]])


def draft_expired(
    data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo
) -> Rendered:
    """The author's idle draft was dropped."""
    service.DraftExpired.model_validate(data)
    return Rendered(text=texts.get(language, "postulates.draft-expired"))


def status(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    """The author's notice: submitted, forwarded, answered, ... with the answer if any."""
    notice = service.StatusNotice.model_validate(data)
    body = texts.get(
        language,
        f"postulates.notice-{notice.event}",
        reference=notice.reference,
        title=notice.title,
        state=state_name(texts, language, notice.state),
        sector=notice.team.name(language),
    )
    if notice.note:
        body = Html(
            body + "\n\n" + texts.get(language, "postulates.notice-answer", note=notice.note)
        )
    markup = None
    if notice.event == "ask":
        markup = _button(
            texts.get(language, "postulates.button-answer"), AnswerQuestion(notice.postulate_id)
        )
    return Rendered(text=body, markup=markup)


def alert(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    """The moderators' alert: a new, answered, withdrawn, forwarded or moved postulate."""
    notice = service.ModeratorAlert.model_validate(data)
    body = texts.get(
        language,
        f"postulates.alert-{notice.event}",
        reference=notice.reference,
        title=notice.title,
        sector=notice.team.name(language),
    )
    button = _button(
        texts.get(language, "postulates.button-open"), OpenForReview(notice.postulate_id)
    )
    return Rendered(text=body, markup=button)


def _call(
    key: str, data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo
) -> Rendered:
    notice = service.CallNotice.model_validate(data)
    body = texts.get(
        language,
        key,
        title=notice.title,
        sector=notice.team.name(language),
        deadline=deadline_text(notice, zone),
    )
    button = _button(
        texts.get(language, "postulates.button-submit-to-call"),
        SubmitToCall(Slug(notice.team.slug)),
    )
    return Rendered(text=body, markup=button)


def call_opened(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    """Subscribers learn of a new call for postulates in their sector."""
    return _call("postulates.call-opened", data, language, texts, zone)


def call_reminder(
    data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo
) -> Rendered:
    """48 hours before a call closes."""
    return _call("postulates.call-reminder", data, language, texts, zone)


def register(engine: DeliveryEngine) -> None:
    """Render the postulates' notices."""
    engine.add_renderer(service.DRAFT_EXPIRED_KIND, draft_expired)
    engine.add_renderer(service.STATUS_KIND, status)
    engine.add_renderer(service.ALERT_KIND, alert)
    engine.add_renderer(service.CALL_OPENED_KIND, call_opened)
    engine.add_renderer(service.CALL_REMINDER_KIND, call_reminder)
