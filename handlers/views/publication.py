"""Publication presentation: the question to authors of older postulates, the hide buttons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import Language
from bot.engine import DeliveryEngine, Rendered
from bot.i18n import Texts
from bot.services import publication as service
from handlers.callbacks import Callback


@dataclass(frozen=True)
class PublishAnswer(Callback, prefix="pub:answer"):
    """*Yes, publish* / *No* under the publication question: `pub:answer:<yes|no>:<id>`."""

    answer: Literal["yes", "no"]
    postulate_id: int


@dataclass(frozen=True)
class HideButton(Callback, prefix="pub:hide"):
    """A moderator's *Hide from the public site* on a postulate card."""

    postulate_id: int


@dataclass(frozen=True)
class ShowButton(Callback, prefix="pub:show"):
    """A moderator's *Show again* for a hidden postulate."""

    postulate_id: int


def question(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    """The notice asking the author (or representatives) to agree to publication."""
    notice = service.Question.model_validate(data)
    body = texts.get(
        language, "publication.question", reference=notice.reference, title=notice.title
    )
    buttons = [
        InlineKeyboardButton(
            texts.get(language, "publication.button-yes"),
            callback_data=PublishAnswer("yes", notice.postulate_id).pack(),
        ),
        InlineKeyboardButton(
            texts.get(language, "publication.button-no"),
            callback_data=PublishAnswer("no", notice.postulate_id).pack(),
        ),
    ]
    return Rendered(text=body, markup=InlineKeyboardMarkup([buttons]))


def visibility_button(
    texts: Texts, language: str, postulate_id: int, hidden: bool
) -> InlineKeyboardButton:
    """*Show again* for a hidden postulate, else *Hide from the public site*."""
    if hidden:
        return InlineKeyboardButton(
            texts.get(language, "publication.button-show"),
            callback_data=ShowButton(postulate_id).pack(),
        )
    return InlineKeyboardButton(
        texts.get(language, "publication.button-hide"),
        callback_data=HideButton(postulate_id).pack(),
    )


def register(engine: DeliveryEngine) -> None:
    """Render the publication question."""
    engine.add_renderer(service.QUESTION_KIND, question)
