"""Sector groups: /link_group, /unlink_group, pacing, supergroup migration, removal."""

from __future__ import annotations

import sqlite3
from typing import Any

from bot.services import delivery
from bot.services.delivery import OutgoingMessage
from storage.unit import Unit
from tests.fakes import BOT_ID
from tests.harness import BotDriver, TgUser, sent_messages, texts_of
from tests.meeting_factory import db_of, make_moderator
from tests.sql import connection, raw_sql

GROUP = -100500
MOD = TgUser(id=3101, language_code="pl", first_name="Moderatorka")


async def links(bot: BotDriver) -> list[tuple[int, str]]:
    found = await db_of(bot).run(
        lambda unit: (
            connection(unit)
            .execute("SELECT g.chat_id, t.slug FROM group_links g JOIN teams t ON t.id = g.team_id")
            .fetchall()
        )
    )
    return [(row[0], row[1]) for row in found]


async def notice(bot: BotDriver, slug: str = "culture", body: str = "Notice") -> int:
    """Queue a team notice as any feature would."""
    now = bot.clock.now

    def queue(conn: sqlite3.Connection) -> int:
        team = conn.execute("SELECT id FROM teams WHERE slug = ?", (slug,)).fetchone()[0]
        return delivery.announce(
            Unit(conn),
            kind="call-opened",
            audience="team",
            audience_id=team,
            messages=delivery.messages_for(lambda lang: OutgoingMessage(text=f"{body} {lang}")),
            now=now,
        )

    return await db_of(bot).run(raw_sql(queue))


async def linked_moderator(bot: BotDriver) -> None:
    await bot.onboard(MOD)
    await make_moderator(bot, MOD.id, "culture")
    calls = await bot.send(MOD, "/link_group culture", chat_id=GROUP)
    assert "Kultura" in texts_of(calls) or "Culture" in texts_of(calls), texts_of(calls)


async def test_linked_group_gets_the_sector_notices_in_the_default_language(
    bot: BotDriver, anna: TgUser
) -> None:
    await linked_moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    assert await links(bot) == [(GROUP, "culture")]
    await notice(bot)
    await notice(bot, "education", "Other sector")
    sent = {(c.chat_id, c.text) for c in sent_messages(await bot.dispatch())}
    assert (GROUP, "Notice pl") in sent
    assert (anna.id, "Notice pl") in sent
    assert not any(chat == GROUP and "Other" in body for chat, body in sent)


async def test_refusals_change_nothing(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture"])
    calls = await bot.send(anna, "/link_group culture", chat_id=GROUP)
    assert "Nie masz uprawnień" in texts_of(calls)  # refused, in her language
    other = TgUser(id=3102, language_code="en", first_name="Other")
    await bot.onboard(other)
    await make_moderator(bot, other.id, "education")
    calls = await bot.send(other, "/link_group culture", chat_id=GROUP)
    assert "not allowed" in texts_of(calls)
    calls = await bot.send(other, "/link_group nosuch", chat_id=GROUP)
    assert "There is no sector team “nosuch”" in texts_of(calls)
    assert "Culture, Education, Environmental protection" in texts_of(calls)
    calls = await bot.send(other, "/link_group", chat_id=GROUP)
    assert "Który zespół branżowy" in texts_of(calls)  # the group's language
    calls = await bot.press(other, "Kultura", chat_id=GROUP)  # the group's language
    assert "not allowed" in texts_of(calls)
    calls = await bot.send(other, "/link_group education")  # private chat
    assert "inside a Telegram group" in texts_of(calls)
    assert await links(bot) == []
    calls = await bot.send(other, "/unlink_group", chat_id=GROUP)
    assert "not linked" in texts_of(calls)


async def test_link_group_by_polish_name_any_case_without_diacritics(bot: BotDriver) -> None:
    await bot.onboard(MOD)
    await make_moderator(bot, MOD.id, "environment")
    calls = await bot.send(MOD, "/link_group OCHRONA srodowiska", chat_id=GROUP)
    assert "Ochrona środowiska" in texts_of(calls)
    assert await links(bot) == [(GROUP, "environment")]
    await make_moderator(bot, MOD.id, "health")
    await bot.send(MOD, "/link_group zdrowie", chat_id=GROUP)  # the name's first word
    assert await links(bot) == [(GROUP, "health")]
    await bot.send(MOD, "/link_group environment", chat_id=GROUP)  # slugs stay valid
    assert await links(bot) == [(GROUP, "environment")]


async def test_link_group_without_a_name_offers_the_sectors_as_buttons(bot: BotDriver) -> None:
    await bot.onboard(MOD)
    await make_moderator(bot, MOD.id, "culture")
    calls = await bot.send(MOD, "/link_group", chat_id=GROUP)
    assert [label for label, _ in calls[-1].buttons()][:2] == ["Kultura", "Edukacja"]
    calls = await bot.press(MOD, "Kultura", chat_id=GROUP)
    assert [c.method for c in calls if c.method.startswith("edit")] == ["editMessageText"]
    assert "Kultura" in texts_of(calls)
    assert await links(bot) == [(GROUP, "culture")]


async def test_revoked_moderator_cannot_link(bot: BotDriver) -> None:
    await bot.onboard(MOD)
    await make_moderator(bot, MOD.id, "culture")
    await db_of(bot).run(raw_sql(lambda conn: conn.execute("DELETE FROM moderators")))
    await bot.send(MOD, "/link_group culture", chat_id=GROUP)
    assert await links(bot) == []


async def test_unlink_stops_notices_and_expires_waiting_copies(bot: BotDriver) -> None:
    await linked_moderator(bot)
    other = TgUser(id=3103, language_code="en", first_name="Other")
    await bot.onboard(other)
    await make_moderator(bot, other.id, "education")
    calls = await bot.send(other, "/unlink_group", chat_id=GROUP)  # not their sector
    assert "not allowed" in texts_of(calls)
    assert await links(bot) == [(GROUP, "culture")]
    await notice(bot)
    await db_of(bot).run(
        lambda unit: bot.app.bot_data["engine"].fan_out(
            unit, unit.delivery.list_due_announcements(bot.clock.now, 5)[0], bot.clock.now
        )
    )
    calls = await bot.send(MOD, "/unlink_group", chat_id=GROUP)
    assert "Kultura" in texts_of(calls)
    assert await links(bot) == []
    assert not [c for c in sent_messages(await bot.dispatch()) if c.chat_id == GROUP]
    states = await db_of(bot).run(
        lambda unit: (
            connection(unit)
            .execute("SELECT state FROM deliveries WHERE chat_id = ?", (GROUP,))
            .fetchall()
        )
    )
    assert [row[0] for row in states] == ["expired"]


async def test_supergroup_migration_message_moves_the_link(bot: BotDriver) -> None:
    await linked_moderator(bot)
    message: dict[str, Any] = {
        "message_id": 77,
        "date": int(bot.clock.now.timestamp()),
        "chat": {"id": GROUP, "type": "group", "title": "Sector group"},
        "from": MOD.as_dict(),
        "migrate_to_chat_id": -1001234,
    }
    await bot.feed({"message": message})
    assert await links(bot) == [(-1001234, "culture")]
    await notice(bot)
    assert [c.chat_id for c in sent_messages(await bot.dispatch())] == [-1001234]


async def test_chat_migrated_on_send_moves_the_link_and_resends_once(bot: BotDriver) -> None:
    await linked_moderator(bot)
    await notice(bot)
    bot.api.fail("sendMessage", 400, "Bad Request: group chat was upgraded", migrate_to_chat_id=-77)
    calls = sent_messages(await bot.dispatch())
    assert [c.chat_id for c in calls] == [GROUP, -77]
    assert await links(bot) == [(-77, "culture")]
    states = await db_of(bot).run(
        lambda unit: connection(unit).execute("SELECT chat_id, state FROM deliveries").fetchall()
    )
    assert [tuple(row) for row in states] == [(-77, "sent")]


async def test_bot_removed_from_the_group_unlinks_it(bot: BotDriver) -> None:
    await linked_moderator(bot)
    bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "NGO bot"}
    change = {
        "chat": {"id": GROUP, "type": "supergroup", "title": "Sector group"},
        "from": MOD.as_dict(),
        "date": int(bot.clock.now.timestamp()),
        "old_chat_member": {"status": "member", "user": bot_user},
        "new_chat_member": {"status": "left", "user": bot_user},
    }
    await bot.feed({"my_chat_member": change})
    assert await links(bot) == []
    # A private block still works as before (the members handler in group 0).
    await bot.onboard(MOD)


async def test_a_group_gets_at_most_20_a_minute_without_holding_up_others(
    bot: BotDriver, anna: TgUser
) -> None:
    await linked_moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    for number in range(25):
        await notice(bot, body=f"N{number}")
    calls = sent_messages(await bot.dispatch())
    to_group = [c for c in calls if c.chat_id == GROUP]
    to_anna = [c for c in calls if c.chat_id == anna.id]
    assert len(to_group) == 20
    assert len(to_anna) == 25  # not starved while the group waits
    assert [c.text for c in to_group] == [f"N{n} pl" for n in range(20)]
    bot.clock.advance(seconds=30)
    assert not [c for c in sent_messages(await bot.dispatch()) if c.chat_id == GROUP]
    bot.clock.advance(seconds=31)
    later = [c.text for c in sent_messages(await bot.dispatch()) if c.chat_id == GROUP]
    assert later == [f"N{n} pl" for n in range(20, 25)]


async def test_meeting_changes_and_cancellations_reach_the_linked_group(bot: BotDriver) -> None:
    from tests.meeting_factory import add_meeting

    await linked_moderator(bot)
    meeting_id = await add_meeting(bot, team="culture")
    other_id = await add_meeting(bot, team="education")
    now = bot.clock.now

    def queue(conn: sqlite3.Connection) -> None:
        for target in (meeting_id, other_id):
            message = OutgoingMessage(text=f"Cancelled {target}")
            delivery.announce(
                Unit(conn),
                kind="meeting-cancelled",
                audience="meeting",
                audience_id=target,
                messages={"pl": message, "en": message},
                now=now,
            )

    await db_of(bot).run(raw_sql(queue))
    assert [(c.chat_id, c.text) for c in sent_messages(await bot.dispatch())] == [
        (GROUP, f"Cancelled {meeting_id}")
    ]
