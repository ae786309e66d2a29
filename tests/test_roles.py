"""Roles: /grant by forwarded message or one-time invite link, /revoke, /team, refusals."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.engine import build_engine
from bot.services import roles as roles_service
from tests.conftest import ADMIN_ID
from tests.fakes import Call
from tests.harness import BotDriver, TgUser, sent_messages, texts_of
from tests.meeting_factory import add_meeting, db_of, make_moderator
from tests.sql import raw_sql

ADMIN = TgUser(id=ADMIN_ID, language_code="en", first_name="Admin")
MOD = TgUser(id=3001, language_code="pl", first_name="Moderatorka")
LINK = re.compile(r"https://t\.me/ngo_test_bot\?start=mod-([A-Za-z0-9_-]+)")


async def rows(bot: BotDriver, sql: str, *params: object) -> list[tuple[Any, ...]]:
    result = await db_of(bot).run(raw_sql(lambda conn: conn.execute(sql, params).fetchall()))
    return [tuple(row) for row in result]


async def team_id(bot: BotDriver, slug: str) -> int:
    return int((await rows(bot, "SELECT id FROM teams WHERE slug = ?", slug))[0][0])


async def moderators(bot: BotDriver) -> list[tuple[int, str]]:
    return [
        (int(r[0]), str(r[1]))
        for r in await rows(
            bot,
            "SELECT m.user_id, t.slug FROM moderators m JOIN teams t ON t.id = m.team_id "
            "ORDER BY 1, 2",
        )
    ]


async def audit_rows(bot: BotDriver) -> list[tuple[Any, ...]]:
    return await rows(bot, "SELECT actor_id, action, target, details FROM audit_log ORDER BY id")


def alert(calls: list[Call]) -> str:
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers, calls
    assert answers[-1].params.get("show_alert") is True
    return str(answers[-1].params.get("text", ""))


async def forward(bot: BotDriver, sender: TgUser, origin: dict[str, Any]) -> list[Call]:
    """`sender` forwards a message whose origin is `origin` to the bot."""
    now = int(bot.clock.now.timestamp())
    message = {
        "message_id": 77,
        "date": now,
        "chat": {"id": sender.id, "type": "private", "first_name": sender.first_name},
        "from": sender.as_dict(),
        "text": "Dzień dobry, chętnie pomogę.",
        "forward_origin": {"date": now - 60, **origin},
    }
    return await bot.feed({"message": message})


def from_user(user: TgUser, username: str | None = None) -> dict[str, Any]:
    sender = user.as_dict()
    if username:
        sender["username"] = username
    return {"type": "user", "sender_user": sender}


async def sector_name(bot: BotDriver, slug: str, language: str = "en") -> str:
    column = "name_pl" if language == "pl" else "name_en"
    return str((await rows(bot, f"SELECT {column} FROM teams WHERE slug = ?", slug))[0][0])


async def grant_sector(bot: BotDriver, slug: str = "culture", admin: TgUser = ADMIN) -> list[Call]:
    """The admin runs /grant and presses the sector."""
    calls = await bot.send(admin, "/grant")
    assert len(calls[-1].buttons()) == 8, texts_of(calls)
    language = "pl" if admin.language_code == "pl" else "en"
    return await bot.press(admin, await sector_name(bot, slug, language))


async def invite_token(bot: BotDriver, slug: str = "culture") -> str:
    await grant_sector(bot, slug)
    calls = await bot.press(ADMIN, "🔗 Create an invite link")
    match = LINK.search(texts_of(calls))
    assert match is not None, texts_of(calls)
    return match.group(1)


# ---------------------------------------------------------------- grant by forward


async def test_grant_by_forwarded_message(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(ADMIN)
    await bot.onboard(replace(anna, username="anna_k"), sectors=["culture"])
    calls = await grant_sector(bot)
    assert "Culture" in texts_of(calls) or "culture" in texts_of(calls).lower()
    calls = await forward(bot, ADMIN, from_user(anna, "anna_k"))
    shown = texts_of(calls)
    assert "is now a moderator" in shown
    assert "Anna (@anna_k)" in shown
    assert f"tg://user?id={anna.id}" in shown
    assert await moderators(bot) == [(anna.id, "culture")]
    entries = await audit_rows(bot)
    assert [(e[0], e[1], e[2]) for e in entries] == [(ADMIN_ID, "role.grant", f"user:{anna.id}")]
    assert '"via": "forward"' in entries[0][3]
    assert '"sector": "culture"' in entries[0][3]
    # Anna is told, in Polish, by a transactional notice.
    sent = sent_messages(await bot.dispatch())
    assert [c.chat_id for c in sent] == [anna.id]
    assert "Masz teraz rolę moderatora" in sent[0].text
    kinds = await rows(bot, "SELECT kind, audience, audience_id FROM announcements")
    assert kinds == [("role-change", "user", anna.id)]
    # At once: her next update sees the role.
    calls = await bot.send(anna, "/new_meeting")
    assert [d for _, d in calls[-1].buttons()] == [f"mtg:sector:{await team_id(bot, 'culture')}"]


async def test_forward_refusals_say_why_and_offer_the_invite(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await bot.onboard(ADMIN)
    await bot.onboard(anna)
    await grant_sector(bot)
    culture = await team_id(bot, "culture")

    calls = await forward(bot, ADMIN, {"type": "hidden_user", "sender_user_name": "Ukryta"})
    assert "privacy settings hide" in texts_of(calls)
    assert calls[-1].buttons()[0][1] == f"role:invite:{culture}"

    stranger = TgUser(id=7777, language_code="pl", first_name="Obcy")
    calls = await forward(bot, ADMIN, from_user(stranger))
    assert "never used the bot" in texts_of(calls)

    await bot.send(john, "/start")  # contact only, no consent
    calls = await forward(bot, ADMIN, from_user(john))
    assert "not accepted the privacy notice" in texts_of(calls)

    robot = {"type": "user", "sender_user": {"id": 8888, "is_bot": True, "first_name": "B"}}
    calls = await forward(bot, ADMIN, robot)
    assert "not written by a person" in texts_of(calls)
    channel = {
        "type": "channel",
        "chat": {"id": -1001, "type": "channel", "title": "News"},
        "message_id": 5,
    }
    calls = await forward(bot, ADMIN, channel)
    assert "not written by a person" in texts_of(calls)

    calls = await bot.send(ADMIN, "Anna")  # typed, not forwarded
    assert "Forward me a message" in texts_of(calls)
    assert await moderators(bot) == []
    assert await audit_rows(bot) == []

    # Still waiting for the person: a valid forward now works.
    calls = await forward(bot, ADMIN, from_user(anna))
    assert "is now a moderator" in texts_of(calls)
    # Granting the same role again changes nothing.
    await grant_sector(bot)
    calls = await forward(bot, ADMIN, from_user(anna))
    assert "already held" in texts_of(calls)
    assert await moderators(bot) == [(anna.id, "culture")]
    assert len(await audit_rows(bot)) == 1


async def test_grant_cancel_and_group_chat(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(ADMIN)
    await bot.onboard(anna)
    await grant_sector(bot)
    calls = await bot.send(ADMIN, "/cancel")
    assert "no role was granted" in texts_of(calls)
    calls = await forward(bot, ADMIN, from_user(anna))
    assert "is now a moderator" not in texts_of(calls)
    calls = await bot.send(ADMIN, "/grant", chat_id=-100500)
    assert calls[-1].buttons()[0][1].startswith("https://t.me/")  # "write to me privately"
    assert await moderators(bot) == []


async def test_grant_sector_by_button_or_typed_name(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(ADMIN)
    await bot.onboard(anna)
    calls = await bot.send(ADMIN, "/grant")
    picker = calls[-1].message_id
    calls = await bot.press(ADMIN, "Culture")
    # The picker itself becomes the question for the person: no second message.
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert edit.params["message_id"] == picker
    assert not [c for c in calls if c.method == "sendMessage"]
    assert "Sector team: <b>Culture</b>" in edit.text
    await bot.send(ADMIN, "/cancel")

    await bot.send(ADMIN, "/grant")
    calls = await bot.send(ADMIN, "teatr")  # typed, unknown: the valid names
    assert "There is no sector team “teatr”" in texts_of(calls)
    assert "Culture, Education, Environmental protection" in texts_of(calls)
    calls = await bot.send(ADMIN, "kultura")  # Polish name, typed
    assert "Sector team: <b>Culture</b>" in texts_of(calls)
    calls = await forward(bot, ADMIN, from_user(anna))
    assert "is now a moderator" in texts_of(calls)

    calls = await bot.send(ADMIN, "/grant EDUKACJA")  # named at once
    assert "Sector team: <b>Education</b>" in texts_of(calls)
    await forward(bot, ADMIN, from_user(anna))
    assert await moderators(bot) == [(anna.id, "culture"), (anna.id, "education")]


# ---------------------------------------------------------------- invites


async def test_invite_link_works_once_after_consent(
    bot: BotDriver, john: TgUser, anna: TgUser
) -> None:
    await bot.onboard(ADMIN)
    token = await invite_token(bot, "education")
    stored = await rows(bot, "SELECT token_hash, expires_at, used_at FROM moderator_invites")
    assert stored == [
        (hashlib.sha256(token.encode()).hexdigest(), "2026-11-29T10:00:00.000000+00:00", None)
    ]
    invites = await rows(bot, "SELECT * FROM moderator_invites")
    assert token not in repr(invites)  # only the hash is kept
    made = await audit_rows(bot)
    assert [(e[0], e[1], e[2]) for e in made] == [(ADMIN_ID, "role.invite", "invite:1")]
    assert token not in repr(made)

    # A newcomer opens the link: greeting and consent first, and what the link grants.
    calls = await bot.send(john, f"/start mod-{token}")
    shown = texts_of(calls)
    assert "consent" in shown.lower() or "agree" in shown.lower()
    assert "moderator of the sector team <b>Education</b>" in shown
    assert "Sunday, 29 November 2026, 11:00" in shown  # 72 h later, local time
    accept = [d for c in calls for _, d in c.buttons() if d.startswith("role:accept:")]
    assert accept == [f"role:accept:{token}"]
    calls = await bot.press(john, "✅ Accept")
    assert "consent" in alert(calls).lower()
    assert await moderators(bot) == []

    await bot.press(john, bot.label(john, "button.consent"))
    calls = await bot.press(john, "✅ Accept")
    assert "You are now a moderator of the sector team <b>Education</b>" in texts_of(calls)
    assert await moderators(bot) == [(john.id, "education")]
    used = await rows(bot, "SELECT used_by FROM moderator_invites")
    assert used == [(john.id,)]
    grants = [e for e in await audit_rows(bot) if e[1] == "role.grant"]
    assert [(e[0], e[2]) for e in grants] == [(ADMIN_ID, f"user:{john.id}")]
    assert '"via": "invite"' in grants[0][3]
    # The admin who made the invite hears it was accepted.
    sent = sent_messages(await bot.dispatch())
    assert [c.chat_id for c in sent] == [ADMIN_ID]
    assert "Invitation accepted: John" in sent[0].text

    # Used: a second person (or the same button again) gets a clear refusal.
    await bot.onboard(anna)
    calls = await bot.send(anna, f"/start mod-{token}")
    assert "już wykorzystane" in texts_of(calls)
    assert not [b for c in calls for b in c.buttons() if b[0] == "✅ Przyjmuję"]
    assert await moderators(bot) == [(john.id, "education")]


async def test_invite_expires_after_72_hours(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(ADMIN)
    await bot.onboard(anna)
    token = await invite_token(bot)
    bot.clock.advance(hours=71, minutes=59)
    calls = await bot.send(anna, f"/start mod-{token}")
    assert "Zaproszenie: zostań moderatorem" in texts_of(calls)
    bot.clock.advance(minutes=1)  # exactly 72 h: expired
    calls = await bot.press(anna, "✅ Przyjmuję")  # the button shown a minute before
    assert "wygasło" in alert(calls)
    calls = await bot.send(anna, f"/start mod-{token}")
    assert "wygasło" in texts_of(calls)
    assert await moderators(bot) == []
    assert await rows(bot, "SELECT used_at FROM moderator_invites") == [(None,)]


async def test_unknown_or_malformed_invite(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    for payload in ("mod-" + "x" * 32, "mod-short", "mod-<b>"):
        calls = await bot.send(anna, f"/start {payload}")
        assert "nieważny" in texts_of(calls), payload
    assert await moderators(bot) == []


async def test_invite_of_a_removed_admin_is_void(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(ADMIN)
    await bot.onboard(anna)
    token = await invite_token(bot)
    await db_of(bot).run(raw_sql(lambda conn: conn.execute("DELETE FROM admins")))
    calls = await bot.send(anna, f"/start mod-{token}")
    assert "nieważny" in texts_of(calls)


async def test_already_moderator_keeps_the_invite(bot: BotDriver) -> None:
    await bot.onboard(ADMIN)
    await bot.onboard(MOD)
    await make_moderator(bot, MOD.id, "culture")
    token = await invite_token(bot)
    await bot.send(MOD, f"/start mod-{token}")
    calls = await bot.press(MOD, "✅ Przyjmuję")
    assert "już" in alert(calls)
    assert await rows(bot, "SELECT used_at FROM moderator_invites") == [(None,)]


# ---------------------------------------------------------------- revoke, team


async def test_revoke_takes_effect_at_once_on_old_buttons(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(ADMIN)
    await bot.onboard(anna, sectors=["culture"])
    await grant_sector(bot)
    await forward(bot, ADMIN, from_user(anna))
    meeting_id = await add_meeting(bot)
    # While a moderator, /cancel_meeting offers to cancel (asks to confirm).
    calls = await bot.send(anna, f"/cancel_meeting {meeting_id}")
    assert any(d == f"mtg:cancel-one:{meeting_id}" for c in calls for _, d in c.buttons())
    sent_messages(await bot.dispatch())

    calls = await bot.send(ADMIN, "/revoke")
    culture = await team_id(bot, "culture")
    assert calls[-1].buttons() == [("Culture: Anna", f"role:revoke:{culture}:{anna.id}")]
    calls = await bot.press(ADMIN, "Culture: Anna")
    assert "Revoke the moderator role of" in texts_of(calls)
    assert await moderators(bot) == [(anna.id, "culture")]  # not before confirming
    calls = await bot.press(ADMIN, "Yes, revoke")
    assert "no longer moderates" in texts_of(calls)
    assert await moderators(bot) == []
    assert (await audit_rows(bot))[-1][:3] == (ADMIN_ID, "role.revoke", f"user:{anna.id}")
    sent = sent_messages(await bot.dispatch())
    assert [c.chat_id for c in sent] == [anna.id]
    assert "wygasła" in sent[0].text

    # Her commands no longer offer what a moderator may do, and nothing changes.
    calls = await bot.send(anna, f"/cancel_meeting {meeting_id}")
    assert "mtg:cancel-one" not in repr([c.buttons() for c in calls])
    assert await rows(bot, "SELECT state FROM meetings") == [("scheduled",)]
    calls = await bot.send(anna, "/new_meeting")
    assert "dla moderatorów" in texts_of(calls)


async def test_pressing_a_person_twice_does_not_stack_confirmations(bot: BotDriver) -> None:
    await bot.onboard(ADMIN)
    await bot.onboard(MOD)
    await make_moderator(bot, MOD.id, "health")
    calls = await bot.send(ADMIN, "/revoke")
    picker = calls[-1].message_id
    first, second = await bot.double_press(ADMIN, "Health and the disabled: Moderatorka")
    presses = first + second
    assert not [c for c in presses if c.method == "sendMessage"]  # nothing stacks
    edited = {c.params["message_id"] for c in presses if c.method == "editMessageText"}
    assert edited == {picker}  # the picker became the confirmation
    assert len([c for c in presses if c.method == "answerCallbackQuery"]) == 2  # both answered
    assert "Revoke the moderator role of" in texts_of(first)
    calls = await bot.press(ADMIN, "Yes, revoke")
    assert [c.params["message_id"] for c in calls if c.method == "editMessageText"] == [picker]
    assert "no longer moderates" in texts_of(calls)
    assert picker not in [m.message_id for m in bot.keyboards(ADMIN)]  # no button left live
    assert await moderators(bot) == []


async def test_revoke_keep_and_nobody(bot: BotDriver) -> None:
    await bot.onboard(ADMIN)
    calls = await bot.send(ADMIN, "/revoke")
    assert "no sector moderators" in texts_of(calls)
    await make_moderator(bot, MOD.id, "health")
    calls = await bot.send(ADMIN, "/revoke")
    assert calls[-1].buttons()[0][0].endswith(f"user {MOD.id}")  # no name known
    await bot.press(ADMIN, f"Health and the disabled: user {MOD.id}")
    calls = await bot.press(ADMIN, "No, keep it")
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert edit.text == "Nothing changed."
    assert await moderators(bot) == [(MOD.id, "health")]


async def test_team_lists_moderators_per_sector(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(ADMIN)
    await bot.onboard(replace(anna, first_name="<Anna & co>"))
    await bot.onboard(MOD)
    await grant_sector(bot, "culture")
    await forward(bot, ADMIN, from_user(TgUser(id=anna.id, first_name="<Anna & co>")))
    await make_moderator(bot, MOD.id, "education")
    for user in (ADMIN, MOD):
        shown = texts_of(await bot.send(user, "/team"))
        assert f'<a href="tg://user?id={ADMIN_ID}">' in shown
        assert "&lt;Anna &amp; co&gt;" in shown  # names are escaped
        assert f"tg://user?id={MOD.id}" in shown
    shown = texts_of(await bot.send(ADMIN, "/team"))
    assert "<b>Health and the disabled</b>: no moderator" in shown or "no moderator" in shown
    calls = await bot.send(anna, "/team")  # anna moderates culture: allowed
    assert "Kto prowadzi" in texts_of(calls)


# ---------------------------------------------------------------- permission matrix


async def test_invite_is_checked_server_side_for_time(bot: BotDriver) -> None:
    """The stored expiry is 72 h after creation (pinned clock), not client-supplied."""
    await bot.onboard(ADMIN)
    await invite_token(bot)
    created, expires = (await rows(bot, "SELECT created_at, expires_at FROM moderator_invites"))[0]
    assert datetime.fromisoformat(expires) - datetime.fromisoformat(created) == timedelta(hours=72)


def test_role_notices_are_transactional() -> None:
    # Never muted, never held for quiet hours or a digest (bot/services/delivery.py).
    assert build_engine().notice_class(roles_service.NOTICE_KIND) == "transactional"
