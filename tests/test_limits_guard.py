"""The send path guarantees Telegram's limits: every message kind, through the bot itself."""

from __future__ import annotations

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot import limits
from tests.harness import BotDriver

CHAT = 1001


async def test_an_over_long_html_text_is_shortened_with_tags_closed(bot: BotDriver) -> None:
    body = "<b>" + "🌳 &amp; " * 1500 + "</b>"  # ~6,000 UTF-16 units once parsed
    await bot.app.bot.send_message(CHAT, body, parse_mode=ParseMode.HTML)
    [call] = bot.api.sent("sendMessage")
    assert limits.html_length(call.text) <= limits.TEXT_LIMIT
    assert call.text.startswith("<b>🌳 &amp; ")
    assert call.text.endswith("…</b>")


async def test_an_over_long_caption_and_plain_text_are_shortened(bot: BotDriver) -> None:
    await bot.app.bot.send_photo(CHAT, "PHOTO", caption="x" * 2000, parse_mode=ParseMode.HTML)
    await bot.app.bot.send_message(CHAT, "😀" * 3000)
    [photo] = bot.api.sent("sendPhoto")
    assert limits.html_length(str(photo.params["caption"])) == limits.CAPTION_LIMIT
    [message] = bot.api.sent("sendMessage")
    assert limits.utf16_len(message.text) <= limits.TEXT_LIMIT


async def test_an_edit_and_an_alert_are_kept_within_limits(bot: BotDriver) -> None:
    await bot.app.bot.edit_message_text(
        "a &lt; b " * 1000, chat_id=CHAT, message_id=5, parse_mode=ParseMode.HTML
    )
    await bot.app.bot.answer_callback_query("q", text="🌳" * 150)
    [edit] = bot.api.sent("editMessageText")
    assert limits.html_length(edit.text) <= limits.TEXT_LIMIT
    [alert] = bot.api.sent("answerCallbackQuery")
    assert limits.utf16_len(alert.text) <= limits.ALERT_LIMIT


@pytest.mark.parametrize(
    ("body", "markup"),
    [
        # Over the limit, HTML is parsed to be shortened, and refused if Telegram could not.
        ('<a href="x"y">link</a>' + "x" * limits.TEXT_LIMIT, None),
        ("1 < 2" + "x" * limits.TEXT_LIMIT, None),
        ("ok", InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="x" * 65)]])),
        (
            "ok",
            InlineKeyboardMarkup(
                [[InlineKeyboardButton(str(i), callback_data=f"b:{i}")] for i in range(101)]
            ),
        ),
    ],
)
async def test_what_cannot_be_fixed_never_leaves(
    bot: BotDriver, body: str, markup: InlineKeyboardMarkup | None
) -> None:
    with pytest.raises(BadRequest):
        await bot.app.bot.send_message(CHAT, body, parse_mode=ParseMode.HTML, reply_markup=markup)
    assert not bot.api.sent("sendMessage")


@pytest.mark.parametrize("body", ['<a href="x"y">link</a>', "1 < 2"])
async def test_html_within_the_limit_is_not_parsed_twice_and_telegram_refuses_it_if_broken(
    bot: BotDriver, body: str
) -> None:
    # The guard leaves short HTML to Telegram (parsing every message cost ~0.26 ms an update):
    # the caller still gets Telegram's BadRequest and nothing is shown to anyone.
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.app.bot.send_message(CHAT, body, parse_mode=ParseMode.HTML)
    assert not bot.api.shown
