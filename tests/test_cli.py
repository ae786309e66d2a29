"""The `ngo-bot` command line: run without a token, check-config, migrate, team removal."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import EXAMPLE_CONFIG, Config, load_config
from bot.services import sectors as sectors_service
from storage.database import MIGRATIONS, Database
from tests.fake_api_server import REPO, BotProcess, FakeApiServer

TOKEN = "777001:CLI-sentinel-token-Qm3vK8"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
EXAMPLE = EXAMPLE_CONFIG.read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ./config.toml of a developer, a tmp database, and logging restored afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_DATABASE", str(tmp_path / "data" / "bot.sqlite3"))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


def write_config(tmp_path: Path, edit: Callable[[str], str], name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(edit(EXAMPLE), encoding="utf-8")
    return path


def without_team(slug: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        blocks = text.split("\n[[teams]]\n")
        kept = [block for block in blocks if f'slug = "{slug}"\n' not in block]
        assert len(kept) == len(blocks) - 1
        return "\n[[teams]]\n".join(kept)

    return edit


def replace(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text
        return text.replace(old, new, 1)

    return edit


def subscribe(config: Config, user_id: int, slug: str) -> None:
    """A member who consented and follows `slug`, through the same service /start uses."""

    async def go() -> None:
        db = await Database.open(config.database)
        try:
            await sectors_service.sync_from_config(db, config)
            outcome = await sectors_service.give_consent(
                db, user_id, "pl", config.privacy.notice_version, NOW, subscribe_slug=slug
            )
            assert outcome is not None
        finally:
            await db.close()

    asyncio.run(go())


def team_names(database: Path) -> dict[str, str]:
    with sqlite3.connect(database) as conn:
        return dict(conn.execute("SELECT slug, name_pl FROM teams").fetchall())


def latest_migration() -> int:
    return max(int(path.name[:4]) for path in MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


@pytest.mark.parametrize("argv", [[], ["run"]])
def test_run_without_token_exits_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "BOT_TOKEN" in one_line(err)


def test_run_without_token_as_a_process_prints_no_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "BOT_TOKEN" in one_line(done.stderr)


def test_check_config_prints_a_summary_and_never_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    assert main(["check-config"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert f"configuration: {EXAMPLE_CONFIG} (valid)" in out
    assert "token: set" in out
    assert "9 (8 sector teams: culture, education," in out
    assert TOKEN not in out
    assert TOKEN.split(":")[1] not in out


def test_check_config_without_token_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, replace('timezone = "Europe/Warsaw"', 'timezone = "UTC"'))
    assert main(["--config", str(path), "check-config"]) == 0
    out = capsys.readouterr().out
    assert f"configuration: {path} (valid)" in out
    assert "timezone: UTC" in out
    assert "token: not set (BOT_TOKEN)" in out


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda text: 'colour = "blue"\n' + text, "colour"),
        (replace("[delivery]\n", "[delivery]\npace = 3\n"), "delivery.pace"),
        (replace('slug = "culture"\n', 'slug = "culture"\nemoji = "x"\n'), "teams.1.emoji"),
    ],
)
def test_unknown_key_exits_2_naming_key_and_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    edit: Callable[[str], str],
    key: str,
) -> None:
    path = write_config(tmp_path, edit, name="mine.toml")
    monkeypatch.setenv("BOT_CONFIG", str(path))
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    assert main(["check-config"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert one_line(err) == f"ngo-bot: {path}: unknown key '{key}'"


def test_token_written_in_the_file_is_refused_without_echoing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, lambda text: f'token = "{TOKEN}"\n' + text)
    monkeypatch.setenv("BOT_TOKEN", TOKEN)  # even when the environment has one too
    assert main(["--config", str(path), "migrate"]) == 2
    out, err = capsys.readouterr()
    assert "unknown key 'token'" in one_line(err)
    assert TOKEN not in out + err


def test_migrate_creates_the_database_at_the_latest_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "data" / "bot.sqlite3"
    assert not database.parent.exists()
    assert main(["migrate"]) == 0  # no token needed
    assert main(["migrate"]) == 0  # and again: nothing left to do
    with sqlite3.connect(database) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert version == latest_migration()
    assert {"users", "teams", "subscriptions"} <= tables
    out = capsys.readouterr().out
    assert f"database {database} is at the latest schema version" in out


def test_removing_a_team_with_subscribers_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    database = tmp_path / "data" / "bot.sqlite3"
    subscribe(load_config(EXAMPLE_CONFIG), 1001, "exclusion")
    path = write_config(tmp_path, without_team("exclusion"))
    monkeypatch.setenv("BOT_CONFIG", str(path))
    # No Bot API at this address: the refusal must come before any network call.
    monkeypatch.setenv("BOT_API_BASE_URL", "http://127.0.0.1:9/bot")

    assert main(["run"]) == 2

    out, err = capsys.readouterr()
    line = one_line(err)
    assert "team 'exclusion' was removed from the configuration" in line
    assert "Traceback" not in out + err
    assert TOKEN not in out + err
    assert team_names(database)["exclusion"] == "Wykluczenie"  # nothing was changed


def test_refused_token_is_one_clear_line_and_unused_teams_may_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "data" / "bot.sqlite3"
    subscribe(load_config(EXAMPLE_CONFIG), 1001, "exclusion")
    path = write_config(tmp_path, without_team("health"))  # nobody follows it
    monkeypatch.setenv("BOT_CONFIG", str(path))
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    with FakeApiServer(token="1:another-token") as server:  # answers 401 to ours
        monkeypatch.setenv("BOT_API_BASE_URL", server.base_url)
        assert main(["run"]) == 2
        assert [call.method for call in server.calls()] == ["getMe"]

    out, err = capsys.readouterr()
    assert err.strip().splitlines()[-1] == "ngo-bot: Telegram refused the token in BOT_TOKEN"
    assert TOKEN not in out + err
    assert TOKEN.split(":")[1] not in out + err
    names = team_names(database)
    assert "health" not in names
    assert "exclusion" in names


def test_unreachable_bot_api_exits_1_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("BOT_API_BASE_URL", "http://127.0.0.1:9/bot")  # nothing listens
    assert main(["run"]) == 1
    out, err = capsys.readouterr()
    last = err.strip().splitlines()[-1]
    assert last.startswith("ngo-bot: cannot start, Bot API at http://127.0.0.1:9/bot: ")
    assert TOKEN not in out + err


@pytest.mark.process
def test_renaming_a_team_with_subscribers_starts_and_keeps_them(tmp_path: Path) -> None:
    database = tmp_path / "data" / "bot.sqlite3"
    subscribe(load_config(EXAMPLE_CONFIG, {"BOT_DATABASE": str(database)}), 1001, "exclusion")
    path = write_config(
        tmp_path,
        replace('name_pl = "Wykluczenie"', 'name_pl = "Wykluczenie społeczne"'),
    )
    with FakeApiServer(token=TOKEN) as server:
        bot = BotProcess(
            server, tmp_path, token=TOKEN, database=database, env={"BOT_CONFIG": str(path)}
        )
        try:
            bot.start().wait_polling()
            assert bot.stop() == 0
        finally:
            bot.close()
    assert team_names(database)["exclusion"] == "Wykluczenie społeczne"
    with sqlite3.connect(database) as conn:
        followers = conn.execute(
            "SELECT s.user_id FROM subscriptions s JOIN teams t ON t.id = s.team_id"
            " WHERE t.slug = 'exclusion'"
        ).fetchall()
    assert followers == [(1001,)]
