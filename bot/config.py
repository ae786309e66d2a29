"""Configuration: TOML file into frozen pydantic models, environment overrides, the token."""

from __future__ import annotations

import ipaddress
import os
import re
import string
import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

Language = Literal["pl", "en"]
LANGUAGES: tuple[Language, ...] = ("pl", "en")
EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "config.example.toml"
# What Telegram accepts as a webhook's secret_token.
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,39}$")]
# Telegram ids are stored in SQLite INTEGER columns: signed 64-bit. User ids are positive.
SQLITE_MAX_INT = 2**63 - 1
UserId = Annotated[int, Field(ge=1, le=SQLITE_MAX_INT)]
# Where a Bot API lives: an http(s) address without spaces (PTB appends the token).
_API_URL = r"^https?://[^/\s]+(/\S*)?$"
# A host name as DNS allows it, for webhook.listen when it is not an IP address.
_HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9-]{1,63})*$")
# CSV delimiters a spreadsheet can split on: ASCII punctuation or a tab. Quotes would clash
# with quoting, letters, digits and spaces with the data, line breaks with the rows.
_DELIMITERS = frozenset(string.punctuation + "\t") - {'"', "'"}


def _one_line(value: str) -> str:
    # Names and descriptions go into buttons and one-line texts: a line break or another
    # control character would break the layout, blanks would show an empty button.
    if not value.strip():
        raise ValueError("must not be blank")
    if any(not char.isprintable() for char in value):
        raise ValueError("must be one line of printable text (no line breaks or tabs)")
    return value


Line = Annotated[str, AfterValidator(_one_line)]


class ConfigError(Exception):
    """The configuration cannot be used; the message says why and where."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TeamConfig(_Frozen):
    slug: Slug
    kind: Literal["coordination", "sector"] = "sector"
    name_pl: Line = Field(min_length=1, max_length=100)
    name_en: Line = Field(min_length=1, max_length=100)
    description_pl: Line = Field(min_length=1, max_length=300)
    description_en: Line = Field(min_length=1, max_length=300)


class DeliveryConfig(_Frozen):
    # At least 0.1 s: shorter intervals would keep the dispatcher polling the database
    # without pause.
    interval_seconds: float = Field(default=5.0, ge=0.1, le=3600)
    messages_per_second: float = Field(default=25.0, ge=0.1, le=30)
    batch_size: int = Field(default=100, ge=1, le=1000)
    max_attempts: int = Field(default=5, ge=1, le=20)
    retry_seconds: float = Field(default=30.0, ge=0.1, le=3600)
    retry_max_seconds: float = Field(default=900.0, ge=0.1, le=86400)

    @model_validator(mode="after")
    def _retries_grow(self) -> DeliveryConfig:
        if self.retry_max_seconds < self.retry_seconds:
            raise ValueError("retry_max_seconds must not be shorter than retry_seconds")
        return self


class MeetingsConfig(_Frozen):
    # Default reminder lead times in minutes before a meeting (a moderator may type others).
    reminder_minutes: tuple[int, ...] = Field(default=(1440, 60), max_length=5)
    # At most this many occurrences in one recurring series.
    max_occurrences: int = Field(default=52, ge=1, le=200)

    @field_validator("reminder_minutes")
    @classmethod
    def _sane_leads(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 5 <= minutes <= 30 * 1440 for minutes in value):
            raise ValueError("each reminder lead time must be 5 minutes to 30 days")
        return tuple(sorted(set(value), reverse=True))


class PrivacyConfig(_Frozen):
    controller: Line = Field(min_length=1, max_length=300)
    contact: Line = Field(min_length=1, max_length=300)
    notice_version: int = Field(default=1, ge=1, le=1_000_000)
    # Retention: members inactive (blocked the bot, left) this long are erased like /forget.
    inactive_purge_days: int = Field(default=180, ge=1, le=3650)
    # Settled delivery rows (sent, failed, ...) are deleted this long after their last change.
    deliveries_keep_days: int = Field(default=90, ge=1, le=3650)


class PostulatesConfig(_Frozen):
    accept_outside_calls: bool = True
    csv_delimiter: str = Field(default=";", min_length=1, max_length=1)
    draft_idle_hours: int = Field(default=24, ge=1, le=720)

    @field_validator("csv_delimiter")
    @classmethod
    def _usable_delimiter(cls, value: str) -> str:
        if value not in _DELIMITERS:
            raise ValueError(
                f"{value!r} cannot separate CSV columns; use one punctuation character "
                "other than a quote (such as ; or ,) or a tab"
            )
        return value


class ConsultationsConfig(_Frozen):
    """Consulting the draft programme: the shortest window and the largest draft file."""

    min_days: int = Field(default=7, ge=1, le=365)
    # Telegram lets a bot download files up to 20 MB.
    max_file_mb: int = Field(default=5, ge=1, le=20)


class FloodConfig(_Frozen):
    # At most `updates` updates from one user in `seconds`; beyond that one polite message
    # and the rest are dropped until the window clears.
    updates: int = Field(default=20, ge=1, le=1000)
    seconds: float = Field(default=10.0, gt=0, le=3600)


class WebhookConfig(_Frozen):
    # The public HTTPS address Telegram posts updates to (its path is the one served);
    # empty while polling.
    url: str = Field(default="", pattern=r"^(https://[^/\s]+(/\S*)?)?$")
    # Where the bot's own HTTP server listens (a reverse proxy in front terminates TLS).
    listen: str = "127.0.0.1"
    port: int = Field(default=8443, ge=1, le=65535)
    # The secret Telegram repeats in each request's header; from BOT_WEBHOOK_SECRET only.
    secret_token: SecretStr | None = Field(default=None, exclude=True)

    @field_validator("listen")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            if not _HOST_NAME.fullmatch(value):
                raise ValueError(f"{value!r} is not an IP address or a host name") from None
        return value

    @field_validator("secret_token")
    @classmethod
    def _telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _SECRET_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("BOT_WEBHOOK_SECRET must be 1-256 characters A-Z, a-z, 0-9, _ or -")
        return value

    @property
    def url_path(self) -> str:
        """The path of the public URL, which the local server serves."""
        return urlsplit(self.url).path.lstrip("/")


class NotificationsConfig(_Frozen):
    # Local hour (0-23) at which users who chose the daily digest get it.
    digest_hour: int = Field(default=8, ge=0, le=23)


class WebConfig(_Frozen):
    # The public site and feeds, served by the bot's own process (read only, no login).
    enabled: bool = True
    # Where it listens (BOT_WEB_HOST, BOT_WEB_PORT); a reverse proxy in front adds TLS.
    host: str = Field(default="127.0.0.1", min_length=1, max_length=255)
    port: int = Field(default=8080, ge=1, le=65535)
    # The address people reach it at, for links in the bot's messages and in feeds;
    # empty: the address each request came to.
    public_url: str = Field(default="", pattern=r"^(https?://[^/\s]+(/\S*)?)?$")
    # The accessibility statement (/dostepnosc) the law asks Polish public bodies for.
    body_name: str = Field(
        default="Gmina Miejska Kraków – Urząd Miasta Krakowa", min_length=1, max_length=300
    )
    contact: str = Field(default="ngo@example.org", min_length=1, max_length=300)
    published: date = date(2026, 1, 1)
    updated: date = date(2026, 1, 1)


class Config(_Frozen):
    admins: tuple[UserId, ...] = ()
    timezone: str = "Europe/Warsaw"
    default_language: Language = "pl"
    database: Path = Path("data/ngo-bot.sqlite3")
    api_base_url: str = Field(default="https://api.telegram.org/bot", pattern=_API_URL)
    api_file_url: str = Field(default="https://api.telegram.org/file/bot", pattern=_API_URL)
    max_concurrent_updates: int = Field(default=64, ge=1, le=1024)
    privacy: PrivacyConfig
    delivery: DeliveryConfig = DeliveryConfig()
    meetings: MeetingsConfig = MeetingsConfig()
    postulates: PostulatesConfig = PostulatesConfig()
    consultations: ConsultationsConfig = ConsultationsConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    flood: FloodConfig = FloodConfig()
    teams: tuple[TeamConfig, ...]
    token: SecretStr | None = Field(default=None, exclude=True)
    # How updates arrive: "polling" (getUpdates, the default) or "webhook" ([webhook] needed).
    mode: Literal["polling", "webhook"] = "polling"
    webhook: WebhookConfig = WebhookConfig()
    web: WebConfig = WebConfig()

    @field_validator("database", mode="before")
    @classmethod
    def _some_file(cls, value: object) -> object:
        # Path("") is the current folder: an empty value would point SQLite at a folder.
        if isinstance(value, str) and not value.strip():
            raise ValueError("must be the path of the SQLite file, not empty")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("teams")
    @classmethod
    def _teams_consistent(cls, teams: tuple[TeamConfig, ...]) -> tuple[TeamConfig, ...]:
        slugs = [team.slug for team in teams]
        duplicated = sorted({slug for slug in slugs if slugs.count(slug) > 1})
        if duplicated:
            raise ValueError(f"duplicated team slug(s): {', '.join(duplicated)}")
        if sum(team.kind == "coordination" for team in teams) != 1:
            raise ValueError("exactly one team must have kind = 'coordination'")
        if not any(team.kind == "sector" for team in teams):
            raise ValueError("at least one sector team is needed")
        return teams

    @model_validator(mode="after")
    def _webhook_complete(self) -> Config:
        if self.mode == "webhook":
            if not self.webhook.url:
                raise ValueError("mode = 'webhook' needs the public address in webhook.url")
            if self.webhook.secret_token is None:
                raise ValueError("mode = 'webhook' needs BOT_WEBHOOK_SECRET in the environment")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sector_teams(self) -> tuple[TeamConfig, ...]:
        return tuple(team for team in self.teams if team.kind == "sector")


def _describe(error: ValidationError, source: Path) -> str:
    """Every problem on one line: the CLI prints exactly one line per failure."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown key '{where}'")
        else:
            problems.append(f"'{where}': {item['msg']}")
    return f"{source}: " + "; ".join(problems)


def _parse_admins(raw: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in raw.replace(" ", "").split(",") if part)
    except ValueError as exc:
        raise ConfigError(
            f"BOT_ADMINS must be comma-separated Telegram user ids, got {raw!r}"
        ) from exc


def config_path(env: Mapping[str, str]) -> Path:
    """Pick the file: BOT_CONFIG, else ./config.toml if present, else the example."""
    if "BOT_CONFIG" in env:
        return Path(env["BOT_CONFIG"])
    local = Path("config.toml")
    return local if local.exists() else EXAMPLE_CONFIG


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Read the TOML file, apply the BOT_* environment overrides and validate everything."""
    env = os.environ if env is None else env
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such configuration file") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{path}: is a folder, not a configuration file") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    if env.get("BOT_ADMINS"):
        data["admins"] = [*data.get("admins", []), *_parse_admins(env["BOT_ADMINS"])]
    overrides = {
        "BOT_DATABASE": "database",
        "BOT_API_BASE_URL": "api_base_url",
        "BOT_API_FILE_URL": "api_file_url",
    }
    for variable, key in overrides.items():
        if env.get(variable):
            data[key] = env[variable]
    web = data.get("web", {})
    if isinstance(web, dict):
        for variable, key in (("BOT_WEB_HOST", "host"), ("BOT_WEB_PORT", "port")):
            if env.get(variable):
                web = {**web, key: env[variable]}
        data["web"] = web
    # Checked before BOT_TOKEN is applied: a token written in the file is refused, not
    # silently shadowed, so a secret never stays in a file that gets copied around.
    if "token" in data:
        raise ConfigError(f"{path}: unknown key 'token' (the token comes from BOT_TOKEN only)")
    if env.get("BOT_TOKEN"):
        data["token"] = env["BOT_TOKEN"]
    webhook = data.get("webhook")
    if isinstance(webhook, dict):
        if "secret_token" in webhook:
            raise ConfigError(
                f"{path}: unknown key 'webhook.secret_token' (it comes from BOT_WEBHOOK_SECRET)"
            )
        if env.get("BOT_WEBHOOK_SECRET"):
            data["webhook"] = {**webhook, "secret_token": env["BOT_WEBHOOK_SECRET"]}
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None
