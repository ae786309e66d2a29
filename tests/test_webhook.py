"""Webhook mode: Telegram posts updates; only requests with the secret token are taken."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import EXAMPLE_CONFIG, ConfigError, load_config
from bot.i18n import Texts
from tests.fake_api_server import HOST, BotProcess, FakeApiServer, text_update

TOKEN = "515151:WEBHOOK-sentinel-token-Lp2Wd7"
SECRET = "hook-secret_Zq81-xT"
PUBLIC_URL = "https://bot.example.test/telegram-hook"
EXAMPLE = EXAMPLE_CONFIG.read_text(encoding="utf-8")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def wait_listening(port: int, timeout: float = 20.0) -> None:
    """PTB sets the webhook first and starts its server right after: wait for the port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        else:
            return


def webhook_config(tmp_path: Path, port: int) -> Path:
    text = EXAMPLE.replace('mode = "polling"', 'mode = "webhook"', 1)
    text = text.replace('url = ""', f'url = "{PUBLIC_URL}"', 1)
    text = text.replace("port = 8443", f"port = {port}", 1)
    path = tmp_path / "webhook.toml"
    path.write_text(text, encoding="utf-8")
    return path


def post(port: int, update: dict[str, Any], secret: str | None) -> int:
    """POST an update like Telegram does; the HTTP status of the answer."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(
        f"http://{HOST}:{port}/telegram-hook",
        data=json.dumps(update).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer(token=TOKEN) as api:
        yield api
    assert api.errors == []


def test_webhook_takes_updates_with_the_secret_and_refuses_others(
    server: FakeApiServer, tmp_path: Path
) -> None:
    port = free_port()
    process = BotProcess(
        server,
        tmp_path,
        token=TOKEN,
        args=["--config", str(webhook_config(tmp_path, port))],
        env={"BOT_WEBHOOK_SECRET": SECRET},
    )
    try:
        process.start()
        hook = server.wait_for_call("setWebhook", timeout=20)
        assert hook.params["url"] == PUBLIC_URL
        assert hook.params["secret_token"] == SECRET
        wait_listening(port)

        good = {"update_id": 1, **text_update(1001, "/start", language_code="pl")}
        assert post(port, good, SECRET) == 200
        reply = server.wait_for_call("sendMessage", lambda c: c.chat_id == 1001)
        assert Texts().get("pl", "start.greeting") in reply.text

        forged = {"update_id": 2, **text_update(1002, "/start", language_code="en")}
        assert post(port, forged, "wrong-secret") == 403
        assert post(port, forged, None) == 403
        # Telegram retries a webhook call it thinks failed: the repeat is not handled twice.
        assert post(port, good, SECRET) == 200
        time.sleep(1.0)
        assert server.sent_by_chat() == {1001: 1}
        assert server.calls("getUpdates") == []  # no polling in webhook mode

        assert process.stop(timeout=10) == 0
        output = process.all_output()
        assert "Traceback" not in output
        assert SECRET not in output
        assert TOKEN.split(":", 1)[1] not in output
    finally:
        process.close()


def test_webhook_mode_needs_a_url_and_a_secret(tmp_path: Path) -> None:
    def _write(text: str) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(text, encoding="utf-8")
        return path

    text = EXAMPLE.replace('mode = "polling"', 'mode = "webhook"', 1)
    with pytest.raises(ConfigError, match=r"webhook\.url"):
        load_config(_write(text), {"BOT_WEBHOOK_SECRET": SECRET})
    text = text.replace('url = ""', f'url = "{PUBLIC_URL}"', 1)
    with pytest.raises(ConfigError, match="BOT_WEBHOOK_SECRET"):
        load_config(_write(text), {})
    with pytest.raises(ConfigError, match="BOT_WEBHOOK_SECRET must be"):
        load_config(_write(text), {"BOT_WEBHOOK_SECRET": "no spaces allowed"})
    config = load_config(_write(text), {"BOT_WEBHOOK_SECRET": SECRET})
    assert config.webhook.url_path == "telegram-hook"
    assert config.webhook.secret_token is not None
    assert SECRET not in repr(config)


def test_the_secret_is_never_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        EXAMPLE.replace("port = 8443", f'port = 8443\nsecret_token = "{SECRET}"', 1),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="BOT_WEBHOOK_SECRET") as caught:
        load_config(path, {})
    assert SECRET not in str(caught.value)


def test_polling_stays_the_default() -> None:
    assert load_config(EXAMPLE_CONFIG, {}).mode == "polling"
