"""A moderator who loses the role sends nothing more: their scheduled broadcasts are cancelled."""

from __future__ import annotations

from tests.conftest import ADMIN_ID
from tests.harness import BotDriver, TgUser, texts_of
from tests.sql import raw_sql
from tests.test_broadcasts import draft, rows, sends, write
from tests.test_postulates_helpers import db_of
from tests.test_roles import forward, from_user, grant_sector

ADMIN = TgUser(id=ADMIN_ID, language_code="pl", first_name="Admin")
MOD = TgUser(id=3301, language_code="pl", first_name="Ola")
READER = TgUser(id=3302, language_code="pl", first_name="Czytelnik")


async def schedule(bot: BotDriver, body: str, when: str) -> None:
    await draft(bot, MOD)
    await write(bot, MOD, text=body)
    await bot.press(MOD, "🕒 Wyślij później")
    await bot.send(MOD, when)
    await bot.press(MOD, "✅ Potwierdź")


async def setup(bot: BotDriver) -> None:
    """The admin grants Ola the culture sector; a reader follows culture; Ola schedules two."""
    for person in (ADMIN, MOD):
        await bot.onboard(person)
    await bot.onboard(READER, sectors=["culture"])
    await grant_sector(bot, admin=ADMIN)
    await forward(bot, ADMIN, from_user(MOD))
    await schedule(bot, "Zaproszenie na jutro", "2026-11-27 10:00")
    await schedule(bot, "Zaproszenie na pojutrze", "2026-11-28 10:00")
    await bot.dispatch()  # the grant notice goes out now


async def reader_gets_nothing(bot: BotDriver) -> None:
    bot.clock.advance(days=3)
    for _ in range(3):
        sent = sends(await bot.dispatch())
        assert [c for c in sent if c.chat_id == READER.id] == []


async def test_revoking_cancels_their_scheduled_broadcasts_and_says_how_many(
    bot: BotDriver,
) -> None:
    await setup(bot)
    await bot.send(ADMIN, "/revoke")
    await bot.press(ADMIN, "Kultura: Ola")
    calls = await bot.press(ADMIN, "Tak, odbierz")
    assert "Anulowano 2 zaplanowane komunikaty" in texts_of(calls), texts_of(calls)
    states = await rows(bot, "SELECT state FROM broadcasts ORDER BY id")
    assert states == [("cancelled",), ("cancelled",)]
    audited = await rows(
        bot, "SELECT actor_id, target FROM audit_log WHERE action = 'broadcast.cancel'"
    )
    assert audited == [(ADMIN_ID, "broadcast:1"), (ADMIN_ID, "broadcast:2")]
    await reader_gets_nothing(bot)


async def test_a_role_lost_another_way_is_rechecked_when_the_broadcast_falls_due(
    bot: BotDriver,
) -> None:
    await setup(bot)
    # Not through /revoke (e.g. the sector's moderators reset by hand in the database).
    await db_of(bot).run(raw_sql(lambda conn: conn.execute("DELETE FROM moderators")))
    await reader_gets_nothing(bot)
    states = await rows(bot, "SELECT state FROM broadcasts ORDER BY id")
    assert states == [("cancelled",), ("cancelled",)]


async def test_a_moderator_who_keeps_the_role_still_broadcasts(bot: BotDriver) -> None:
    await setup(bot)
    bot.clock.advance(days=3)
    sent = sends(await bot.dispatch())
    assert [c.chat_id for c in sent].count(READER.id) == 2
