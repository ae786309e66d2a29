"""Onboarding and sector subscriptions, as a user sees them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ADMIN_ID
from tests.harness import BotDriver, TgUser, texts_of
from tests.sql import raw_sql


async def test_start_greets_in_polish_and_asks_for_consent(bot: BotDriver, anna: TgUser) -> None:
    calls = await bot.send(anna, "/start")
    [message] = [c for c in calls if c.method == "sendMessage"]
    assert message.chat_id == anna.id
    assert "Dzień dobry" in message.text
    assert "/privacy" in message.text
    assert message.buttons() == [("✅ Zgadzam się", "consent:yes")]


async def test_start_in_english_for_other_languages(bot: BotDriver, john: TgUser) -> None:
    calls = await bot.send(john, "/start")
    assert "Hello!" in texts_of(calls)


async def test_no_language_code_uses_configured_default(bot: BotDriver) -> None:
    calls = await bot.send(TgUser(id=77, language_code=None), "/start")
    assert "Dzień dobry" in texts_of(calls)


async def test_consent_then_sectors_toggle_in_place(bot: BotDriver, anna: TgUser) -> None:
    await bot.send(anna, "/start")
    calls = await bot.press(anna, "✅ Zgadzam się")
    [offer] = [c for c in calls if c.method == "sendMessage"]
    labels = [label for label, _ in offer.buttons()]
    assert len(labels) == 8
    assert "▫️ Kultura" in labels
    culture = dict(offer.buttons())["▫️ Kultura"]

    calls = await bot.press(anna, "▫️ Kultura")
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert edit.params["message_id"] == offer.message_id
    assert ("✅ Kultura", culture) in edit.buttons()
    assert "Obserwujesz 1 zespół branżowy." in edit.text
    [answer] = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answer.params["text"] == "Zapisano: Kultura"

    calls = await bot.press(anna, "✅ Kultura")
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert edit.params["message_id"] == offer.message_id
    assert ("▫️ Kultura", culture) in edit.buttons()
    assert "Obserwujesz 0 zespołów branżowych." in edit.text


async def test_polish_plural_forms(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    calls = await bot.send(anna, "/sectors")
    labels = [label for label, _ in calls[-1].buttons()]
    expected = {1: "1 zespół branżowy", 2: "2 zespoły branżowe", 5: "5 zespołów branżowych"}
    seen = {}
    for count, label in enumerate(labels[:5], start=1):
        calls = await bot.press(anna, label)
        seen[count] = texts_of([c for c in calls if c.method == "editMessageText"])
    for count, phrase in expected.items():
        assert phrase in seen[count]


async def test_deep_link_subscribes_after_consent(bot: BotDriver, anna: TgUser) -> None:
    calls = await bot.send(anna, "/start sector-culture")
    [message] = [c for c in calls if c.method == "sendMessage"]
    assert message.buttons() == [("✅ Zgadzam się", "consent:yes:culture")]

    calls = await bot.press(anna, "✅ Zgadzam się")
    assert "Zapisano Cię do zespołu branżowego <b>Kultura</b>." in texts_of(calls)

    calls = await bot.send(anna, "/start sector-culture")
    assert "Już obserwujesz" in texts_of(calls)


async def test_deep_link_to_unknown_sector_explains(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    calls = await bot.send(anna, "/start sector-astronomy")
    assert "Nie ma takiego zespołu branżowego." in texts_of(calls)


async def test_sectors_before_consent_is_refused(bot: BotDriver, anna: TgUser) -> None:
    calls = await bot.send(anna, "/sectors")
    assert "Najpierw wyraź zgodę" in texts_of(calls)
    calls = await bot.click(anna, "sectors:toggle:2")
    [answer] = [c for c in calls if c.method == "answerCallbackQuery"]
    assert "Najpierw wyraź zgodę" in answer.params["text"]
    assert not [c for c in calls if c.method == "editMessageText"]


async def test_forged_and_stale_buttons_change_nothing(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    for data in [
        "sectors:toggle:999",
        "sectors:toggle:abc",
        "sectors:toggle:1",
        "nonsense",
        "lang:set:de",
    ]:
        calls = await bot.click(anna, data)
        [answer] = [c for c in calls if c.method == "answerCallbackQuery"]
        assert answer.params["text"] == "Ten przycisk jest już nieaktualny.", data
        assert not [c for c in calls if c.method.startswith("edit")], data
    calls = await bot.send(anna, "/sectors")
    assert "Obserwujesz 0 zespołów branżowych." in texts_of(calls)


async def test_language_switch(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    calls = await bot.send(anna, "/language")
    assert ("🇬🇧 English", "lang:set:en") in calls[-1].buttons()
    calls = await bot.press(anna, "🇬🇧 English")
    assert "Language changed to English." in texts_of(calls)
    calls = await bot.send(anna, "/help")
    assert "Commands" in texts_of(calls)


async def test_personal_command_in_group_points_to_private_chat(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna)
    await bot.press(anna, "▫️ Kultura")
    calls = await bot.send(anna, "/sectors", chat_id=-100123)
    [message] = calls[-1:]
    assert message.chat_id == -100123
    assert "tylko w rozmowie prywatnej" in message.text
    assert "Kultura" not in message.text
    assert message.buttons()[0][1].startswith("https://t.me/ngo_test_bot?start=")


async def test_unknown_command_and_stray_text_point_to_help(bot: BotDriver, anna: TgUser) -> None:
    for typed in ["/frobnicate", "hello there"]:
        calls = await bot.send(anna, typed)
        assert "/help" in texts_of(calls)


async def test_help_lists_admin_section_for_admin(bot: BotDriver) -> None:
    admin = TgUser(id=900, language_code="en")
    calls = await bot.send(admin, "/help")
    assert "coordinating team" in texts_of(calls)
    calls = await bot.send(TgUser(id=901, language_code="en"), "/help")
    assert "coordinating team" not in texts_of(calls)


async def test_blocking_marks_inactive_and_restart_reactivates(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna)
    db = bot.app.bot_data["deps"].db
    await bot.my_chat_member(anna, "member", "kicked")
    user = await db.run(lambda unit: unit.users.get_user(anna.id))
    assert user is not None
    assert user.active is False
    await bot.my_chat_member(anna, "kicked", "member")
    user = await db.run(lambda unit: unit.users.get_user(anna.id))
    assert user is not None
    assert user.active is True


async def test_nothing_but_id_and_language_before_consent(bot: BotDriver, anna: TgUser) -> None:
    await bot.send(anna, "/start")
    db = bot.app.bot_data["deps"].db

    def dump(conn: object) -> list[tuple[object, ...]]:
        import sqlite3

        assert isinstance(conn, sqlite3.Connection)
        rows = conn.execute("SELECT * FROM users").fetchall()
        return [tuple(row) for row in rows]

    rows = await db.run(raw_sql(dump))
    assert len(rows) == 1
    # Migration 0020 added the name columns at the end; they stay NULL before consent too.
    user_id, language, _chosen, consent_at, version, _active, org, _created, *names = rows[0]
    assert names == [None] * len(names)
    assert (user_id, language, consent_at, version, org) == (anna.id, "pl", None, None, None)


async def test_command_menus_set_in_both_languages(bot: BotDriver) -> None:
    calls = bot.api.sent("setMyCommands")
    by_language = {c.params.get("language_code"): c.params["commands"] for c in calls}
    assert {"pl", "en", None} <= set(by_language)
    assert by_language["pl"][0] == {
        "command": "sectors",
        "description": "Zespoły branżowe: zapisz się lub wypisz",
    }
    assert by_language["en"][0]["description"] == "Sector teams: subscribe or unsubscribe"


async def test_cancel_outside_a_conversation(bot: BotDriver, anna: TgUser) -> None:
    calls = await bot.send(anna, "/cancel")
    assert texts_of(calls) == "Nie ma nic do przerwania."


async def test_unexpected_error_is_apologised_for_in_the_users_language(
    bot: BotDriver, john: TgUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.services import sectors as sectors_service

    await bot.onboard(john)

    async def broken(*_args: object) -> None:
        raise RuntimeError("storage exploded")

    monkeypatch.setattr(sectors_service, "sectors_view", broken)
    calls = await bot.send(john, "/sectors")
    assert texts_of(calls) == "Something went wrong on my side. Please try again in a moment."


def _registered_commands(bot: BotDriver) -> set[str]:
    from telegram.ext import BaseHandler, CommandHandler, ConversationHandler

    found: set[str] = set()

    def visit(handler: BaseHandler[Any, Any, Any]) -> None:
        if isinstance(handler, CommandHandler):
            found.update(handler.commands)
        elif isinstance(handler, ConversationHandler):
            for inner in [
                *handler.entry_points,
                *handler.fallbacks,
                *(h for hs in handler.states.values() for h in hs),
            ]:
                visit(inner)

    for group in bot.app.handlers.values():
        for handler in group:
            visit(handler)
    return found


async def test_help_and_menu_name_only_commands_that_exist(bot: BotDriver) -> None:
    import re

    registered = _registered_commands(bot)
    texts = bot.app.bot_data["deps"].texts
    for language in ("pl", "en"):
        for key in ("help.member", "help.moderator", "help.admin"):
            named = set(re.findall(r"(?<![<\w])/([a-z_]+)", texts.get(language, key, sectors="")))
            assert named <= registered, (language, key, named - registered)
    menu = {
        c.params["commands"][i]["command"]
        for c in bot.api.sent("setMyCommands")
        for i in range(len(c.params["commands"]))
    }
    assert menu <= registered
    assert {"meetings", "postulate"} <= menu


async def test_moderator_help_lists_meeting_and_review_commands(bot: BotDriver) -> None:
    import sqlite3

    moderator = TgUser(id=4242, language_code="en")

    def grant(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO moderators (user_id, team_id, granted_at) "
            "SELECT 4242, id, '2026-11-26T10:00:00.000000+00:00' FROM teams WHERE slug = 'culture'"
        )

    await bot.app.bot_data["deps"].db.run(raw_sql(grant))
    shown = texts_of(await bot.send(moderator, "/help"))
    assert "You moderate the sector teams:</b> Culture" in shown
    assert "/new_meeting" in shown
    assert "/review" in shown
    assert "coordinating team" not in shown


PERSONAL_COMMANDS = [
    "/start",
    "/start sector-culture",
    "/start meeting-1",
    "/sectors",
    "/language",
    "/mydata",
    "/forget",
    "/organisation",
    "/postulate",
    "/my_postulates",
    "/postulates",
    "/support 1",
    "/call",
    "/review",
    "/export",
    "/meetings",
    "/schedule",
    "/meeting 1",
    "/calendar",
    "/settings",
    "/stats",
    "/new_meeting",
    "/edit_meeting 1",
    "/cancel_meeting 1",
    "/broadcast",
    "/broadcasts",
    "/grant",
    "/revoke",
    "/team",
    "/audit",
]


@pytest.mark.parametrize("command", PERSONAL_COMMANDS)
async def test_every_personal_command_in_a_group_points_to_the_private_chat(
    bot: BotDriver, command: str
) -> None:
    admin = TgUser(id=ADMIN_ID, first_name="Admin")
    await bot.onboard(admin)
    calls = await bot.send(admin, command, chat_id=-100123)
    [message] = calls
    assert message.chat_id == -100123
    assert message.text == "To polecenie działa tylko w rozmowie prywatnej ze mną."
    [[(_, link)]] = [[button] for button in message.buttons()]
    assert link == "https://t.me/ngo_test_bot?start=from-group"


async def test_unknown_command_and_cancel_in_a_group_stay_quiet(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna)
    for typed in ["/frobnicate", "/cancel", "hello there"]:
        assert await bot.send(anna, typed, chat_id=-100123) == []


@pytest.mark.parametrize(
    "data", ["sectors:toggle:2", "consent:yes", "lang:set:en", "set:quiet", "priv:forget:yes"]
)
async def test_personal_button_pressed_in_a_group_is_refused(
    bot: BotDriver, anna: TgUser, data: str
) -> None:
    await bot.onboard(anna)
    calls = await bot.click(anna, data, chat_id=-100123)
    [answer] = calls
    assert answer.method == "answerCallbackQuery"
    assert answer.params["text"] == "To polecenie działa tylko w rozmowie prywatnej ze mną."
    assert answer.params["show_alert"] is True


async def test_forged_button_in_a_group_is_stale(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    [answer] = await bot.click(anna, "nothing:here", chat_id=-100123)
    assert answer.params["text"] == "Ten przycisk jest już nieaktualny."
