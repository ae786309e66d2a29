"""Export of postulates: CSV parsed back and compared, JSON, filters, /export and the CLI."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot import export
from bot.config import Config
from tests.harness import BotDriver, TgUser
from tests.sql import connection
from tests.test_postulates_helpers import (
    CONTENT,
    TITLE,
    db_of,
    make_moderator,
    represent,
    sent_text,
    submit,
)

ADMIN = TgUser(id=900, language_code="pl", first_name="Admin")
MODERATOR = TgUser(id=2001, language_code="pl", first_name="Mod")


async def scenario(bot: BotDriver, anna: TgUser, john: TgUser) -> tuple[str, str]:
    """Two postulates (culture, health), one supported, one forwarded with history."""
    for user in (ADMIN, MODERATOR, anna, john):
        await bot.onboard(user)
    await make_moderator(bot, MODERATOR, "culture")
    await represent(bot, anna, "Fundacja „Łąka” ; Kraków")
    await represent(bot, john, 'Stowarzyszenie "Źródło"')
    first = await submit(bot, anna)
    bot.clock.advance(days=2)
    second = await submit(bot, anna, slug="health", title="Zdrowie; dostępność", content="Ą" * 30)
    await bot.send(john, f"/support {first}")
    await review(bot, MODERATOR, first, "➡️ Przekaż zespołowi koordynacyjnemu")
    await bot.press(MODERATOR, bot.label(MODERATOR, "postulates.button-confirm"))
    return first, second


async def review(bot: BotDriver, moderator: TgUser, reference: str, action: str) -> None:
    """The moderator opens the postulate from /review and presses the action."""
    await bot.send(moderator, "/review")
    await bot.press(moderator, reference)
    await bot.press(moderator, action)


async def records(bot: BotDriver, **filters: Any) -> list[dict[str, Any]]:
    return await db_of(bot).run(lambda unit: export.collect(unit, **filters))


def parse_csv(data: bytes, delimiter: str = ";") -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM makes Excel read UTF-8
    text = data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


async def test_csv_parsed_back_equals_the_records(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    first, second = await scenario(bot, anna, john)
    exported = await records(bot)
    rows = parse_csv(export.render(exported, "csv", ";"))
    assert [r["reference"] for r in rows] == [first, second]
    assert list(rows[0]) == list(export.COLUMNS)
    for row, record in zip(rows, exported, strict=True):
        for column in export.COLUMNS:
            if column == "supporters":
                expected = " | ".join(s["organisation"] for s in record["supporters"])
            elif column == "history":
                assert json.loads(row[column]) == record["history"]
                continue
            elif record[column] is None:
                expected = ""
            else:
                expected = str(record[column])
            assert row[column] == expected, column
    culture = rows[0]
    assert culture["title"] == TITLE
    assert culture["content"] == CONTENT
    assert culture["on_behalf_of"] == "Fundacja „Łąka” ; Kraków"
    assert culture["state"] == "forwarded"
    assert culture["supports"] == "1"
    assert culture["supporters"] == 'Stowarzyszenie "Źródło"'
    history = json.loads(culture["history"])
    steps = [(h["action"], h["by"]) for h in history]
    # Opening the card may take it into review first (a step of its own).
    assert steps[0] == ("submit", "author")
    assert steps[-1] == ("forward", "team")
    assert all(by == "team" for _, by in steps[1:])
    assert rows[1]["title"] == "Zdrowie; dostępność"


async def test_json_has_every_field_and_filters_apply(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    first, second = await scenario(bot, anna, john)
    data = json.loads(export.render(await records(bot), "json", ";"))
    assert set(data[0]) == set(export.COLUMNS)
    assert data[0]["supporters"][0]["organisation"] == 'Stowarzyszenie "Źródło"'
    health = await db_of(bot).run(
        lambda unit: (
            connection(unit).execute("SELECT id FROM teams WHERE slug = 'health'").fetchone()[0]
        )
    )
    assert [r["reference"] for r in await records(bot, team_ids=[health])] == [second]
    assert [r["reference"] for r in await records(bot, states=["forwarded"])] == [first]
    since = datetime(2026, 11, 27, tzinfo=UTC)
    assert [r["reference"] for r in await records(bot, since=since)] == [second]
    assert [r["reference"] for r in await records(bot, until=since)] == [first]


async def test_export_command_permissions(bot: BotDriver, anna: TgUser, john: TgUser) -> None:
    await scenario(bot, anna, john)
    calls = await bot.send(MODERATOR, "/export csv")
    [document] = [c for c in calls if c.method == "sendDocument"]
    assert document.params["caption"] == "Postulaty: 1"  # only the moderator's sector
    calls = await bot.send(MODERATOR, "/export sector=health")
    assert "Nie masz uprawnień" in sent_text(calls)
    assert not [c for c in calls if c.method == "sendDocument"]
    calls = await bot.send(ADMIN, "/export")
    documents = [c for c in calls if c.method == "sendDocument"]
    assert [d.params["caption"] for d in documents] == ["Postulaty: 2", "Postulaty: 2"]
    calls = await bot.send(ADMIN, "/export state=forwarded from=2026-11-01 json")
    [document] = [c for c in calls if c.method == "sendDocument"]
    assert document.params["caption"] == "Postulaty: 1"
    calls = await bot.send(ADMIN, "/export from=yesterday")
    assert "Data w <code>from=</code> jest błędna: „yesterday”" in sent_text(calls)
    calls = await bot.send(ADMIN, "/export csv colour=red")
    assert "Użycie: /export" in sent_text(calls)
    calls = await bot.send(ADMIN, "/export state=lost")
    assert "Nieznany stan: lost" in sent_text(calls)
    calls = await bot.send(anna, "/export")
    assert "Nie masz uprawnień" in sent_text(calls)
    assert not [c for c in calls if c.method == "sendDocument"]


async def test_export_names_the_authors(bot: BotDriver, anna: TgUser, john: TgUser) -> None:
    await scenario(bot, anna, john)
    exported = await records(bot)
    assert [r["author"] for r in exported] == ["Anna", "Anna"]
    # A new name reaches the next export; after /forget the author is left out.
    await bot.send(
        TgUser(id=anna.id, first_name="Anna", last_name="Nowak", username="ania"), "/help"
    )
    assert (await records(bot))[0]["author"] == "Anna Nowak (@ania)"


async def test_export_says_which_date_is_wrong(bot: BotDriver, anna: TgUser, john: TgUser) -> None:
    await scenario(bot, anna, john)
    calls = await bot.send(ADMIN, "/export from=2026-13-01")
    assert "Data w <code>from=</code> jest błędna: „2026-13-01”" in sent_text(calls)
    calls = await bot.send(ADMIN, "/export from=2026-11-01 to=31.11.2026")
    assert "Data w <code>to=</code> jest błędna: „31.11.2026”" in sent_text(calls)
    calls = await bot.send(ADMIN, "/export from=2026-11-28 to=2026-11-01")
    assert "wcześniejsza" in sent_text(calls)
    assert not [c for c in calls if c.method == "sendDocument"]


async def test_export_dates_take_the_meeting_formats_and_to_includes_its_day(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await scenario(bot, anna, john)  # postulates on 26 and 28 November 2026
    calls = await bot.send(ADMIN, "/export csv from=28.11.2026 to=28.11")
    [document] = [c for c in calls if c.method == "sendDocument"]
    assert document.params["caption"] == "Postulaty: 1"
    calls = await bot.send(ADMIN, "/export csv to=2026-11-26")
    [document] = [c for c in calls if c.method == "sendDocument"]
    assert document.params["caption"] == "Postulaty: 1"


async def test_export_sector_by_polish_or_english_name(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await scenario(bot, anna, john)
    for typed in ("zdrowie", "ZDROWIE", "Health", "health"):
        calls = await bot.send(ADMIN, f"/export csv sector={typed}")
        [document] = [c for c in calls if c.method == "sendDocument"]
        assert document.params["caption"] == "Postulaty: 1", typed
    calls = await bot.send(ADMIN, "/export sector=sport")
    assert "Nie ma zespołu branżowego „sport”" in sent_text(calls)
    assert "Kultura, Edukacja, Ochrona środowiska" in sent_text(calls)
    assert not [c for c in calls if c.method == "sendDocument"]


async def test_export_for_user_delimiter_from_config(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await scenario(bot, anna, john)
    files = await export.export_for_user(
        db_of(bot), ADMIN.id, export.ExportRequest(formats=("csv",)), ","
    )
    data, count = files["csv"]
    assert count == 2
    assert [r["sector"] for r in parse_csv(data, ",")] == ["culture", "health"]


async def test_cli_export_writes_the_file(
    bot: BotDriver, anna: TgUser, john: TgUser, config: Config, tmp_path: Path
) -> None:
    first, second = await scenario(bot, anna, john)
    out = tmp_path / "out.csv"
    args = argparse.Namespace(
        what="postulates", format="csv", out=str(out), sector="culture", since=None
    )
    # The CLI runs its own event loop; run it in a thread like a separate process would.
    status = await asyncio.to_thread(export.run, args, config)
    assert status == 0
    assert [r["reference"] for r in parse_csv(out.read_bytes())] == [first]
    args = argparse.Namespace(
        what="postulates", format="json", out=str(out), sector=None, since="2026-11-27"
    )
    assert await asyncio.to_thread(export.run, args, config) == 0
    assert [r["reference"] for r in json.loads(out.read_text("utf-8"))] == [second]
    bad = argparse.Namespace(
        what="postulates", format="json", out=str(out), sector="nope", since=None
    )
    assert await asyncio.to_thread(export.run, bad, config) == 2


def test_cli_parser_accepts_the_documented_form() -> None:
    parser = argparse.ArgumentParser()
    export.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["export", "postulates", "--format", "json", "--out", "x.json", "--sector", "culture"]
    )
    assert (args.command, args.what, args.format, args.out, args.sector) == (
        "export",
        "postulates",
        "json",
        "x.json",
        "culture",
    )


async def test_ngo_bot_export_postulates_command(
    bot: BotDriver, anna: TgUser, john: TgUser, config: Config, tmp_path: Path
) -> None:
    from bot.cli import main
    from tests.conftest import ADMIN_ID, TEST_TOKEN

    first, _ = await scenario(bot, anna, john)
    out = tmp_path / "postulaty.csv"
    env = {
        "BOT_TOKEN": TEST_TOKEN,
        "BOT_DATABASE": str(config.database),
        "BOT_ADMINS": str(ADMIN_ID),
    }
    argv = ["export", "postulates", "--format", "csv", "--out", str(out), "--sector", "culture"]

    def run() -> int:
        # main() sets up process-wide logging and reads os.environ: both are restored.
        root = logging.getLogger()
        saved_env, handlers, level = dict(os.environ), list(root.handlers), root.level
        os.environ.update(env)
        try:
            return main(argv)
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            root.handlers[:] = handlers
            root.setLevel(level)
            logging.captureWarnings(False)

    assert await asyncio.to_thread(run) == 0
    assert [r["reference"] for r in parse_csv(out.read_bytes())] == [first]
    argv[argv.index("--sector") + 1] = "nowhere"
    assert await asyncio.to_thread(run) == 2


async def test_an_export_read_a_page_at_a_time_is_the_same_file(
    bot: BotDriver, anna: TgUser, john: TgUser, monkeypatch: Any
) -> None:
    first, second = await scenario(bot, anna, john)
    third = await submit(bot, john, slug="health", title="Trzeci postulat", content="C" * 40)
    everything = await records(bot)
    assert [r["reference"] for r in everything] == [first, second, third]
    # One postulate a page: every page boundary falls between two postulates.
    monkeypatch.setattr(export, "PAGE", 1)
    files = await export.export_for_user(
        db_of(bot), ADMIN.id, export.ExportRequest(formats=("csv", "json")), ";"
    )
    assert files["json"] == (
        json.dumps(everything, ensure_ascii=False, indent=2).encode("utf-8"),
        3,
    )
    assert files["csv"] == (export.render(everything, "csv", ";"), 3)
    assert [r["reference"] for r in parse_csv(files["csv"][0])] == [first, second, third]
    nothing = await export.export_for_user(
        db_of(bot), ADMIN.id, export.ExportRequest(formats=("json",), states=("adopted",)), ";"
    )
    assert nothing["json"] == (b"[]", 0)
