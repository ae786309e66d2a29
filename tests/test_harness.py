"""The driver presses buttons the way a user sees them: by label, on the message showing them."""

from __future__ import annotations

import pytest

from tests.harness import BotDriver, TgUser
from tests.meeting_factory import add_meeting
from tests.test_rsvp import rsvp_of


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


async def test_press_on_picks_the_card_whose_text_it_names(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture"])
    first = await add_meeting(bot, title="Pierwsze spotkanie")
    second = await add_meeting(bot, title="Drugie spotkanie")
    await bot.send(anna, f"/meeting {first}")
    await bot.send(anna, f"/meeting {second}")
    going = bot.label(anna, "meetings.card-going")
    with pytest.raises(AssertionError, match="on a message with"):
        await bot.press(anna, going, on="Trzecie spotkanie")
    # Both cards show the same answers; `on` picks the older one, not the newest.
    await bot.press(anna, going, on="Pierwsze spotkanie")
    assert await rsvp_of(bot, first, anna.id) is not None
    assert await rsvp_of(bot, second, anna.id) is None


async def test_showing_and_label_with_values(bot: BotDriver, anna: TgUser) -> None:
    await bot.send(anna, "/start")
    consent = bot.label(anna, "button.consent")
    assert bot.showing(anna, consent).buttons[0][0] == consent
    with pytest.raises(AssertionError, match="no button"):
        bot.showing(anna, "A label that is not there")
    assert bot.label(anna, "broadcasts.button-cancel", id=7) == "🚫 Anuluj nr 7"
