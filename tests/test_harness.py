"""The driver presses buttons the way a user sees them: by label, on the message showing them."""

from __future__ import annotations

import pytest

from tests.harness import BotDriver, TgUser


async def test_press_finds_the_button_by_label_on_the_newest_message(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.send(anna, "/start")
    shown = bot.keyboards(anna)
    assert shown, "the greeting shows buttons"
    label, data = shown[-1].buttons[0]
    calls = await bot.press(anna, label)
    assert calls, "pressing a shown button reaches the bot"
    answered = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answered, f"the press of {label!r} ({data}) is answered"


async def test_press_refuses_a_label_nobody_sees(bot: BotDriver, anna: TgUser) -> None:
    await bot.send(anna, "/start")
    with pytest.raises(AssertionError, match="no button"):
        await bot.press(anna, "A label that is not there")
