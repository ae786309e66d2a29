"""Privacy: forged, stale and group presses of /forget's confirmation erase nothing
(raw callback data on purpose: no screen offers these presses)."""

from __future__ import annotations

from tests.harness import BotDriver, Clock, TgUser, texts_of
from tests.test_privacy import query


async def test_forget_needs_a_fresh_confirmation_in_private(
    bot: BotDriver, anna: TgUser, clock: Clock
) -> None:
    await bot.onboard(anna)

    async def users() -> int:
        [(count,)] = await query(bot, "SELECT count(*) FROM users WHERE id = ?", anna.id)
        return int(count)

    calls = await bot.click(anna, "priv:forget:no")
    assert "Niczego nie usunięto." in texts_of(calls)
    for forged in ("priv:forget:maybe", "priv:forget:yes:1", "priv:forget"):
        calls = await bot.click(anna, forged)
        assert "nieaktualny" in texts_of(calls) or "nie jest już" in texts_of(calls), forged
    calls = await bot.send(anna, "/forget", chat_id=-100500)
    assert "priv:forget:yes" not in [d for c in calls for _, d in c.buttons()]
    calls = await bot.click(anna, "priv:forget:yes", chat_id=-100500)
    assert await users() == 1

    # A confirmation left in the chat too long is refused.
    old = clock.now
    clock.advance(minutes=16)
    message = {"message_id": 7, "date": int(old.timestamp())}
    query_data = {
        "id": "old",
        "from": anna.as_dict(),
        "chat_instance": "ci",
        "data": "priv:forget:yes",
        "message": {
            **message,
            "chat": {"id": anna.id, "type": "private", "first_name": "Anna"},
            "from": {"id": 5000, "is_bot": True, "first_name": "NGO bot"},
            "text": "…",
        },
    }
    await bot.feed({"callback_query": query_data})
    assert await users() == 1

    calls = await bot.click(anna, "priv:forget:yes")
    assert await users() == 0
    calls = await bot.click(anna, "priv:forget:yes")
    assert "Nie mam zapisanych żadnych Twoich danych." in texts_of(calls)
    calls = await bot.send(anna, "/forget")
    assert "Nie mam zapisanych żadnych Twoich danych." in texts_of(calls)
