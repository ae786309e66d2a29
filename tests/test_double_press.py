"""A double tap on any confirm button acts once and shows no error, like Telegram delivers it.

The fake Bot API answers an edit that changes nothing with Telegram's "message is not
modified" 400 (tests/fakes.py), so the second press meets what it meets in production.
"""

from __future__ import annotations

import sqlite3

from tests.conftest import ADMIN_ID
from tests.fakes import Call
from tests.harness import BotDriver, TgUser, texts_of
from tests.meeting_factory import add_meeting
from tests.sql import raw_sql
from tests.test_broadcasts import draft, write
from tests.test_meetings import new_meeting
from tests.test_organisation import register
from tests.test_postulates_helpers import (
    db_of,
    last_buttons,
    make_moderator,
    submit,
    team_id,
)
from tests.test_roles import forward as forward_message
from tests.test_roles import from_user, grant_sector, invite_token

ADMIN = TgUser(id=ADMIN_ID, language_code="pl", first_name="Admin")
MOD = TgUser(id=2001, language_code="pl", first_name="Mod")


def label(bot: BotDriver, key: str, language: str = "pl", **values: object) -> str:
    """The label a user sees on a button, from the catalogue."""
    return str(bot.app.bot_data["deps"].texts.get(language, key, **values))


async def count(bot: BotDriver, sql: str, *params: object) -> int:
    def read(conn: sqlite3.Connection) -> int:
        value: int = conn.execute(sql, params).fetchone()[0]
        return value

    return await db_of(bot).run(raw_sql(read))


def assert_quiet_repeat(bot: BotDriver, second: list[Call]) -> None:
    """The second press is answered, sends nothing new and never says something went wrong."""
    assert any(c.method == "answerCallbackQuery" for c in second), second
    shown = texts_of(second)
    for language in ("pl", "en"):
        assert label(bot, "error.generic", language) not in shown
    assert not [c for c in second if c.method.startswith("send")], second


async def test_consent(bot: BotDriver, anna: TgUser) -> None:
    await bot.send(anna, "/start")
    _, second = await bot.double_press(anna, label(bot, "button.consent"))
    assert_quiet_repeat(bot, second)
    assert await count(bot, "SELECT count(*) FROM users WHERE consent_at IS NOT NULL") == 1


async def test_postulate_submit(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/postulate")
    calls = await bot.click(anna, f"pst:sector:{await team_id(bot, 'culture')}")
    if "pst:behalf:organisation" in last_buttons(calls).values():
        await bot.click(anna, "pst:behalf:organisation")
    await bot.send(anna, "Więcej zieleni w centrum")
    await bot.send(anna, "Proponujemy nasadzenia drzew wzdłuż Plant i przy szkołach.")
    await bot.click(anna, "pst:done")
    calls = await bot.click(anna, "pst:skip")
    if "pst:continue" in last_buttons(calls).values():
        await bot.click(anna, "pst:continue")
    first, second = await bot.double_press(anna, label(bot, "postulates.button-submit"))
    assert "P-" in texts_of(first)
    assert_quiet_repeat(bot, second)
    assert await count(bot, "SELECT count(*) FROM postulates") == 1


async def test_review_decision(bot: BotDriver, anna: TgUser) -> None:
    for person in (ADMIN, MOD, anna):
        await bot.onboard(person)
    await make_moderator(bot, MOD, "culture")
    reference = await submit(bot, anna)
    await bot.send(MOD, "/review")
    await bot.press(MOD, reference)
    await bot.press(MOD, label(bot, "postulates.action-forward"))
    _, second = await bot.double_press(MOD, label(bot, "postulates.button-confirm"))
    assert_quiet_repeat(bot, second)
    assert await count(bot, "SELECT count(*) FROM postulate_history WHERE action = 'forward'") == 1


async def test_meeting_publish(bot: BotDriver) -> None:
    await bot.onboard(MOD)
    await make_moderator(bot, MOD, "culture")
    await new_meeting(bot, MOD)
    _, second = await bot.double_press(MOD, label(bot, "meetings.button-publish"))
    assert_quiet_repeat(bot, second)
    assert await count(bot, "SELECT count(*) FROM meetings") == 1


async def test_meeting_cancel(bot: BotDriver) -> None:
    await bot.onboard(MOD)
    await make_moderator(bot, MOD, "culture")
    meeting = await add_meeting(bot)
    await bot.send(MOD, f"/cancel_meeting {meeting}")
    _, second = await bot.double_press(MOD, label(bot, "meetings.button-cancel-one"))
    assert_quiet_repeat(bot, second)
    assert await count(bot, "SELECT count(*) FROM audit_log WHERE action = 'meeting.cancel'") == 1


async def test_broadcast_send(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(MOD)
    await make_moderator(bot, MOD, "culture")
    await draft(bot, MOD)
    await write(bot, MOD, text="Zapraszamy na spotkanie")
    await bot.click(MOD, "bc:now")
    _, second = await bot.double_press(MOD, label(bot, "broadcasts.button-confirm"))
    assert_quiet_repeat(bot, second)
    assert await count(bot, "SELECT count(*) FROM broadcasts") == 1


async def test_invite_accept(bot: BotDriver, john: TgUser) -> None:
    await bot.onboard(ADMIN)
    token = await invite_token(bot, "education")
    await bot.onboard(john)
    await bot.send(john, f"/start mod-{token}")
    _, second = await bot.double_press(john, label(bot, "roles.button-accept", "en"))
    assert_quiet_repeat(bot, second)
    assert await count(bot, "SELECT count(*) FROM moderators") == 1


async def test_revoke_confirm(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(ADMIN)
    await bot.onboard(anna)
    await grant_sector(bot)
    await forward_message(bot, ADMIN, from_user(anna))
    await bot.send(ADMIN, "/revoke")
    await bot.press(ADMIN, "Anna", exact=False)
    _, second = await bot.double_press(ADMIN, label(bot, "roles.button-revoke-yes"))
    assert_quiet_repeat(bot, second)
    assert await count(bot, "SELECT count(*) FROM audit_log WHERE action = 'role.revoke'") == 1


async def test_organisation_save(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await fill_and_save_without_pressing(bot, anna)
    _, second = await bot.double_press(anna, label(bot, "organisation.button-save"))
    assert_quiet_repeat(bot, second)
    assert await count(bot, "SELECT count(*) FROM organisations") == 1


async def fill_and_save_without_pressing(bot: BotDriver, user: TgUser) -> None:
    """Answer /organisation up to the summary with its Save button."""
    await bot.send(user, "/organisation")
    await bot.send(user, "Fundacja Zielony Kraków")
    await bot.press(user, label(bot, "organisation.button-none"))
    await bot.press(user, label(bot, "organisation.button-skip"))
    await bot.press(user, label(bot, "organisation.button-skip"))


async def test_stop_representing(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await register(bot, anna, "Fundacja Zielony Kraków", "none")
    await bot.send(anna, "/organisation")
    await bot.press(anna, label(bot, "organisation.button-leave"))
    _, second = await bot.double_press(anna, label(bot, "organisation.button-leave-yes"))
    assert_quiet_repeat(bot, second)
    assert await count(bot, "SELECT count(*) FROM users WHERE organisation_id IS NULL") == 1


async def test_forget_confirm(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/forget")
    _, second = await bot.double_press(anna, label(bot, "privacy.forget-yes"))
    assert_quiet_repeat(bot, second)
    assert await count(bot, "SELECT count(*) FROM users WHERE consent_at IS NOT NULL") == 0


async def test_rsvp_going(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    meeting = await add_meeting(bot)
    await bot.send(anna, f"/start meeting-{meeting}")
    _, second = await bot.double_press(anna, label(bot, "meetings.card-going"))
    assert_quiet_repeat(bot, second)
    assert await count(bot, "SELECT count(*) FROM rsvps WHERE answer = 'going'") == 1
