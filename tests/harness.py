"""Drive the real Application like a user: `await bot.send(user, "/start")`, `press` a
button by its label, `onboard` a member, let the engine `dispatch` what is due."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Update

from bot.context import App
from bot.deps import Deps
from bot.dispatcher import dispatch_once
from bot.housekeeping import run_housekeeping
from bot.services.users import language_from_telegram
from tests.fakes import BOT_ID, Call, FakeBotApi

_update_ids = itertools.count(1)


@dataclass
class Clock:
    """A pinned clock that tests move by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 26, 10, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass(frozen=True)
class TgUser:
    """A Telegram user as the fake client presents them."""

    id: int
    language_code: str | None = "pl"
    first_name: str = "Anna"
    last_name: str | None = None
    username: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name is not None:
            data["last_name"] = self.last_name
        if self.username is not None:
            data["username"] = self.username
        if self.language_code is not None:
            data["language_code"] = self.language_code
        return data


def _chat(user: TgUser, chat_id: int | None) -> dict[str, Any]:
    if chat_id is None or chat_id == user.id:
        return {"id": user.id, "type": "private", "first_name": user.first_name}
    return {"id": chat_id, "type": "supergroup", "title": "Sector group"}


@dataclass
class BotDriver:
    """The application under test plus its recording network."""

    app: App
    api: FakeBotApi
    clock: Clock

    @property
    def deps(self) -> Deps:
        """The application's dependencies (database, config, texts, clock)."""
        deps = self.app.bot_data["deps"]
        assert isinstance(deps, Deps)
        return deps

    async def dispatch(self) -> list[Call]:
        """Let the delivery engine's job run once: send what is due now; return its calls."""
        before = len(self.api.calls)
        await dispatch_once(self.deps, self.app.bot)
        return self.api.calls[before:]

    async def tick(self) -> list[Call]:
        """Let the clock tick: the housekeeping jobs, then the engine's job; return the calls."""
        before = len(self.api.calls)
        await run_housekeeping(self.deps)
        await dispatch_once(self.deps, self.app.bot)
        return self.api.calls[before:]

    def label(self, user: TgUser, key: str, **values: object) -> str:
        """A button's label as `user` sees it (their Telegram language until they choose)."""
        config = self.deps.config
        language = language_from_telegram(user.language_code, config.default_language)
        return str(self.deps.texts.get(language, key, **values))

    def showing(self, user: TgUser, label: str, chat_id: int | None = None) -> Shown:
        """The newest message on the user's screen with a button labelled `label`."""
        for message in reversed(self.keyboards(user, chat_id)):
            if any(shown == label for shown, _ in message.buttons):
                return message
        raise AssertionError(f"no button {label!r} is shown")

    async def onboard(self, user: TgUser, sectors: Iterable[str] = ()) -> None:
        """A member: /start, the consent button (if asked), then each sector team's deep link."""
        calls = await self.send(user, "/start")
        consent = self.label(user, "button.consent")
        if any(label == consent for call in calls for label, _ in call.buttons()):
            await self.press(user, consent)
        for slug in sectors:
            await self.send(user, f"/start sector-{slug}")

    async def feed(self, data: dict[str, Any]) -> list[Call]:
        """Process one raw update; return the Bot API calls it caused."""
        before = len(self.api.calls)
        data = {"update_id": next(_update_ids), **data}
        update = Update.de_json(data, self.app.bot)
        await self.app.process_update(update)
        return self.api.calls[before:]

    async def send(self, user: TgUser, text: str, chat_id: int | None = None) -> list[Call]:
        """The user types `text` (a command if it starts with /)."""
        message: dict[str, Any] = {
            "message_id": next(_update_ids),
            "date": int(self.clock.now.timestamp()),
            "chat": _chat(user, chat_id),
            "from": user.as_dict(),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self.feed({"message": message})

    async def click(
        self,
        user: TgUser,
        data: str,
        message_id: int = 1,
        chat_id: int | None = None,
        text: str = "…",
    ) -> list[Call]:
        """The user presses an inline button carrying `data` (raw: for forged presses)."""
        query = {
            "id": str(next(_update_ids)),
            "from": user.as_dict(),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(self.clock.now.timestamp()),
                "chat": _chat(user, chat_id),
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "NGO bot"},
                "text": text,
            },
        }
        return await self.feed({"callback_query": query})

    def keyboards(self, user: TgUser, chat_id: int | None = None) -> list[Shown]:
        """The messages in the user's chat that still show inline buttons, newest last."""
        chat = user.id if chat_id is None else chat_id
        shown: dict[int, Shown] = {}
        for call in self.api.calls:
            if call.chat_id != chat:
                continue
            if call.method == "deleteMessage":
                shown.pop(int(call.params.get("message_id", 0)), None)
                continue
            if call.method not in _SHOWING or call.message_id is None:
                continue
            previous = shown.pop(call.message_id, None)
            text = call.text or str(call.params.get("caption", ""))
            if call.method == "editMessageReplyMarkup" and previous is not None:
                text = previous.text
            # Like Telegram: an edit without reply_markup removes the message's buttons.
            buttons = call.buttons()
            if buttons:
                shown[call.message_id] = Shown(call.message_id, text, buttons)
        return list(shown.values())

    async def press(
        self,
        user: TgUser,
        label: str,
        chat_id: int | None = None,
        *,
        exact: bool = True,
        on: str | None = None,
    ) -> list[Call]:
        """The user presses the button they see labelled `label` (the newest message showing it).

        `exact=False` matches a label that contains `label` (for labels with counts or marks);
        `on` picks, among several messages showing the label, the newest whose text has `on`
        (as a user looks for the card about something before pressing its button).
        """
        for message in reversed(self.keyboards(user, chat_id)):
            if on is not None and on not in message.text:
                continue
            for shown_label, data in message.buttons:
                if shown_label == label or (not exact and label in shown_label):
                    if data.startswith(("http://", "https://", "tg://")):
                        raise AssertionError(f"button {label!r} is a link to {data}")
                    return await self.click(user, data, message.message_id, chat_id, message.text)
        visible = [
            shown for message in self.keyboards(user, chat_id) for shown, _ in message.buttons
        ]
        where = "" if on is None else f" on a message with {on!r}"
        raise AssertionError(f"no button {label!r} is shown{where}; visible: {visible}")

    async def my_chat_member(self, user: TgUser, old: str, new: str) -> list[Call]:
        """The user blocks (new="kicked") or restarts (new="member") the bot."""
        bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "NGO bot"}
        change = {
            "chat": _chat(user, None),
            "from": user.as_dict(),
            "date": int(self.clock.now.timestamp()),
            "old_chat_member": _member(old, bot_user),
            "new_chat_member": _member(new, bot_user),
        }
        return await self.feed({"my_chat_member": change})

    async def double_press(
        self, user: TgUser, label: str, chat_id: int | None = None
    ) -> tuple[list[Call], list[Call]]:
        """A double tap: the button labelled `label` pressed twice before the first edit shows.

        Both presses carry the same message and data, as Telegram delivers them.
        """
        for message in reversed(self.keyboards(user, chat_id)):
            for shown_label, data in message.buttons:
                if shown_label == label:
                    first = await self.click(user, data, message.message_id, chat_id, message.text)
                    second = await self.click(user, data, message.message_id, chat_id, message.text)
                    return first, second
        raise AssertionError(f"no button {label!r} is shown")

    async def edit(
        self, user: TgUser, message_id: int, text: str, chat_id: int | None = None
    ) -> list[Call]:
        """The user edits their earlier message `message_id` into `text`."""
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(self.clock.now.timestamp()) - 60,
            "edit_date": int(self.clock.now.timestamp()),
            "chat": _chat(user, chat_id),
            "from": user.as_dict(),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self.feed({"edited_message": message})


_SHOWING = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
        "sendPhoto",
        "sendDocument",
    }
)


@dataclass(frozen=True)
class Shown:
    """A message on the user's screen with its inline buttons (label, callback data or url)."""

    message_id: int
    text: str
    buttons: list[tuple[str, str]]


def _member(status: str, user: dict[str, Any]) -> dict[str, Any]:
    if status == "kicked":
        return {"status": status, "user": user, "until_date": 0}
    return {"status": status, "user": user}


def live_buttons(bot: BotDriver, user: TgUser, prefix: str) -> list[Shown]:
    """The messages on the user's screen whose buttons of one feature (callback data starting
    with `prefix`, e.g. "bc:") are still live: pressable, as the user sees them."""
    live = []
    for message in bot.keyboards(user):
        buttons = [(label, data) for label, data in message.buttons if data.startswith(prefix)]
        if buttons:
            live.append(Shown(message.message_id, message.text, buttons))
    return live


def new_messages(calls: list[Call]) -> list[Call]:
    """The messages the calls added to the chat (text, photo, document), not edits."""
    return [c for c in calls if c.method in ("sendMessage", "sendPhoto", "sendDocument")]


def edited_in_place(calls: list[Call], pressed: Shown) -> bool:
    """Whether the calls of a press turned the pressed message into the next step: it was
    edited (its text), and nothing new was written below it."""
    return not new_messages(calls) and any(
        c.method == "editMessageText" and c.message_id == pressed.message_id for c in calls
    )


def sent_messages(calls: list[Call]) -> list[Call]:
    """The text messages among the calls (sendMessage)."""
    return [c for c in calls if c.method == "sendMessage"]


def texts_of(calls: list[Call]) -> str:
    """Everything the calls showed the user, joined (message texts and alert texts)."""
    return "\n".join(str(c.params.get("text", "")) for c in calls)
