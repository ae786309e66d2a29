"""Long postulate cards open from /review and /my_postulates; the full text comes as a file."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator

import pytest

from bot import limits
from bot.config import Config
from storage.timefmt import db_time
from tests import fakes
from tests.conftest import ADMIN_ID
from tests.harness import BotDriver, Clock, TgUser
from tests.meeting_factory import files_driver, uploaded
from tests.sql import raw_sql
from tests.test_postulates_helpers import db_of, postulate_row, submit
from tests.test_review import MODERATOR, cast

# 3,500 characters with what breaks naive counting: markup characters and astral emoji.
CONTENT = ("Drzewa <i> & „cień” 🌳 przy szkołach. " * 100)[:3499] + "!"


@pytest.fixture
async def bot(config: Config, clock: Clock) -> AsyncIterator[BotDriver]:
    async for driver in files_driver(config, clock):
        yield driver


def last_upload(bot: BotDriver) -> str:
    _, name, data = uploaded(bot)[-1]
    assert name.endswith(".txt"), name
    return data.decode("utf-8")


def note(word: str) -> str:
    return (f"{word} & <b> 🌳 " * 200)[:1999] + "?"


async def clarification_round(
    bot: BotDriver, reviewer: TgUser, author: TgUser, reference: str, question: str
) -> None:
    """The reviewer asks from the card in /review and confirms; the author presses Answer."""
    await bot.send(reviewer, "/review")
    await bot.press(reviewer, reference)
    await bot.press(reviewer, bot.label(reviewer, "postulates.action-ask"))
    await bot.send(reviewer, question)
    await bot.press(reviewer, bot.label(reviewer, "postulates.button-confirm"))
    await bot.tick()
    await bot.press(author, bot.label(author, "postulates.button-answer"))


async def long_postulate(bot: BotDriver, anna: TgUser) -> tuple[str, int]:
    """A 3,500-character postulate after two clarification rounds of 2,000 characters each."""
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna, content=CONTENT)
    pid = int((await postulate_row(bot, reference))["id"])
    for round_ in ("pierwsze", "drugie"):
        await clarification_round(bot, MODERATOR, anna, reference, note(f"pytanie {round_}"))
        await bot.send(anna, note(f"odpowiedź {round_}"))
        assert (await postulate_row(bot, reference))["state"] == "in_review"
    await bot.tick()
    return reference, pid


async def test_long_card_opens_from_review_with_full_text_and_actions(
    bot: BotDriver, anna: TgUser
) -> None:
    reference, _ = await long_postulate(bot, anna)
    bot.api.clear()
    await bot.send(MODERATOR, "/review")
    calls = await bot.press(MODERATOR, reference)
    [card] = [c for c in calls if c.method == "sendMessage"]
    assert limits.html_length(card.text) <= limits.TEXT_LIMIT
    assert reference in card.text

    calls = await bot.press(MODERATOR, "Pełny tekst", exact=False)
    assert [c.method for c in calls if c.method == "sendDocument"] == ["sendDocument"]
    body = last_upload(bot)
    assert CONTENT in body
    assert note("odpowiedź drugie") in body
    assert note("pytanie pierwsze") in body

    await bot.press(MODERATOR, "Przekaż zespołowi koordynacyjnemu", exact=False)
    calls = await bot.press(MODERATOR, "✅ Potwierdź")
    # The long card comes back in place, shortened to fit, with its new state.
    [edited] = [c for c in calls if c.method == "editMessageText"]
    assert limits.html_length(edited.text) <= limits.TEXT_LIMIT
    assert "przekazany do zespołu koordynacyjnego" in edited.text
    assert (await postulate_row(bot, reference))["state"] == "forwarded"


async def test_long_card_opens_from_my_postulates(bot: BotDriver, anna: TgUser) -> None:
    reference, _ = await long_postulate(bot, anna)
    await bot.send(anna, "/my_postulates")
    calls = await bot.press(anna, reference)
    [card] = [c for c in calls if c.method == "sendMessage"]
    assert limits.html_length(card.text) <= limits.TEXT_LIMIT
    await bot.press(anna, "Pełny tekst", exact=False)
    assert CONTENT in last_upload(bot)
    await bot.press(anna, "Wycofaj postulat", exact=False)
    await bot.press(anna, "✅ Potwierdź")
    assert (await postulate_row(bot, reference))["state"] == "withdrawn"


async def test_opening_changes_nothing_when_the_card_cannot_be_sent(
    bot: BotDriver, anna: TgUser
) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    await bot.tick()
    bot.api.fail("sendMessage", 400, "Bad Request: message is too long")
    await bot.press(MODERATOR, "Otwórz postulat", exact=False)
    assert (await postulate_row(bot, reference))["state"] == "submitted"
    # Nothing was queued for the author either: the next tick sends them nothing.
    bot.api.clear()
    await bot.tick()
    assert not [c for c in bot.api.sent("sendMessage") if c.chat_id == anna.id]


def nasty(size: int, seed: str = "") -> str:
    """Exactly `size` characters that escape and count badly (astral ones cost 2 units)."""
    pattern = seed + '<&"🌳𝔸 ł'
    return (pattern * (size // len(pattern) + 1))[:size].strip().ljust(size, "𝔸")


async def add_supports(bot: BotDriver, postulate_id: int, count: int) -> None:
    """`count` organisations with the longest names support the postulate."""

    def add(conn: sqlite3.Connection) -> None:
        rows = [
            (postulate_id, nasty(200, f"Fundacja {i} "), f"o{i}", db_time(bot.clock()))
            for i in range(count)
        ]
        conn.executemany(
            """INSERT INTO postulate_supports
               (postulate_id, organisation_name, supporter_key, created_at)
               VALUES (?, ?, ?, ?)""",
            rows,
        )

    await db_of(bot).run(raw_sql(add))


@pytest.mark.parametrize("language", ["pl", "en"])
async def test_every_postulate_view_fits_with_maximal_inputs(
    bot: BotDriver, language: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Longest title and content, two maximal clarification rounds, a decision with the
    longest answer, forty supporters with the longest names: every card and list is accepted
    (the fake refuses what Telegram refuses) and the actions stay on the card."""
    await cast(bot)
    author = TgUser(id=7001, language_code=language, first_name="Author")
    admin = TgUser(id=ADMIN_ID, language_code=language, first_name="Admin")
    await bot.onboard(author)
    await bot.onboard(admin)
    await bot.send(admin, "/language")
    await bot.press(admin, bot.label(admin, f"language.{language}"))
    references = [
        await submit(bot, author, title=nasty(150, str(i)), content=nasty(3500)) for i in range(3)
    ]
    pid = int((await postulate_row(bot, references[0]))["id"])
    await add_supports(bot, pid, 40)
    for _ in range(2):
        await clarification_round(bot, admin, author, references[0], nasty(2000, "?"))
        await bot.send(author, nasty(2000, "!"))
    await bot.send(admin, "/review")
    await bot.press(admin, references[0])
    await bot.press(admin, bot.label(admin, "postulates.action-forward"))
    await bot.press(admin, bot.label(admin, "postulates.button-confirm"))
    await bot.tick()
    bot.api.clear()

    await bot.send(admin, "/review")
    await bot.press(admin, references[0])
    await bot.send(author, "/my_postulates")
    await bot.press(author, references[0])
    await bot.send(admin, "/postulates")
    for view in (admin, author):
        assert any(len(shown.buttons) > 1 for shown in bot.keyboards(view))
    await bot.send(admin, "/review")
    await bot.press(admin, references[0])
    await bot.press(admin, bot.label(admin, "postulates.action-adopt"))
    await bot.send(admin, nasty(2000, "✓"))
    await bot.press(admin, bot.label(admin, "postulates.button-confirm"))
    await bot.tick()
    await bot.send(author, "/my_postulates")
    await bot.press(author, references[0])
    await bot.press(author, bot.label(author, "postulates.action-full"))
    refused = [c for c in bot.api.calls if fakes.telegram_refusal(c.method, c.params)]
    assert not refused, [(c.method, c.text[:80]) for c in refused]
    # Designed to fit: the send-path guard never had to shorten or refuse anything, and no
    # handler failed.
    guarded = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not guarded, guarded
    assert (await postulate_row(bot, references[0]))["state"] == "adopted"
