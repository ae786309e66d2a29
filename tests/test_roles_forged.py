"""Roles: forged, stale and racing presses of `role:` buttons change nothing and are answered
(raw callback data on purpose: no screen offers these presses)."""

from __future__ import annotations

import asyncio

from tests.harness import BotDriver, TgUser, texts_of
from tests.meeting_factory import make_moderator
from tests.test_roles import (
    ADMIN,
    LINK,
    MOD,
    alert,
    audit_rows,
    forward,
    from_user,
    grant_sector,
    invite_token,
    moderators,
    rows,
    team_id,
)


async def test_forged_sector_buttons_in_grant(bot: BotDriver) -> None:
    await bot.onboard(ADMIN)
    await bot.send(ADMIN, "/grant")
    calls = await bot.click(ADMIN, "role:sector:999999")
    assert alert(calls)
    coordination = await rows(bot, "SELECT id FROM teams WHERE kind = 'coordination'")
    if coordination:
        calls = await bot.click(ADMIN, f"role:sector:{coordination[0][0]}")
        assert alert(calls)
    calls = await bot.click(ADMIN, "role:sector:abc")
    assert calls[-1].method == "answerCallbackQuery"


async def test_forged_accept_of_an_unknown_invite(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    calls = await bot.click(anna, "role:accept:" + "y" * 32)
    assert "nieważny" in alert(calls)
    assert await moderators(bot) == []


async def test_an_old_confirmation_revokes_nothing_twice(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(ADMIN)
    await bot.onboard(anna)
    await grant_sector(bot)
    await forward(bot, ADMIN, from_user(anna))
    culture = await team_id(bot, "culture")
    await bot.send(ADMIN, "/revoke")
    await bot.press(ADMIN, "Culture: Anna")
    await bot.press(ADMIN, "Yes, revoke")
    # The confirmation's button, replayed after the role went.
    calls = await bot.click(ADMIN, f"role:revoke-yes:{culture}:{anna.id}")
    assert "no longer moderates that sector" in alert(calls)
    assert len([e for e in await audit_rows(bot) if e[1] == "role.revoke"]) == 1
    # The picker's button, replayed: answered, nothing is sent.
    calls = await bot.click(ADMIN, f"role:revoke:{culture}:{anna.id}")
    assert alert(calls)
    assert not [c for c in calls if c.method == "sendMessage"]


async def test_permission_matrix_members_and_moderators_change_nothing(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await bot.onboard(ADMIN)
    await bot.onboard(anna)  # member
    await bot.onboard(MOD)
    await make_moderator(bot, MOD.id, "culture")  # moderator of culture
    await bot.onboard(john)
    await make_moderator(bot, john.id, "education")
    culture = await team_id(bot, "culture")
    education = await team_id(bot, "education")
    before = await moderators(bot)

    for user in (anna, MOD):
        calls = await bot.send(user, "/grant")
        assert "Tylko zespół koordynacyjny" in texts_of(calls)
        assert calls[-1].buttons() == []
        calls = await bot.send(user, "/revoke")
        assert "Tylko zespół koordynacyjny" in texts_of(calls)
        for data in (
            f"role:sector:{culture}",
            f"role:invite:{culture}",
            f"role:invite:{education}",
            f"role:revoke:{education}:{john.id}",
            f"role:revoke-yes:{education}:{john.id}",
            f"role:revoke-yes:{culture}:{MOD.id}",
        ):
            calls = await bot.click(user, data)
            assert "nieaktualny" in alert(calls).lower() or alert(calls), data
            assert not [c for c in calls if c.method == "sendMessage"], data
        # A forwarded message outside /grant grants nothing.
        await forward(bot, user, from_user(anna))
    calls = await bot.send(anna, "/team")
    assert "dla moderatorów" in texts_of(calls)
    assert await moderators(bot) == before
    assert await rows(bot, "SELECT count(*) FROM moderator_invites") == [(0,)]
    assert await audit_rows(bot) == []
    assert await rows(bot, "SELECT count(*) FROM announcements") == [(0,)]

    # The admin may do each of them.
    calls = await bot.click(ADMIN, f"role:invite:{culture}")  # an older invite button
    assert LINK.search(texts_of(calls))
    calls = await bot.click(ADMIN, f"role:revoke-yes:{education}:{john.id}")
    assert "no longer moderates" in texts_of(calls)


async def test_forged_role_payloads_are_stale(bot: BotDriver) -> None:
    await bot.onboard(ADMIN)
    for data in ("role:revoke:x:1", "role:revoke-yes:1", "role:accept:", "role:keep:1"):
        calls = await bot.click(ADMIN, data)
        assert calls[-1].method == "answerCallbackQuery", data
        assert calls[-1].params.get("show_alert") is True, data
    assert await audit_rows(bot) == []


async def test_two_people_racing_for_one_invite(bot: BotDriver, anna: TgUser, john: TgUser) -> None:
    await bot.onboard(ADMIN)
    await bot.onboard(anna)
    await bot.onboard(john)
    token = await invite_token(bot)
    before = len(bot.api.calls)
    await asyncio.gather(
        bot.click(anna, f"role:accept:{token}"), bot.click(john, f"role:accept:{token}")
    )
    calls = bot.api.calls[before:]
    granted = [c.chat_id for c in calls if c.method == "sendMessage"]
    refused = [
        c.params.get("text")
        for c in calls
        if c.method == "answerCallbackQuery" and c.params.get("show_alert")
    ]
    assert len(granted) == 1, calls
    assert len(refused) == 1, calls
    assert "już wykorzystane" in str(refused[0]) or "already been used" in str(refused[0])
    assert [m[0] for m in await moderators(bot)] == granted
    assert len(await moderators(bot)) == 1
    assert len([e for e in await audit_rows(bot) if e[1] == "role.grant"]) == 1
