"""Privacy presentation: the /forget confirmation's buttons and the summary of an erasure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import Language
from bot.i18n import Html, Texts
from bot.services.privacy import Erasure
from handlers.callbacks import Callback


@dataclass(frozen=True)
class ForgetButton(Callback, prefix="priv:forget"):
    """Yes / no under the /forget question: `priv:forget:<yes|no>`."""

    answer: Literal["yes", "no"]


def forget_keyboard(language: Language, texts: Texts) -> InlineKeyboardMarkup:
    """Erase (yes) above keep (no), one per row."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.get(language, "privacy.forget-yes"),
                    callback_data=ForgetButton("yes").pack(),
                )
            ],
            [
                InlineKeyboardButton(
                    texts.get(language, "privacy.forget-no"),
                    callback_data=ForgetButton("no").pack(),
                )
            ],
        ]
    )


def erasure_text(outcome: Erasure, language: Language, texts: Texts) -> Html:
    """What was erased, what stays anonymised, and what was already on its way."""
    if not outcome.erased:
        return texts.get(language, "privacy.nothing-stored")
    parts = [texts.get(language, "privacy.forgotten")]
    if outcome.postulates_anonymised:
        parts.append(
            texts.plural(language, "privacy.forgotten-postulates", outcome.postulates_anonymised)
        )
    if outcome.sending:
        parts.append(texts.plural(language, "privacy.forgotten-in-flight", outcome.sending))
    parts.append(texts.get(language, "privacy.forgotten-restart"))
    return Html("\n\n".join(parts))
