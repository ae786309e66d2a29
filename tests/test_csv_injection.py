"""Files for spreadsheets carry no live formulas: hostile cells through every CSV export."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import csvfile
from bot.config import Config
from tests.conftest import ADMIN_ID, TEST_TOKEN
from tests.harness import BotDriver, Clock, TgUser
from tests.meeting_factory import add_meeting, files_driver, uploaded
from tests.test_export import review
from tests.test_postulates_helpers import make_moderator, represent, submit

# OWASP's CSV-injection starters: = + - @, and a tab or carriage return in front of one.
HOSTILE = ('=HYPERLINK("http://evil","x")', "+1", "-1+1", "@SUM(1)", "\t=1", "\r=1")
FORMULA = ("=", "+", "-", "@", "\t", "\r")
ADMIN = TgUser(id=ADMIN_ID, language_code="pl", first_name="Admin")
MODERATOR = TgUser(id=2001, language_code="pl", first_name="=Mod")
AUTHORS = [TgUser(id=3000 + n, language_code="pl", first_name=h) for n, h in enumerate(HOSTILE)]


@pytest.fixture
async def files_bot(config: Config, clock: Clock) -> AsyncIterator[BotDriver]:
    async for driver in files_driver(config, clock):
        yield driver


def rows_of(data: bytes, delimiter: str = ";") -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def assert_no_formulas(rows: list[list[str]]) -> None:
    for row in rows:
        for value in row:
            assert not value.startswith(FORMULA), (value, row)


def column(rows: list[list[str]], name: str) -> list[str]:
    index = rows[0].index(name)
    return [row[index] for row in rows[1:]]


async def hostile_programme(bot: BotDriver) -> int:
    """Every user-text field of postulates, organisations and reviews starts like a formula.

    Returns the id of a meeting every author is going to.
    """
    for person in (ADMIN, MODERATOR, *AUTHORS):
        await bot.onboard(person)
    await make_moderator(bot, MODERATOR, "culture")
    references = []
    for author, hostile in zip(AUTHORS, HOSTILE, strict=True):
        await represent(bot, author, hostile)
        # The bot trims what is typed, so the tab/CR cases reach titles as "=1 ...".
        references.append(
            await submit(bot, author, title=f"{hostile} tytuł", content=f"{hostile} " + "x" * 30)
        )
    for n, reference in enumerate(references):
        # The next author's organisation supports it: its name opens the supporters cell.
        await bot.send(AUTHORS[(n + 1) % len(AUTHORS)], f"/support {reference}")
        await review(bot, MODERATOR, reference, "❌ Odrzuć")
        await bot.send(MODERATOR, f"{HOSTILE[n]} powód odrzucenia postulatu")
        await bot.press(MODERATOR, bot.label(MODERATOR, "postulates.button-confirm"))
    meeting = await add_meeting(bot, title=f"{HOSTILE[0]} spotkanie")
    for author in AUTHORS:
        await bot.send(author, f"/meeting {meeting}")
        await bot.press(author, bot.label(author, "meetings.card-going"))
    return meeting


def assert_postulates_file_is_safe(data: bytes) -> None:
    rows = rows_of(data)
    assert len(rows) == 1 + len(HOSTILE)
    assert_no_formulas(rows)
    # Each user-text column really held the hostile text, now neutralised.
    for name in ("title", "content", "on_behalf_of", "author", "supporters", "answer"):
        assert all(value.startswith("'") for value in column(rows, name)), name
    assert sorted(column(rows, "on_behalf_of")) == sorted("'" + h for h in HOSTILE)


async def test_export_command_neutralises_every_user_text_column(files_bot: BotDriver) -> None:
    bot = files_bot
    await hostile_programme(bot)
    await bot.send(ADMIN, "/export csv")
    [(_, _, data)] = [f for f in uploaded(bot) if f[1].endswith(".csv")]
    assert_postulates_file_is_safe(data)


async def test_cli_export_neutralises_every_user_text_column(
    files_bot: BotDriver, config: Config, tmp_path: Path
) -> None:
    from bot.cli import main

    await hostile_programme(files_bot)
    out = tmp_path / "postulaty.csv"
    env = {
        "BOT_TOKEN": TEST_TOKEN,
        "BOT_DATABASE": str(config.database),
        "BOT_ADMINS": str(ADMIN_ID),
    }

    def run() -> int:
        # main() sets up process-wide logging and reads os.environ: both are restored.
        root = logging.getLogger()
        saved_env, handlers, level = dict(os.environ), list(root.handlers), root.level
        os.environ.update(env)
        try:
            return main(["export", "postulates", "--format", "csv", "--out", str(out)])
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            root.handlers[:] = handlers
            root.setLevel(level)
            logging.captureWarnings(False)

    assert await asyncio.to_thread(run) == 0
    assert_postulates_file_is_safe(out.read_bytes())


async def test_attendee_list_neutralises_organisation_names(files_bot: BotDriver) -> None:
    bot = files_bot
    meeting = await hostile_programme(bot)
    await bot.send(MODERATOR, f"/meeting {meeting}")
    await bot.press(MODERATOR, bot.label(MODERATOR, "rsvp.export-csv"))
    [(_, _, data)] = uploaded(bot)
    rows = rows_of(data)
    assert_no_formulas(rows)
    assert sorted(row[3] for row in rows[1:]) == sorted("'" + h for h in HOSTILE)
    # The authors' Telegram first names are hostile too (whitespace collapsed when stored).
    assert {row[0] for row in rows[1:]} == {"'" + " ".join(h.split()) for h in HOSTILE}


async def test_audit_log_neutralises_every_cell(files_bot: BotDriver) -> None:
    bot = files_bot
    await hostile_programme(bot)
    await bot.send(ADMIN, "/audit csv")
    [(_, _, data)] = uploaded(bot)
    rows = rows_of(data)
    assert len(rows) > len(HOSTILE)  # the reviews were audited, reasons in their details
    assert_no_formulas(rows)
    assert any("powód odrzucenia" in value for row in rows for value in row)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_the_writer_prefixes_text_and_keeps_our_numbers(hostile: str) -> None:
    data = csvfile.write(["a", "b", "c"], [[hostile, -5, None]], ",")
    assert data.endswith(b"\r\n")
    assert rows_of(data, ",")[1] == ["'" + hostile, "-5", ""]
