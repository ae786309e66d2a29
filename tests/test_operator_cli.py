"""Operator mistakes on the real `ngo-bot` console script: one `ngo-bot: …` line, no traceback,
the right exit status, and nothing created or changed on disk."""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import EXAMPLE_CONFIG
from tests.fake_api_server import HOST, REPO

TOKEN = "818181:OPERATOR-sentinel-token-Vb5nQ2"
EXAMPLE = EXAMPLE_CONFIG.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Done:
    status: int
    stdout: str
    stderr: str

    @property
    def line(self) -> str:
        """The single line printed on stderr (fails if there is not exactly one)."""
        lines = self.stderr.splitlines()
        assert len(lines) == 1, self.stderr
        assert lines[0].startswith("ngo-bot: "), self.stderr
        assert "Traceback" not in self.stdout + self.stderr
        assert TOKEN not in self.stdout + self.stderr
        return lines[0]


def ngo_bot(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> Done:
    """Run the installed console script as an operator would, in `cwd`."""
    script = Path(sys.executable).with_name("ngo-bot")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    clean["PYTHONPATH"] = str(REPO)
    clean.update(env or {})
    done = subprocess.run(
        [str(script), *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=60
    )
    return Done(done.returncode, done.stdout, done.stderr)


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file and folder under `folder` with its mtime and content hash."""
    found: dict[str, tuple[int, str]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path.relative_to(folder))] = (path.stat().st_mtime_ns, digest)
        else:
            found[str(path.relative_to(folder))] = (path.stat().st_mtime_ns, "dir")
    return found


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A migrated database under tmp_path/data, made by the CLI itself."""
    path = tmp_path / "data" / "bot.sqlite3"
    assert ngo_bot(tmp_path, "migrate", env={"BOT_DATABASE": str(path)}).status == 0
    return path


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: nothing listens there


def test_export_to_a_missing_folder_is_one_line_and_writes_nothing(
    tmp_path: Path, database: Path
) -> None:
    before = snapshot(tmp_path)
    done = ngo_bot(
        tmp_path,
        "export",
        "postulates",
        "--out",
        "missing-dir/file.csv",
        env={"BOT_DATABASE": str(database)},
    )
    assert done.status == 2
    assert "missing-dir" in done.line
    assert snapshot(tmp_path) == before


def test_export_without_a_database_creates_none(tmp_path: Path) -> None:
    database = tmp_path / "data" / "bot.sqlite3"
    done = ngo_bot(
        tmp_path,
        "export",
        "postulates",
        "--out",
        "out.csv",
        env={"BOT_DATABASE": str(database)},
    )
    assert done.status == 2
    assert "no database" in done.line
    assert list(tmp_path.iterdir()) == []


def test_config_that_is_not_utf8_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(EXAMPLE.encode("cp1250"))  # what a Windows editor may save
    before = snapshot(tmp_path)
    done = ngo_bot(tmp_path, "--config", str(path), "migrate")
    assert done.status == 2
    assert str(path) in done.line
    assert "UTF-8" in done.line
    assert snapshot(tmp_path) == before


def test_config_that_is_a_folder_exits_2(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    before = snapshot(tmp_path)
    done = ngo_bot(tmp_path, "--config", "conf", "check-config")
    assert done.status == 2
    assert "conf" in done.line
    assert "folder" in done.line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "where", ["under-a-file", "in-a-read-only-folder", "where-not-even-root-may-create"]
)
def test_migrate_with_an_impossible_database_path_exits_2(tmp_path: Path, where: str) -> None:
    (tmp_path / "plain.txt").write_text("not a folder", encoding="utf-8")
    (tmp_path / "locked").mkdir(mode=0o500)
    target = {
        "under-a-file": tmp_path / "plain.txt" / "bot.sqlite3",
        "in-a-read-only-folder": tmp_path / "locked" / "sub" / "bot.sqlite3",
        # procfs refuses new folders to everyone, root included.
        "where-not-even-root-may-create": Path("/proc/self/ngo-bot") / "bot.sqlite3",
    }[where]
    if where == "in-a-read-only-folder" and os.access(tmp_path / "locked", os.W_OK):
        pytest.skip("running as root: every folder is writable")
    before = snapshot(tmp_path)
    done = ngo_bot(tmp_path, "migrate", env={"BOT_DATABASE": str(target)})
    assert done.status == 2
    assert str(target.parent) in done.line
    assert snapshot(tmp_path) == before


def test_migrate_with_a_folder_as_database_exits_2(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    before = snapshot(tmp_path)
    done = ngo_bot(tmp_path, "migrate", env={"BOT_DATABASE": str(tmp_path / "data")})
    assert done.status == 2
    assert "folder" in done.line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "content",
    [b"name;krs\nFundacja;0000123456\n" * 200, b"SQLite format 2\x00" + b"\x00" * 4080],
    ids=["csv", "almost-sqlite"],
)
def test_migrate_on_a_file_that_is_not_sqlite_leaves_it_untouched(
    tmp_path: Path, content: bytes
) -> None:
    target = tmp_path / "organisations.csv"
    target.write_bytes(content)
    before = snapshot(tmp_path)
    done = ngo_bot(tmp_path, "migrate", env={"BOT_DATABASE": str(target)})
    assert done.status == 2
    assert "not an SQLite database" in done.line
    assert snapshot(tmp_path) == before  # no -wal, -shm or journal beside it either


def test_run_with_an_unreachable_bot_api_prints_one_line(tmp_path: Path, database: Path) -> None:
    env = {
        "BOT_TOKEN": TOKEN,
        "BOT_DATABASE": str(database),
        "BOT_API_BASE_URL": f"http://{HOST}:{closed_port()}/bot",
    }
    done = ngo_bot(tmp_path, "run", env=env)
    assert done.status == 1
    assert done.line.startswith("ngo-bot: cannot start, Bot API at http://")
    assert done.stdout == ""


def test_backup_refuses_an_existing_file_unless_forced(tmp_path: Path, database: Path) -> None:
    env = {"BOT_DATABASE": str(database)}
    target = tmp_path / "keep.sqlite3"
    target.write_bytes(b"last week's backup")
    before = snapshot(tmp_path)

    done = ngo_bot(tmp_path, "backup", str(target), env=env)

    assert done.status == 2
    assert str(target) in done.line
    assert "--force" in done.line
    assert snapshot(tmp_path) == before

    forced = ngo_bot(tmp_path, "backup", str(target), "--force", env=env)
    assert forced.status == 0, forced.stderr
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_backup_refuses_an_empty_path(tmp_path: Path, database: Path) -> None:
    before = snapshot(tmp_path)
    done = ngo_bot(tmp_path, "backup", "", env={"BOT_DATABASE": str(database)})
    assert done.status == 2
    assert "empty" in done.line
    assert snapshot(tmp_path) == before


def test_backup_into_a_missing_folder_exits_2(tmp_path: Path, database: Path) -> None:
    before = snapshot(tmp_path)
    done = ngo_bot(tmp_path, "backup", "nowhere/copy.sqlite3", env={"BOT_DATABASE": str(database)})
    assert done.status == 2
    assert "nowhere" in done.line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('csv_delimiter = ";"', 'csv_delimiter = "\\n"', "postulates.csv_delimiter"),
        ("admins = []", "admins = [9223372036854775808]", "admins.0"),
        ("interval_seconds = 5.0", "interval_seconds = nan", "delivery.interval_seconds"),
    ],
    ids=["newline-delimiter", "id-past-64-bits", "nan-interval"],
)
def test_config_value_that_breaks_a_feature_is_one_line_naming_the_key(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    path = tmp_path / "config.toml"
    assert old in EXAMPLE
    path.write_text(EXAMPLE.replace(old, new, 1), encoding="utf-8")
    before = snapshot(tmp_path)
    done = ngo_bot(tmp_path, "--config", str(path), "migrate", env={"BOT_TOKEN": TOKEN})
    assert done.status == 2
    assert f"'{key}'" in done.line
    assert snapshot(tmp_path) == before


def test_several_config_errors_still_print_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    text = EXAMPLE.replace("batch_size = 100", "batch_size = 0", 1)
    path.write_text(text.replace("digest_hour = 8", "digest_hour = 25", 1), encoding="utf-8")
    done = ngo_bot(tmp_path, "--config", str(path), "check-config")
    assert done.status == 2
    assert "'delivery.batch_size'" in done.line
    assert "'notifications.digest_hour'" in done.line
