"""Malformed and odd updates through Update.de_json and the real handlers: no crash.

Updates are built as raw dicts (what Telegram, a buggy client or a future API version may send):
missing fields, 100,000-character texts, entities pointing past the text, unknown entity and
update types, buttons without a message or data, commands addressed to other bots, group and
channel chats. Each goes through `Update.de_json` and `Application.process_update`; an extra
error handler counts what reached PTB's error handling, which must be nothing. Where a reply
is due (a private chat), one comes, under Telegram's 4,096 limit; an over-long answer in a
conversation is refused with the limit named.

An update `Update.de_json` itself cannot read never reaches the handlers: the production
request guard skips it (tests/test_process.py::test_unreadable_update_is_skipped...).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Update

from bot.config import Config
from bot.i18n import Texts
from tests.conftest import start_driver, stop_driver
from tests.fakes import BOT_ID, BOT_USERNAME, Call
from tests.harness import BotDriver, Clock, TgUser
from tests.meeting_factory import add_meeting
from tests.sql import raw_sql
from tests.test_postulates_helpers import team_id

HUGE = 100_000
USER = TgUser(id=3101, language_code="pl", first_name="Ola")
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "NGO bot", "username": BOT_USERNAME}
DATE = 1_790_000_000


@pytest.fixture
async def watched(config: Config, clock: Clock) -> AsyncIterator[tuple[BotDriver, list[object]]]:
    """The bot plus every error that reached PTB's error handlers."""
    driver = await start_driver(config, clock)
    errors: list[object] = []

    async def count(update: object, context: Any) -> None:
        errors.append(context.error)

    driver.app.add_error_handler(count)
    try:
        yield driver, errors
    finally:
        await stop_driver(driver)


def private(user_id: int = USER.id) -> dict[str, Any]:
    return {"id": user_id, "type": "private", "first_name": "Ola"}


def group(chat_id: int = -100123) -> dict[str, Any]:
    return {"id": chat_id, "type": "supergroup", "title": "Sektor"}


def message(text: str | None = None, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "message_id": 77,
        "date": DATE,
        "chat": private(),
        "from": USER.as_dict(),
    }
    if text is not None:
        data["text"] = text
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def command(text: str, **fields: Any) -> dict[str, Any]:
    name = text.split()[0] if text.split() else text
    entities = [{"type": "bot_command", "offset": 0, "length": len(name)}]
    return message(text, entities=entities, **fields)


def query(data: str | None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "q1",
        "from": USER.as_dict(),
        "chat_instance": "ci",
        "message": {
            "message_id": 5,
            "date": DATE,
            "chat": private(),
            "from": BOT_USER,
            "text": "…",
        },
    }
    if data is not None:
        body["data"] = data
    body.update(fields)
    return {key: value for key, value in body.items() if value is not None}


# name -> (update without update_id, whether a private reply is due)
CASES: dict[str, tuple[dict[str, Any], bool]] = {
    "huge text": ({"message": message("ą<b>&" * (HUGE // 5))}, True),
    "huge command argument": ({"message": command("/start " + "x" * HUGE)}, True),
    "huge unknown command": ({"message": command("/" + "a" * HUGE)}, True),
    "empty text": ({"message": message("")}, False),
    "entity past the end": (
        {"message": message("hi", entities=[{"type": "bold", "offset": 5, "length": 10**6}])},
        True,
    ),
    "command entity past the end": (
        {"message": message("/", entities=[{"type": "bot_command", "offset": 3, "length": 40}])},
        False,
    ),
    "negative entity": (
        {
            "message": message(
                "/start", entities=[{"type": "bot_command", "offset": -4, "length": 9}]
            )
        },
        False,
    ),
    "unknown entity type": (
        {"message": message("<i>x</i>", entities=[{"type": "hologram", "offset": 0, "length": 3}])},
        True,
    ),
    "text link with javascript": (
        {
            "message": message(
                "klik",
                entities=[{"type": "text_link", "offset": 0, "length": 4, "url": "javascript:x"}],
            )
        },
        True,
    ),
    "command without a sender": ({"message": command("/start", **{"from": None})}, False),
    "group command without a sender": (
        {"message": command(f"/sectors@{BOT_USERNAME}", chat=group(), **{"from": None})},
        False,
    ),
    "no sender": ({"message": message("/start", **{"from": None})}, False),
    "no language": (
        {
            "message": command(
                "/start", **{"from": {"id": USER.id, "is_bot": False, "first_name": ""}}
            )
        },
        True,
    ),
    "odd language": (
        {"message": command("/help", **{"from": {**USER.as_dict(), "language_code": "x" * 300}})},
        True,
    ),
    "sender is a bot": (
        {"message": command("/start", **{"from": {"id": 777, "is_bot": True, "first_name": "b"}})},
        False,
    ),
    "sticker only": (
        {
            "message": message(
                sticker={
                    "file_id": "s",
                    "file_unique_id": "u",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                }
            )
        },
        False,
    ),
    "command for another bot": ({"message": command("/start@other_bot")}, False),
    "command for this bot in a group": (
        {"message": command(f"/sectors@{BOT_USERNAME}", chat=group())},
        False,
    ),
    "huge text in a group": ({"message": message("y" * HUGE, chat=group())}, False),
    "edited command": ({"edited_message": command("/start", edit_date=DATE + 5)}, False),
    "channel post": (
        {
            "channel_post": {
                "message_id": 1,
                "date": DATE,
                "chat": {"id": -1009, "type": "channel", "title": "News"},
                "text": "/start",
            }
        },
        False,
    ),
    "unknown update type": ({"brand_new_kind": {"anything": [1, {"x": None}]}}, False),
    "only an update id": ({}, False),
    "button without data": ({"callback_query": query(None)}, False),
    "button without message": (
        {"callback_query": query("sectors:toggle:1", message=None, inline_message_id="im")},
        False,
    ),
    "button with a game": (
        {"callback_query": query(None, game_short_name="tetris")},
        False,
    ),
    "button with huge data": ({"callback_query": query("consent:yes:" + "9" * 5000)}, False),
    "button with unicode data": ({"callback_query": query("sectors:toggle:١٢")}, False),
    "button with negative id": ({"callback_query": query("sectors:toggle:-1")}, False),
    "button with an id past 64 bits": (
        {"callback_query": query("sectors:toggle:" + "9" * 30)},
        False,
    ),
    "membership of an unknown status": (
        {
            "my_chat_member": {
                "chat": private(),
                "from": USER.as_dict(),
                "date": DATE,
                "old_chat_member": {"status": "member", "user": BOT_USER},
                "new_chat_member": {"status": "teleported", "user": BOT_USER},
            }
        },
        False,
    ),
    "bot added to a group": (
        {
            "my_chat_member": {
                "chat": group(),
                "from": USER.as_dict(),
                "date": DATE,
                "old_chat_member": {"status": "left", "user": BOT_USER},
                "new_chat_member": {
                    "status": "administrator",
                    "user": BOT_USER,
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                },
            }
        },
        False,
    ),
}


def replies(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method in ("sendMessage", "editMessageText")]


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("consented", [False, True], ids=["new", "member"])
async def test_malformed_update_never_reaches_the_error_handler(
    watched: tuple[BotDriver, list[object]],
    caplog: pytest.LogCaptureFixture,
    name: str,
    consented: bool,
) -> None:
    bot, errors = watched
    if consented:
        await bot.onboard(USER)
    data, reply_due = CASES[name]
    caplog.set_level(logging.WARNING)

    calls = await bot.feed(data)

    assert errors == [], name
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], name
    sent = replies(calls)
    assert all(len(c.text) <= 4096 for c in sent)
    if reply_due:
        assert sent, f"{name}: a private message got no answer"
    # Buttons are always answered (never left spinning), however odd their data.
    if "callback_query" in data and data["callback_query"].get("data") is not None:
        assert any(c.method == "answerCallbackQuery" for c in calls), name
    # The bot keeps working for the same user afterwards.
    assert replies(await bot.send(USER, "/help"))


async def test_every_case_is_readable_by_ptb() -> None:
    """The cases above really reach the handlers (de_json accepts them)."""
    for name, (data, _) in CASES.items():
        assert Update.de_json({"update_id": 1, **data}, None) is not None, name


async def test_over_long_postulate_answers_name_the_limit(
    watched: tuple[BotDriver, list[object]],
) -> None:
    bot, errors = watched
    texts = Texts()
    await bot.onboard(USER)
    culture = await team_id(bot, "culture")
    await bot.send(USER, "/postulate")
    await bot.click(USER, f"pst:sector:{culture}")

    calls = await bot.send(USER, "T" * HUGE)
    title_error = texts.get("pl", "postulates.error-title-long", length=HUGE, maximum=150)
    assert title_error in "\n".join(c.text for c in replies(calls))

    await bot.send(USER, "Więcej zieleni w centrum")
    calls = await bot.send(USER, "C" * HUGE)
    content_error = texts.get("pl", "postulates.error-content-long", length=HUGE, maximum=3500)
    shown = "\n".join(c.text for c in replies(calls))
    assert "3500" in shown, shown
    assert content_error.split("{")[0][:20] in shown
    assert errors == []


async def test_over_long_organisation_name_names_the_limit(
    watched: tuple[BotDriver, list[object]],
) -> None:
    bot, errors = watched
    await bot.onboard(USER)
    await bot.send(USER, "/organisation")
    calls = await bot.send(USER, "N" * HUGE)
    shown = "\n".join(c.text for c in replies(calls))
    assert "200" in shown, shown
    assert str(HUGE) in shown
    assert errors == []


async def test_ids_in_other_scripts_are_stale_buttons(
    watched: tuple[BotDriver, list[object]],
) -> None:
    """The bot only makes ASCII buttons: "rsvp:going:١" (Arabic-Indic 1) is forged data."""
    bot, errors = watched
    await bot.onboard(USER)
    meeting = await add_meeting(bot)
    assert meeting == 1
    calls = await bot.click(USER, "rsvp:going:\u0661")

    db = bot.app.bot_data["deps"].db
    rows = await db.run(
        raw_sql(lambda conn: conn.execute("SELECT count(*) FROM rsvps").fetchone()[0])
    )
    assert errors == []
    assert any(c.method == "answerCallbackQuery" for c in calls)
    assert rows == 0
