"""The rules every conversation shares (handlers/flow.py): /cancel, pause and resume, timeout."""

from __future__ import annotations

from tests.harness import BotDriver, TgUser, live_buttons, sent_messages, texts_of
from tests.meeting_factory import make_moderator
from tests.sql import connection

MOD = TgUser(id=3301, language_code="pl", first_name="Moderatorka")


async def _moderator(bot: BotDriver) -> None:
    await bot.onboard(MOD)
    await make_moderator(bot, MOD.id, "culture")


async def _broadcast_to_culture(bot: BotDriver) -> None:
    await bot.send(MOD, "/broadcast")
    await bot.press(MOD, "Kultura", exact=False)
    calls = await bot.press(MOD, "Dalej", exact=False)
    assert "Wyślij treść komunikatu" in texts_of(calls)


async def test_another_flow_pauses_the_first_and_its_command_resumes_it(bot: BotDriver) -> None:
    await _moderator(bot)
    await _broadcast_to_culture(bot)
    calls = await bot.send(MOD, "/new_meeting")
    assert "Którego zespołu dotyczy?" in texts_of(calls)
    # /cancel ends the active conversation only, and says what it dropped.
    calls = await bot.send(MOD, "/cancel")
    # (after an edit without text: the old prompt's buttons are removed)
    assert texts_of(calls).strip() == "Anulowano. Nic nie zostało zapisane."
    calls = await bot.send(MOD, "Zebranie w piątek")  # the broadcast is paused: not its text
    assert "Trafi do" not in texts_of(calls)
    calls = await bot.send(MOD, "/broadcast")
    assert "Wracamy do przerwanej rozmowy" in texts_of(calls)
    assert "Wyślij treść komunikatu" in texts_of(calls)
    calls = await bot.send(MOD, "Zebranie w piątek")
    assert "Trafi do" in texts_of(calls)


async def test_cancel_then_an_old_button_changes_nothing(bot: BotDriver) -> None:
    await _moderator(bot)
    await _broadcast_to_culture(bot)
    await bot.send(MOD, "Zebranie w piątek")
    assert live_buttons(bot, MOD, "bc:")  # the preview's Send now / later / Cancel
    calls = await bot.send(MOD, "/cancel")
    # (after an edit without text: the old prompt's buttons are removed)
    assert texts_of(calls).strip() == "Komunikat odrzucony; nic nie zostało wysłane."
    assert not live_buttons(bot, MOD, "bc:")  # no old button left to press
    calls = await bot.send(MOD, "/cancel")  # nothing left to cancel
    assert "Komunikat odrzucony" not in texts_of(calls)
    deps = bot.app.bot_data["deps"]
    count = await deps.db.run(
        lambda unit: connection(unit).execute("SELECT count(*) FROM broadcasts").fetchone()
    )
    assert tuple(count) == (0,)


async def test_an_idle_broadcast_expires_and_its_author_is_told(bot: BotDriver) -> None:
    await _moderator(bot)
    await _broadcast_to_culture(bot)
    bot.clock.advance(minutes=30)
    told = sent_messages(await bot.tick())
    assert [c.chat_id for c in told] == [MOD.id]
    assert "Szkic komunikatu czekał zbyt długo" in told[0].text
    calls = await bot.send(MOD, "/broadcast")  # expired: a fresh start, not a resume
    assert "Wracamy" not in texts_of(calls)
    assert "Do kogo wysłać komunikat?" in texts_of(calls)


async def test_an_expired_conversation_leaves_no_live_button(bot: BotDriver) -> None:
    await _moderator(bot)
    await _broadcast_to_culture(bot)
    await bot.send(MOD, "Zebranie w piątek")
    assert live_buttons(bot, MOD, "bc:")  # the preview's Send now / later / Cancel
    bot.clock.advance(minutes=30)
    calls = await bot.tick()
    assert "Szkic komunikatu czekał zbyt długo" in texts_of(sent_messages(calls))
    assert not live_buttons(bot, MOD, "bc:")  # the preview is no longer pressable
    # Nothing is left to do: the next run touches no message.
    calls = await bot.tick()
    assert not [c for c in calls if c.method == "editMessageReplyMarkup"]


async def test_an_expired_postulate_draft_leaves_no_live_button(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/postulate")
    assert len(live_buttons(bot, anna, "pst:")) == 1  # the sector question
    bot.clock.advance(hours=24, seconds=1)
    calls = await bot.tick()
    assert "wygasł" in texts_of(sent_messages(calls))
    assert not live_buttons(bot, anna, "pst:")
