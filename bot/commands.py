"""The command menu shown by Telegram clients, per language (setMyCommands at start)."""

from __future__ import annotations

from telegram import BotCommand

from bot.config import LANGUAGES
from bot.i18n import Texts

# Commands every member sees in the menu; moderator and admin commands are listed by /help.
MENU = (
    "sectors",
    "meetings",
    "calendar",
    "postulate",
    "my_postulates",
    "consultation",
    "my_comments",
    "organisation",
    "settings",
    "language",
    "privacy",
    "mydata",
    "forget",
    "help",
    "cancel",
)


def menu(texts: Texts, language: str) -> list[BotCommand]:
    """The menu in one language; descriptions come from the catalogue (`command.<name>`)."""
    return [BotCommand(name, texts.get(language, f"command.{name}")) for name in MENU]


def menus(texts: Texts) -> dict[str, list[BotCommand]]:
    """The menu for every supported language."""
    return {language: menu(texts, language) for language in LANGUAGES}
