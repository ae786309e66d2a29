"""Keyboards drawn once and sent many times (the hot paths: /meetings pages, sector toggles)."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup

from bot.guarded import CheckedKeyboard


class DrawnKeyboard(CheckedKeyboard):
    """A keyboard serialised and checked once: PTB turns reply_markup into a dict on every
    request (`to_dict`, ~90 us for a dozen buttons), more than the rest of a cached reply
    costs, and GuardedBot walked every button for Telegram's limits on every send."""

    __slots__ = ("_as_dict",)

    def __init__(self, markup: InlineKeyboardMarkup) -> None:
        super().__init__(markup)
        # PTB freezes public attributes only; the dict is only read (json.dumps), never changed.
        self._as_dict = super().to_dict()

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        """The Bot API's form of the keyboard, made once."""
        return self._as_dict if recursive else super().to_dict(recursive)
