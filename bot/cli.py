"""Command line: `ngo-bot [run]`, `check-config`, `migrate`, `backup`, `export postulates`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.error import InvalidToken, TelegramError
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot import consultation_report, export
from bot.config import Config, ConfigError, config_path, load_config
from bot.errors import TeamSyncError
from bot.redact import UnreadableUpdateFilter, redact, secrets_of, top_keys, update_id_of
from bot.services import consultations
from bot.services.sectors import sync_from_config
from storage.backup import BackupError, BackupRefused, backup
from storage.database import Database, DatabaseError

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ngo-bot", description=__doc__)
    parser.add_argument(
        "--config", help="configuration file (default: BOT_CONFIG, ./config.toml or the example)"
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot (long polling or webhook); the default")
    commands.add_parser("check-config", help="validate the configuration and print a summary")
    commands.add_parser("migrate", help="bring the database schema to the latest version")
    backup = commands.add_parser(
        "backup", help="copy the database (also while the bot runs) and check the copy"
    )
    backup.add_argument("path", help="the backup file, or a folder for a file named by the time")
    backup.add_argument(
        "--force", action="store_true", help="replace an existing file at PATH (never the database)"
    )
    export.add_parser(commands)  # `export postulates --format csv|json --out FILE ...`
    return parser


class RedactingFormatter(logging.Formatter):
    """Formats a record, traceback included, then removes the secrets from the result.

    Redacting the final text rather than `record.msg` also covers arguments, exception
    messages and reprs (PTB's `Bot.__repr__` holds the token, and so do request URLs).
    """

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self.secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stderr` is at the time (test capture swaps it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """The stream is always the current stderr."""


def setup_logging(secrets: Iterable[str] = (), level: int = logging.INFO) -> logging.Handler:
    """Log to stderr through the redacting formatter; replaces an earlier call's handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _StderrHandler):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.addFilter(UnreadableUpdateFilter())
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    root.addHandler(handler)
    root.setLevel(level)
    # Warnings go through the same redaction instead of straight to stderr.
    logging.captureWarnings(True)
    # httpx logs every request URL, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return handler


def _summary(config: Config, source: str) -> str:
    sectors = ", ".join(team.slug for team in config.sector_teams)
    updates = f"webhook at {config.webhook.url}" if config.mode == "webhook" else "long polling"
    return "\n".join(
        [
            f"configuration: {source} (valid)",
            f"database: {config.database}",
            f"timezone: {config.timezone}; default language: {config.default_language}",
            f"admins: {len(config.admins)}",
            f"teams: {len(config.teams)} ({len(config.sector_teams)} sector teams: {sectors})",
            f"token: {'set' if config.token else 'not set (BOT_TOKEN)'}",
            f"updates: {updates}",
        ]
    )


def _fail(
    message: str, config: Config | None = None, status: int = 2, secrets: Iterable[str] = ()
) -> int:
    """Print one line (never a traceback, never a secret) and return the exit status."""
    hidden = [*secrets, *(secrets_of(config) if config is not None else ())]
    line = " ".join(redact(message, hidden).split())  # a line break would split the message
    print(f"ngo-bot: {line}", file=sys.stderr)
    return status


class ProductionRequest(BaseRequest):
    """PTB's own HTTP clients (a pool for calls, one connection for long polling), plus a guard.

    PTB cannot skip an update it fails to parse: it logs the batch and asks again with the
    same offset, forever and without pause, and every later update waits behind it. When a
    batch comes back unchanged (PTB did not confirm it), each unreadable update in it is
    replaced by a bare one with the same update_id, which no handler takes, so the offset
    moves on. Readable batches pass untouched: the check costs nothing in normal operation.
    """

    def __init__(self) -> None:
        self._calls = HTTPXRequest(connection_pool_size=256)
        self._updates = HTTPXRequest(connection_pool_size=1)
        self._last_batch: int | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._calls.read_timeout

    async def initialize(self) -> None:
        await self._calls.initialize()
        await self._updates.initialize()

    async def shutdown(self) -> None:
        await self._calls.shutdown()
        await self._updates.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        polling = url.endswith("/getUpdates")
        client = self._updates if polling else self._calls
        status, payload = await client.do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        if polling and status == 200:
            payload = self._guard(payload)
        return status, payload

    def _guard(self, payload: bytes) -> bytes:
        try:
            body = json.loads(payload)
            batch: list[Any] = body["result"]
            first = batch[0]["update_id"] if batch else None
        except (ValueError, TypeError, KeyError, IndexError):
            return payload  # PTB reports a broken answer itself
        repeated = first is not None and first == self._last_batch
        self._last_batch = first
        if not repeated:
            return payload
        readable = (_readable(item) for item in batch)
        body["result"] = [item for item in readable if item is not None]
        return json.dumps(body).encode()


def _readable(item: Any) -> Any:
    """The update if PTB can read it, else a bare update with its id (logged, not its data)."""
    try:
        Update.de_json(item, None)
    except Exception as exc:
        update_id = update_id_of(item)
        # Only the exception's type: its message may quote a value from the update.
        log.error(
            "Skipped update %s that could not be read (top-level keys: %s): %s",
            update_id,
            top_keys(item),
            type(exc).__name__,
        )
        return {"update_id": update_id} if update_id is not None else None
    return item


async def _prepare(config: Config) -> None:
    """Migrate and apply the configured teams before contacting Telegram at all."""
    db = await Database.open(config.database)
    try:
        await sync_from_config(db, config)
    finally:
        await db.close()


def _run(config: Config) -> int:
    from bot.app import build_application  # imported late: PTB's import cost only for `run`
    from bot.web.server import attach
    from bot.webhook import serve, webhook_routes

    if config.token is None:
        return _fail("BOT_TOKEN is not set; export the bot's token as BOT_TOKEN")
    # One loop for the checks and for PTB (run_polling takes the current loop).
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    app = None
    try:
        loop.run_until_complete(_prepare(config))
        app = build_application(config, request=ProductionRequest())
        # getMe first, here: inside run_polling/run_webhook a failure would be logged with
        # PTB's whole traceback before the one line below. PTB skips it once done.
        loop.run_until_complete(app.bot.initialize())
        # The public site and, in webhook mode, the webhook: one server in the same loop.
        attach(app, config, webhook_routes(app, config))
        serve(app, config)
    except (TeamSyncError, DatabaseError) as exc:
        return _fail(str(exc), config)
    except InvalidToken:
        return _fail("Telegram refused the token in BOT_TOKEN", config)
    except TelegramError as exc:
        return _fail(f"cannot start, Bot API at {config.api_base_url}: {exc}", config, status=1)
    except Exception:
        log.exception("The bot stopped on an unexpected error")
        return 1
    finally:
        if app is not None:
            # After a failed start PTB skips its shutdown (the bot never finished
            # initialising) and leaves its HTTP client open; closing it again is harmless.
            loop.run_until_complete(app.bot.request.shutdown())
        loop.close()
        asyncio.set_event_loop(None)
    return 0


async def _migrate(config: Config) -> None:
    db = await Database.open(config.database)
    await db.close()


def _backup(config: Config, target: str, force: bool) -> int:
    if not target.strip():
        # Path("") is the current folder: an empty PATH (an unset variable) would quietly
        # drop a backup wherever the command happens to run.
        return _fail("backup PATH is empty; give a file or a folder", config)
    try:
        result = backup(config.database, Path(target), overwrite=force)
    except BackupRefused as exc:
        return _fail(str(exc), config)
    except BackupError as exc:
        return _fail(str(exc), config, status=1)
    print(
        f"backup of {config.database} written to {result.path} "
        f"({result.size} bytes, schema version {result.schema_version}, integrity check ok)"
    )
    return 0


def _export(args: argparse.Namespace, config: Config) -> int:
    # Checked here, before anything is read or written: the export would otherwise run,
    # then fail on the write with a traceback (or create an empty database to export).
    out = Path(args.out)
    if not str(args.out).strip() or out.is_dir():
        return _fail(f"--out {args.out!r} must be a file name, not a folder", config)
    folder = out.parent
    if not folder.is_dir():
        return _fail(f"no folder {folder} for --out {args.out}", config)
    if not os.access(folder, os.W_OK):
        return _fail(f"cannot write into the folder {folder} (permission denied)", config)
    if not config.database.is_file():
        return _fail(f"no database at {config.database}", config)
    try:
        if args.what == "consultation":
            return _export_consultation(args, config)
        return export.run(args, config)
    except DatabaseError as exc:
        return _fail(str(exc), config)
    except OSError as exc:
        return _fail(f"cannot write {args.out}: {exc.strerror}", config)


def _export_consultation(args: argparse.Namespace, config: Config) -> int:
    if args.format not in (None, "docx", "csv"):
        return _fail(f"--format {args.format} is not available for a consultation", config)
    fmt: consultation_report.Format = "csv" if args.format == "csv" else "docx"
    if args.id is None or not args.id.isascii() or not args.id.isdigit():
        return _fail("export consultation needs the consultation's number, e.g. 3", config)
    try:
        count = consultation_report.export_to_file(config, int(args.id), fmt, Path(args.out))
    except consultations.UnknownConsultation:
        return _fail(f"no published consultation {args.id}", config)
    print(f"exported the report of consultation {args.id} ({count} comments) to {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `ngo-bot` console script and `python -m bot`."""
    args = _parser().parse_args(argv)
    env = dict(os.environ)
    if args.config:
        env["BOT_CONFIG"] = args.config
    source = config_path(env)
    try:
        config = load_config(source, env)
    except ConfigError as exc:
        # The token may have been read already: never echo it, even in an error.
        token = env.get("BOT_TOKEN", "")
        return _fail(str(exc), secrets=[token] if token else [])
    command = args.command or "run"
    if command == "check-config":
        print(_summary(config, str(source)))
        return 0
    setup_logging(secrets_of(config))
    if command == "migrate":
        try:
            asyncio.run(_migrate(config))
        except DatabaseError as exc:
            return _fail(str(exc), config)
        print(f"database {config.database} is at the latest schema version")
        return 0
    if command == "backup":
        return _backup(config, args.path, args.force)
    if command == "export":
        return _export(args, config)
    return _run(config)


if __name__ == "__main__":
    sys.exit(main())
