"""Organisations presentation: a request to represent an organisation as its deciders see it
(with Accept / Decline), and the decision notice its author gets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import Language
from bot.engine import DeliveryEngine, Rendered
from bot.i18n import Texts
from bot.services import organisations as service
from handlers.callbacks import Callback
from handlers.views.people import person_link


@dataclass(frozen=True)
class DecideButton(Callback, prefix="org"):
    """Accept or Decline under a request: `org:<accept|decline>:<representative>`."""

    decision: Literal["accept", "decline"]
    representative_id: int


def request_message(texts: Texts, language: Language, request: service.Request) -> Rendered:
    """The request as deciders get it: who asks, for which organisation, Accept / Decline."""
    representative_id = request.representative.id
    person = person_link(texts, language, request.representative.user_id, request.name)
    body = texts.get(
        language, "organisation.request-notice", name=request.organisation.name, person=person
    )
    buttons = [
        InlineKeyboardButton(
            texts.get(language, f"organisation.button-{decision}"),
            callback_data=DecideButton(decision, representative_id).pack(),
        )
        for decision in ("accept", "decline")
    ]
    return Rendered(text=body, markup=InlineKeyboardMarkup([buttons]))


def _request(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    return request_message(texts, language, service.Request.model_validate(data))


def _decision(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    notice = service.DecisionNotice.model_validate(data)
    key = "organisation.request-accepted" if notice.accepted else "organisation.request-declined"
    return Rendered(text=texts.get(language, key, name=notice.organisation.name))


def register(engine: DeliveryEngine) -> None:
    """Render the request and decision notices."""
    engine.add_renderer(service.REQUEST_KIND, _request)
    engine.add_renderer(service.DECISION_KIND, _decision)
