"""Configuration: the example file, environment overrides, validation errors, the secret."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import get_args, get_origin

import pytest
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from bot.app import build_application
from bot.config import (
    EXAMPLE_CONFIG,
    Config,
    ConfigError,
    config_path,
    load_config,
)
from tests.fakes import FakeBotApi

TOKEN = "555111:CONFIG-sentinel-token-Hd8pW2"
EXAMPLE = EXAMPLE_CONFIG.read_text(encoding="utf-8")
SECTORS = {
    "culture": "Kultura",
    "education": "Edukacja",
    "environment": "Ochrona środowiska",
    "economy": "Rozwój gospodarczy",
    "recreation": "Rekreacja, sport i turystyka",
    "civil-society": "Społeczeństwo obywatelskie",
    "health": "Zdrowie i niepełnosprawni",
    "exclusion": "Wykluczenie",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def edited(old: str, new: str) -> str:
    assert old in EXAMPLE
    return EXAMPLE.replace(old, new, 1)


def test_example_has_the_coordinating_team_and_the_eight_sector_teams() -> None:
    config = load_config(EXAMPLE_CONFIG, {})
    coordination = [team for team in config.teams if team.kind == "coordination"]
    assert [team.slug for team in coordination] == ["coordination"]
    assert [team.slug for team in config.sector_teams] == list(SECTORS)
    assert {team.slug: team.name_pl for team in config.sector_teams} == SECTORS
    for team in config.teams:
        assert team.name_en
        assert team.name_en != team.name_pl
        assert team.description_pl
        assert team.description_en
        assert team.description_en != team.description_pl
    assert config.token is None
    assert config.timezone == "Europe/Warsaw"
    assert config.default_language == "pl"


def test_environment_overrides_every_setting_it_names(tmp_path: Path) -> None:
    path = write(tmp_path, edited("admins = []", "admins = [11, 12]"))
    env = {
        "BOT_TOKEN": TOKEN,
        "BOT_API_BASE_URL": "http://127.0.0.1:8081/bot",
        "BOT_API_FILE_URL": "http://127.0.0.1:8081/file/bot",
        "BOT_DATABASE": str(tmp_path / "other.sqlite3"),
        "BOT_ADMINS": "13, 14,",
    }
    config = load_config(path, env)
    assert config.token is not None
    assert config.token.get_secret_value() == TOKEN
    assert config.api_base_url == "http://127.0.0.1:8081/bot"
    assert config.api_file_url == "http://127.0.0.1:8081/file/bot"
    assert config.database == tmp_path / "other.sqlite3"
    assert config.admins == (11, 12, 13, 14)  # added to the file's admins, not replacing them

    plain = load_config(path, {})
    assert plain.api_base_url == "https://api.telegram.org/bot"
    assert plain.api_file_url == "https://api.telegram.org/file/bot"
    assert plain.database == Path("data/ngo-bot.sqlite3")
    assert plain.admins == (11, 12)
    assert plain.token is None


def test_empty_variables_change_nothing() -> None:
    env = dict.fromkeys(["BOT_TOKEN", "BOT_DATABASE", "BOT_ADMINS", "BOT_API_BASE_URL"], "")
    assert load_config(EXAMPLE_CONFIG, env) == load_config(EXAMPLE_CONFIG, {})


def test_config_path_prefers_bot_config_then_local_file_then_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert config_path({}) == EXAMPLE_CONFIG
    write(tmp_path, EXAMPLE)
    assert config_path({}) == Path("config.toml")
    assert config_path({"BOT_CONFIG": "/etc/ngo-bot.toml"}) == Path("/etc/ngo-bot.toml")


def test_bot_config_file_is_the_one_loaded(tmp_path: Path) -> None:
    path = write(tmp_path, edited('timezone = "Europe/Warsaw"', 'timezone = "Europe/Berlin"'))
    config = load_config(config_path({"BOT_CONFIG": str(path)}), {})
    assert config.timezone == "Europe/Berlin"
    assert str(config.zone) == "Europe/Berlin"


@pytest.mark.parametrize("admins", ["12,abc", "1;2", "@anna"])
def test_bad_bot_admins_is_a_clear_error(admins: str) -> None:
    with pytest.raises(ConfigError, match="BOT_ADMINS must be comma-separated Telegram user ids"):
        load_config(EXAMPLE_CONFIG, {"BOT_ADMINS": admins})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            edited('timezone = "Europe/Warsaw"', 'timezone = "Europe/Atlantis"'),
            "'timezone': Value error, unknown time zone 'Europe/Atlantis'",
        ),
        (
            edited('slug = "education"', 'slug = "culture"'),
            "'teams': Value error, duplicated team slug(s): culture",
        ),
        (
            edited('slug = "culture"\n', 'slug = "culture"\nkind = "coordination"\n'),
            "'teams': Value error, exactly one team must have kind = 'coordination'",
        ),
        (
            edited('slug = "culture"', 'slug = "Culture"'),
            "'teams.1.slug': String should match pattern",
        ),
        (edited("batch_size = 100", "batch_size = 0"), "'delivery.batch_size'"),
        (edited('default_language = "pl"', 'default_language = "de"'), "'default_language'"),
        ("admins = [", "not valid TOML"),
    ],
)
def test_invalid_file_is_a_clear_error_naming_file_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path, {"BOT_TOKEN": TOKEN})
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)
    assert TOKEN not in str(raised.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "nope.toml", {})


def test_token_is_secret_and_never_shown() -> None:
    config = load_config(EXAMPLE_CONFIG, {"BOT_TOKEN": TOKEN})
    assert isinstance(config.token, SecretStr)
    assert config.token.get_secret_value() == TOKEN
    shown = [repr(config), str(config), config.model_dump_json(), repr(config.model_dump())]
    for text in shown:
        assert TOKEN not in text
        assert TOKEN.split(":")[1] not in text


def _documented_keys(text: str) -> dict[str, list[str]]:
    """Each `key = value` line of the file -> the comment block that documents it.

    A key is documented by the comment lines right above it, or above the run of
    consecutive key lines it belongs to (one comment may cover a pair like the URLs).
    """
    found: dict[str, list[str]] = {}
    lines = text.splitlines()
    table = ""
    for number, line in enumerate(lines):
        header = re.fullmatch(r"\[\[?([a-z_]+)\]\]?", line.strip())
        if header:
            table = header.group(1) + "."
            continue
        key = re.match(r"([a-z_]+) = ", line)
        if key is None:
            continue
        above = number - 1
        while above >= 0 and re.match(r"[a-z_]+ = ", lines[above]):
            above -= 1
        comments: list[str] = []
        while above >= 0 and lines[above].startswith("#"):
            comments.insert(0, lines[above])
            above -= 1
        found.setdefault(table + key.group(1), comments)
    return found


def _settings(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """(dotted name, field) of every setting, nested tables included; not the token."""
    for name, field in model.model_fields.items():
        if field.exclude:  # the token: environment only
            continue
        table = _model_of(field)
        if table is not None and get_origin(field.annotation) is None:
            yield from _settings(table, f"{prefix}{name}.")
        else:
            yield prefix + name, field


def _model_of(field: FieldInfo) -> type[BaseModel] | None:
    """The model a field holds: itself ([table]) or as the items of a tuple ([[array]])."""
    for candidate in (field.annotation, *get_args(field.annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def test_every_setting_is_in_the_example_with_a_comment_above_it() -> None:
    documented = _documented_keys(EXAMPLE)
    for name, field in _settings(Config):
        array = _model_of(field)
        if array is None:
            assert name in documented, f"{name} is missing from config.example.toml"
            assert documented[name], f"{name} has no comment above it in config.example.toml"
            continue
        # An array of tables ([[teams]]): its keys repeat in every block, so the comment
        # above the first block names them.
        first = EXAMPLE.index(f"[[{name}]]")
        doc = EXAMPLE[:first].rstrip("\n").rsplit("\n\n", 1)[-1]
        for key in array.model_fields:
            assert f"{name}.{key}" in documented, f"{name}.{key} is missing from the example"
            assert key in doc, f"{name}.{key} is not described above the first [[{name}]]"
    assert "token" not in documented  # secrets never live in the file


def _assert_defaults(model: type[BaseModel], loaded: BaseModel, prefix: str = "") -> None:
    for name, field in model.model_fields.items():
        value = getattr(loaded, name)
        if field.exclude:
            continue
        if not field.is_required():
            assert value == field.get_default(call_default_factory=True), prefix + name
        elif isinstance(value, BaseModel):
            _assert_defaults(type(value), value, f"{prefix}{name}.")


def test_example_values_are_the_defaults() -> None:
    """The example documents the defaults: a key left out behaves as shown."""
    _assert_defaults(Config, load_config(EXAMPLE_CONFIG, {}))


def test_build_application_points_ptb_at_the_configured_api(tmp_path: Path) -> None:
    env = {
        "BOT_TOKEN": TOKEN,
        "BOT_DATABASE": str(tmp_path / "bot.sqlite3"),
        "BOT_API_BASE_URL": "http://127.0.0.1:8081/bot",
        "BOT_API_FILE_URL": "http://127.0.0.1:8081/file/bot",
    }
    app = build_application(load_config(EXAMPLE_CONFIG, env), request=FakeBotApi())
    assert app.bot.token == TOKEN
    assert app.bot.base_url == f"http://127.0.0.1:8081/bot{TOKEN}"
    assert app.bot.base_file_url == f"http://127.0.0.1:8081/file/bot{TOKEN}"


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('csv_delimiter = ";"', 'csv_delimiter = "\\n"', "postulates.csv_delimiter"),
        ('csv_delimiter = ";"', 'csv_delimiter = "a"', "postulates.csv_delimiter"),
        ('csv_delimiter = ";"', "csv_delimiter = '\"'", "postulates.csv_delimiter"),
        ('csv_delimiter = ";"', 'csv_delimiter = " "', "postulates.csv_delimiter"),
        ("admins = []", "admins = [9223372036854775808]", "admins.0"),
        ("admins = []", "admins = [0]", "admins.0"),
        ("admins = []", "admins = [-42]", "admins.0"),
        ('database = "data/ngo-bot.sqlite3"', 'database = ""', "database"),
        ('api_base_url = "https://api.telegram.org/bot"', 'api_base_url = "api"', "api_base_url"),
        ('api_file_url = "https://api', 'api_file_url = "ftp://api', "api_file_url"),
        ("interval_seconds = 5.0", "interval_seconds = 0.001", "delivery.interval_seconds"),
        ("interval_seconds = 5.0", "interval_seconds = inf", "delivery.interval_seconds"),
        ("retry_max_seconds = 900.0", "retry_max_seconds = 10.0", "delivery"),
        ("notice_version = 1", "notice_version = 9223372036854775807", "privacy.notice_version"),
        ('contact = "ngo@example.org"', 'contact = "ngo@\\nexample.org"', "privacy.contact"),
        ('name_pl = "Kultura"', 'name_pl = "Kultura\\nSztuka"', "teams.1.name_pl"),
        ('name_en = "Culture"', 'name_en = "   "', "teams.1.name_en"),
        ('listen = "127.0.0.1"', 'listen = "local host"', "webhook.listen"),
        ("digest_hour = 8", "digest_hour = 24", "notifications.digest_hour"),
        ("seconds = 10.0", "seconds = -1.0", "flood.seconds"),
    ],
)
def test_value_a_feature_cannot_use_is_refused_naming_the_key(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    path = write(tmp_path, edited(old, new))
    with pytest.raises(ConfigError) as raised:
        load_config(path, {})
    message = str(raised.value)
    assert f"'{key}'" in message
    assert "\n" not in message  # the CLI prints it as one line


def test_admin_id_from_the_environment_is_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"'admins\.0'"):
        load_config(EXAMPLE_CONFIG, {"BOT_ADMINS": "-1001234567890"})


@pytest.mark.parametrize("delimiter", [",", ";", "|", "\\t"])
def test_usable_csv_delimiters_are_accepted(tmp_path: Path, delimiter: str) -> None:
    path = write(tmp_path, edited('csv_delimiter = ";"', f'csv_delimiter = "{delimiter}"'))
    assert load_config(path, {}).postulates.csv_delimiter == delimiter.replace("\\t", "\t")


@pytest.mark.parametrize("listen", ["0.0.0.0", "::1", "localhost", "bot.internal"])
def test_webhook_listen_takes_addresses_and_host_names(tmp_path: Path, listen: str) -> None:
    path = write(tmp_path, edited('listen = "127.0.0.1"', f'listen = "{listen}"'))
    assert load_config(path, {}).webhook.listen == listen
