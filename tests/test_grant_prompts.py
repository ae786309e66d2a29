"""/grant's prompts (handlers/prompts.py): a press edits the question in place, a typed answer
gets one message, and no older question keeps live buttons."""

from __future__ import annotations

from tests.conftest import ADMIN_ID
from tests.harness import BotDriver, TgUser, edited_in_place, live_buttons, new_messages, texts_of

ADMIN = TgUser(id=ADMIN_ID, language_code="pl", first_name="Tomasz")


async def test_grant_edits_in_place_and_leaves_one_live_question(bot: BotDriver) -> None:
    await bot.onboard(ADMIN)
    await bot.send(ADMIN, "/grant")
    pressed = bot.showing(ADMIN, "Kultura")
    calls = await bot.press(ADMIN, "Kultura")
    assert edited_in_place(calls, pressed)  # the sector question becomes the person question
    assert "Teraz wskaż osobę" in texts_of(calls)
    # Typed text instead of a forwarded message: one message says what is expected, with
    # the invite button; the question above loses its own.
    calls = await bot.send(ADMIN, "Anna Nowak")
    assert len(new_messages(calls)) == 1
    assert "Prześlij mi wiadomość napisaną przez tę osobę" in texts_of(calls)
    [live] = live_buttons(bot, ADMIN, "role:")
    assert live.message_id == new_messages(calls)[0].message_id
    invite = bot.label(ADMIN, "roles.button-invite")
    pressed = bot.showing(ADMIN, invite)
    calls = await bot.press(ADMIN, invite)
    assert edited_in_place(calls, pressed)  # the question becomes the link
    assert "t.me/" in texts_of(calls)
    assert not live_buttons(bot, ADMIN, "role:")


async def test_cancel_removes_the_questions_buttons(bot: BotDriver) -> None:
    await bot.onboard(ADMIN)
    await bot.send(ADMIN, "/grant")
    await bot.press(ADMIN, "Kultura")
    assert live_buttons(bot, ADMIN, "role:")
    await bot.send(ADMIN, "/cancel")
    assert not live_buttons(bot, ADMIN, "role:")


async def test_an_unknown_sector_typed_gets_the_error_and_the_question_again(
    bot: BotDriver,
) -> None:
    await bot.onboard(ADMIN)
    await bot.send(ADMIN, "/grant")
    calls = await bot.send(ADMIN, "teatr")
    [message] = new_messages(calls)
    assert "Nie ma zespołu branżowego „teatr”" in message.text
    assert "W którym zespole branżowym chcesz nadać rolę moderatora?" in message.text
    [live] = live_buttons(bot, ADMIN, "role:")
    assert live.message_id == message.message_id
    assert "Kultura" in [label for label, _ in live.buttons]
    pressed = bot.showing(ADMIN, "Kultura")
    calls = await bot.press(ADMIN, "Kultura")
    assert edited_in_place(calls, pressed)
