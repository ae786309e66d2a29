"""Old messages: a press on a message that is gone, and an edited message, change nothing."""

from __future__ import annotations

import pytest

from tests.fakes import Call
from tests.harness import BotDriver, TgUser
from tests.sql import connection
from tests.test_postulates_helpers import db_of


def texts(bot: BotDriver, key: str) -> set[str]:
    deps = bot.app.bot_data["deps"]
    return {str(deps.texts.get(language, key)) for language in ("pl", "en")}


def apologised(bot: BotDriver, calls: list[Call]) -> bool:
    return any(c.text in texts(bot, "error.generic") for c in calls if c.method == "sendMessage")


@pytest.mark.parametrize(
    "refusal",
    ["Bad Request: message to edit not found", "Bad Request: message can't be edited"],
)
async def test_press_on_a_missing_message_is_no_longer_valid(
    bot: BotDriver, anna: TgUser, refusal: str
) -> None:
    await bot.onboard(anna)
    bot.api.fail("editMessageText", 400, refusal)
    calls = await bot.click(anna, "sectors:toggle:2", message_id=987654)
    assert not apologised(bot, calls)
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers[-1].params.get("show_alert") is True
    assert answers[-1].params.get("text") in texts(bot, "error.stale-button")


async def test_other_refusals_still_apologise(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    bot.api.fail("editMessageText", 400, "Bad Request: can't parse entities")
    calls = await bot.click(anna, "sectors:toggle:2")
    assert apologised(bot, calls)


@pytest.mark.parametrize("command", ["/mydata", "/forget", "/start", "/help", "/organisation"])
async def test_an_edited_message_never_runs_a_command(
    bot: BotDriver, anna: TgUser, command: str
) -> None:
    await bot.onboard(anna)
    typed = await bot.send(anna, "hello")
    assert typed  # the bot answered the typed message (it points to /help)
    calls = await bot.edit(anna, message_id=1, text=command)
    assert calls == []


async def test_an_edited_answer_in_a_conversation_is_not_taken(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/organisation")
    calls = await bot.edit(anna, message_id=1, text="Fundacja Zielony Kraków")
    assert calls == []
    drafts = await db_of(bot).run(
        lambda unit: connection(unit).execute("SELECT count(*) FROM organisations").fetchone()[0]
    )
    assert drafts == 0
