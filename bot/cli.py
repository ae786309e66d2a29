"""Command line: `ngo-bot [run]`, `ngo-bot check-config`, `ngo-bot migrate`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

from telegram import Update

from bot.config import Config, ConfigError, config_path, load_config
from bot.errors import TeamSyncError
from storage.database import Database, MigrationError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ngo-bot", description=__doc__)
    parser.add_argument(
        "--config", help="configuration file (default: BOT_CONFIG, ./config.toml or the example)"
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot (long polling); the default")
    commands.add_parser("check-config", help="validate the configuration and print a summary")
    commands.add_parser("migrate", help="bring the database schema to the latest version")
    return parser


def _setup_logging() -> None:
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO
    )
    # httpx logs every request URL, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _summary(config: Config, source: str) -> str:
    sectors = ", ".join(team.slug for team in config.sector_teams)
    return "\n".join(
        [
            f"configuration: {source} (valid)",
            f"database: {config.database}",
            f"timezone: {config.timezone}; default language: {config.default_language}",
            f"admins: {len(config.admins)}",
            f"teams: {len(config.teams)} ({len(config.sector_teams)} sector teams: {sectors})",
            f"token: {'set' if config.token else 'not set (BOT_TOKEN)'}",
        ]
    )


def _run(config: Config) -> int:
    from bot.app import build_application  # imported late: PTB's import cost only for `run`

    if config.token is None:
        print("ngo-bot: BOT_TOKEN is not set; export the bot's token as BOT_TOKEN", file=sys.stderr)
        return 2
    app = build_application(config)
    try:
        app.run_polling(
            allowed_updates=Update.ALL_TYPES,
            stop_signals=(signal.SIGINT, signal.SIGTERM),
            close_loop=True,
        )
    except (TeamSyncError, MigrationError) as exc:
        print(f"ngo-bot: {exc}", file=sys.stderr)
        return 2
    return 0


async def _migrate(config: Config) -> None:
    db = await Database.open(config.database)
    await db.close()


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
        print(f"ngo-bot: {exc}", file=sys.stderr)
        return 2
    command = args.command or "run"
    if command == "check-config":
        print(_summary(config, str(source)))
        return 0
    _setup_logging()
    if command == "migrate":
        try:
            asyncio.run(_migrate(config))
        except MigrationError as exc:
            print(f"ngo-bot: {exc}", file=sys.stderr)
            return 2
        print(f"database {config.database} is at the latest schema version")
        return 0
    return _run(config)


if __name__ == "__main__":
    sys.exit(main())
