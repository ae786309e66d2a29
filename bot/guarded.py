"""The bot every message leaves through: Telegram's limits checked once, before the request."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import BadRequest
from telegram.ext import ExtBot

from bot import limits

log = logging.getLogger(__name__)


def keyboard_problem(markup: InlineKeyboardMarkup) -> str | None:
    """What Telegram would refuse in this inline keyboard (None: nothing)."""
    # Only str callback data reaches Telegram (arbitrary callback data is off).
    return limits.keyboard_problem(
        [
            [(b.text, b.callback_data if isinstance(b.callback_data, str) else None) for b in row]
            for row in markup.inline_keyboard
        ]
    )


class CheckedKeyboard(InlineKeyboardMarkup):
    """A keyboard checked against Telegram's limits once, when it is made.

    PTB freezes a keyboard and its buttons once built, so the verdict holds for every send
    of the same object: a keyboard drawn once and sent to many (handlers/views/drawn.py) is
    not walked again on each request.
    """

    __slots__ = ("_problem",)

    def __init__(self, markup: InlineKeyboardMarkup) -> None:
        super().__init__(markup.inline_keyboard)
        self._problem = keyboard_problem(self)

    @property
    def problem(self) -> str | None:
        """What Telegram would refuse in it, as found when it was made."""
        return self._problem


# Bot API methods that edit a message: answered True here (GuardedBot._do_post).
EDITS = frozenset(
    {"editMessageText", "editMessageCaption", "editMessageMedia", "editMessageReplyMarkup"}
)


class GuardedBot(ExtBot[None]):
    """The bot every message leaves through: Telegram's limits are checked before the request.

    Cards and lists are designed to fit; this catches what slips through. A text or caption
    over its limit is shortened with a marker (never inside a tag or entity) and logged;
    callback data over 64 bytes, keyboards over 100 buttons and an over-long text whose HTML
    Telegram cannot parse are refused here with the BadRequest Telegram would answer (HTML
    within the limit is left to Telegram, which refuses it with the same error). The
    Message returned for a send comes without the keyboard Telegram echoes; an edit returns
    True.
    """

    async def _do_post(
        self,
        endpoint: str,
        data: JSONDict,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> bool | JSONDict | list[JSONDict]:
        _guard(endpoint, data)
        result = await super()._do_post(
            endpoint,
            data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        if isinstance(result, dict) and "message_id" in result:
            if endpoint in EDITS:
                # An edit answers the edited Message, which PTB would parse back into objects
                # (~70 us of a sector toggle's ~400: bench/updates.py). Its id is the one
                # the edit named, and nothing here reads the rest: True, as Telegram answers
                # an edit of an inline message.
                return True
            # Telegram answers a send with the whole Message, the inline keyboard we just
            # sent included; PTB would parse it back into objects (~180 us for a /meetings
            # page, more than the bot's own work on it: bench/updates.py), and nothing here
            # reads it. Incoming updates (getUpdates, webhook) are not touched.
            result.pop("reply_markup", None)
        return result


def _guard(endpoint: str, data: JSONDict) -> None:
    """Make `data` fit Telegram's limits in place, or raise the BadRequest Telegram would."""
    parse_mode = data.get("parse_mode")
    html_mode = isinstance(parse_mode, str) and parse_mode.upper() == "HTML"
    for key, limit in (("text", limits.TEXT_LIMIT), ("caption", limits.CAPTION_LIMIT)):
        value = data.get(key)
        if not isinstance(value, str) or endpoint == "answerCallbackQuery":
            continue
        data[key] = _fit(endpoint, key, value, limit, html_mode)
    if endpoint == "answerCallbackQuery" and isinstance(data.get("text"), str):
        data["text"] = limits.plain_prefix(str(data["text"]), limits.ALERT_LIMIT)
    markup = data.get("reply_markup")
    if isinstance(markup, InlineKeyboardMarkup):
        if isinstance(markup, CheckedKeyboard):
            problem = markup.problem
        else:
            problem = keyboard_problem(markup)
        if problem is not None:
            log.error("Refused %s before sending: %s", endpoint, problem)
            raise BadRequest(problem)


def _fit(endpoint: str, key: str, value: str, limit: int, html_mode: bool) -> str:
    if limits.utf16_len(value) <= limit:
        # Parsing entities only removes tags and shortens `&amp;`: a raw text within the
        # limit is within it parsed too. Not parsing it is the common path's saving (~0.26 ms
        # an update); HTML Telegram cannot parse is then refused by Telegram itself, with
        # the same BadRequest, and the tests' strict fake refuses it the same way.
        return value
    if html_mode:
        try:
            length = limits.html_length(value)
        except limits.InvalidHtml as exc:
            log.error("Refused %s before sending: invalid HTML in %s: %s", endpoint, key, exc)
            raise BadRequest(f"Can't parse entities: {exc}") from exc
        if length <= limit:
            return value
        log.warning("Shortened the %s of %s: %d > %d UTF-16 units", key, endpoint, length, limit)
        return limits.shorten(value, limit)
    log.warning("Shortened the %s of %s to %d UTF-16 units", key, endpoint, limit)
    return limits.plain_prefix(value, limit)
