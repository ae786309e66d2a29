"""Consultations, what the flows share: their steps, timeout and replies."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import IntEnum

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler

from bot.context import Ctx
from handlers import flow
from handlers.common import (
    require_actor,
    require_query,
)

END = flow.END
TIMEOUT = timedelta(hours=2)
LINK = re.compile(r"consultation-([0-9]{1,9})")
Handler = BaseHandler[Update, Ctx, object]


class NewStep(IntEnum):
    TITLE = 1
    OPENS = 2
    CLOSES = 3
    AUDIENCE = 4
    DOCUMENT = 5
    PREVIEW = 6


class CommentStep(IntEnum):
    BODY = 1
    WORDING = 2
    BEHALF = 3
    PREVIEW = 4


class AnswerStep(IntEnum):
    JUSTIFICATION = 1


def _language(context: Ctx) -> str:
    return require_actor(context).language


async def _edit(update: Update, body: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Show the new state in the message the press came from."""
    query = require_query(update)
    await query.answer()
    await query.edit_message_text(body, reply_markup=markup)
