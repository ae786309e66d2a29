"""Webhook mode: Telegram posts updates to the site's server; only the secret token is taken."""

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


def webhook_config(tmp_path: Path, enabled: bool = True) -> Path:
    text = EXAMPLE.replace('mode = "polling"', 'mode = "webhook"', 1)
    text = text.replace('url = ""', f'url = "{PUBLIC_URL}"', 1)
    if not enabled:
        text = text.replace("enabled = true", "enabled = false", 1)
    path = tmp_path / "webhook.toml"
    path.write_text(text, encoding="utf-8")
    return path


def webhook_bot(
    server: FakeApiServer, tmp_path: Path, port: int, enabled: bool = True
) -> BotProcess:
    """The bot in webhook mode, its one web server (site and webhook) on `port`."""
    return BotProcess(
        server,
        tmp_path,
        token=TOKEN,
        args=["--config", str(webhook_config(tmp_path, enabled))],
        env={"BOT_WEBHOOK_SECRET": SECRET, "BOT_WEB_PORT": str(port)},
    )


def get(port: int, path: str) -> tuple[int, str]:
    """GET a page of the site: status and body."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


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


@pytest.mark.process
def test_webhook_takes_updates_with_the_secret_and_refuses_others(
    server: FakeApiServer, tmp_path: Path
) -> None:
    port = free_port()
    process = webhook_bot(server, tmp_path, port)
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
        # One server: the public site answers on the same port, the hook refuses a GET.
        status, page = get(port, "/sectors/culture")
        assert status == 200
        assert "<html" in page
        assert get(port, "/telegram-hook")[0] == 405

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


SENTINEL_NAME = "Zofia-Sentinel-Nazwisko"
SENTINEL_TEXT = "tajny-tekst-Sentinel-91"


def raw_post(port: int, head: dict[str, str], body: bytes) -> int:
    """Send the headers and the start of the body, then read the answer's status code.

    The server must answer without waiting for the rest: a client that hears nothing
    until it has sent the whole declared body would show the server reads it whole.
    """
    lines = ["POST /telegram-hook HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{name}: {value}" for name, value in head.items()]
    with socket.create_connection((HOST, port), timeout=10) as conn:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        answer = conn.recv(1024).decode("latin-1")
    return int(answer.split()[1])


@pytest.mark.process
def test_webhook_refuses_an_oversized_body_before_reading_it_and_logs_no_content(
    server: FakeApiServer, tmp_path: Path
) -> None:
    port = free_port()
    process = webhook_bot(server, tmp_path, port)
    try:
        process.start()
        wait_listening(port)
        # 60 MB declared, the right secret, and only its first 64 KiB ever sent.
        start = json.dumps({"update_id": 7, "message": {"text": SENTINEL_TEXT * 2000}})
        head = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": SECRET,
            "Content-Length": str(60 * 1024 * 1024),
        }
        assert raw_post(port, head, start.encode()[: 64 * 1024]) == 413
        # Just over the limit, sent whole and chunked (no Content-Length to go by).
        big = json.dumps({"update_id": 8, "message": {"text": "x" * (1024 * 1024)}}).encode()
        assert raw_post(port, {**head, "Content-Length": str(len(big))}, big) == 413
        chunked = {**head, "Transfer-Encoding": "chunked"}
        del chunked["Content-Length"]
        assert raw_post(port, chunked, f"{len(big):x}\r\n".encode() + big + b"\r\n0\r\n\r\n") == 413
        # An update that cannot be read: 200 (Telegram would resend it forever), skipped,
        # logged by id and keys only.
        broken = {
            "update_id": 9,
            "message": {
                "message_id": 1,
                "from": {"id": 1003, "is_bot": False, "first_name": SENTINEL_NAME},
                "text": SENTINEL_TEXT,
            },
        }
        assert post(port, broken, SECRET) == 200
        good = {"update_id": 10, **text_update(1004, "/start", language_code="pl")}
        assert post(port, good, SECRET) == 200
        server.wait_for_call("sendMessage", lambda c: c.chat_id == 1004)

        assert process.stop(timeout=10) == 0
        output = process.all_output()
        assert "Skipped update 9 that could not be read (top-level keys: message, update_id)" in (
            output
        )
        assert SENTINEL_NAME not in output
        assert SENTINEL_TEXT not in output
        assert "Traceback" not in output
        assert server.sent_by_chat() == {1004: 1}
    finally:
        process.close()


@pytest.mark.process
def test_webhook_is_served_with_the_site_turned_off(server: FakeApiServer, tmp_path: Path) -> None:
    port = free_port()
    process = webhook_bot(server, tmp_path, port, enabled=False)
    try:
        process.start()
        server.wait_for_call("setWebhook", timeout=20)
        wait_listening(port)
        assert get(port, "/")[0] == 404  # no site, only the hook
        good = {"update_id": 1, **text_update(1005, "/start", language_code="pl")}
        assert post(port, good, "wrong") == 403
        assert post(port, good, SECRET) == 200
        server.wait_for_call("sendMessage", lambda c: c.chat_id == 1005)
        assert process.stop(timeout=10) == 0
        assert "Traceback" not in process.all_output()
    finally:
        process.close()
