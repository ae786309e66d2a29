"""Postulates' notices as Telegram messages: the author's status, the moderators' alert, calls.

The services queue them as data (bot/services/postulates.py); the delivery engine renders each
in the recipient's language with the function registered here. The review's confirmation shows
the same text before it is sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import Language
from bot.engine import DeliveryEngine, Rendered
from bot.i18n import Html, Texts
from bot.services import postulates as service
from handlers.callbacks import Callback, Slug
from handlers.views.postulate_buttons import AnswerQuestion, OpenForReview, SubmitToCall

# The deadline of a call as everyone reads it, in the deployment's zone.
DEADLINE_FORMAT = "%Y-%m-%d %H:%M"


def state_name(texts: Texts, language: Language, state: str) -> str:
    """The translated name of a postulate's state."""
    return texts.get(language, f"postulates.state-{state}")


def deadline_text(deadline: datetime, zone: ZoneInfo) -> str:
    """A call's deadline in local time."""
    return deadline.astimezone(zone).strftime(DEADLINE_FORMAT)


def _button(label: str, data: Callback) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data.pack())]])


def draft_expired(
    data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo
) -> Rendered:
    """The author's idle draft was dropped."""
    service.DraftExpired.model_validate(data)
    return Rendered(text=texts.get(language, "postulates.draft-expired"))


def status_text(notice: service.StatusNotice, language: Language, texts: Texts) -> Html:
    """The author's notice as text: what happened, with the answer if any."""
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
    return body


def status(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    """The author's notice: submitted, forwarded, answered, ... with the answer if any."""
    notice = service.StatusNotice.model_validate(data)
    markup = None
    if notice.event == "ask":
        markup = _button(
            texts.get(language, "postulates.button-answer"), AnswerQuestion(notice.postulate_id)
        )
    return Rendered(text=status_text(notice, language, texts), markup=markup)


def alert_text(notice: service.ModeratorAlert, language: Language, texts: Texts) -> Html:
    """The moderators' alert as text."""
    return texts.get(
        language,
        f"postulates.alert-{notice.event}",
        reference=notice.reference,
        title=notice.title,
        sector=notice.team.name(language),
    )


def alert(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    """The moderators' alert: a new, answered, withdrawn, forwarded or moved postulate."""
    notice = service.ModeratorAlert.model_validate(data)
    button = _button(
        texts.get(language, "postulates.button-open"), OpenForReview(notice.postulate_id)
    )
    return Rendered(text=alert_text(notice, language, texts), markup=button)


def _call(
    key: str, data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo
) -> Rendered:
    notice = service.CallNotice.model_validate(data)
    body = texts.get(
        language,
        key,
        title=notice.title,
        sector=notice.team.name(language),
        deadline=deadline_text(notice.deadline, zone),
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
