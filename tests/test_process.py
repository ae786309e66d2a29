"""The bot as a real process against the local fake Bot API: start, reply, stop, no token leak."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import Forbidden, RetryAfter, TimedOut

from bot.app import build_application
from bot.cli import ProductionRequest, setup_logging
from bot.i18n import Texts
from bot.redact import REDACTED, secrets_of
from tests.conftest import make_config
from tests.fake_api_server import (
    BOT_USERNAME,
    BotProcess,
    FakeApiServer,
    callback_update,
    text_update,
)
from tests.fakes import FakeBotApi

# A sentinel with a recognisable secret half, so any leak of either half is caught.
TOKEN = "424242:SENTINEL-process-token-xq7Zr9"
SECRET_HALF = TOKEN.split(":", 1)[1]


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer(token=TOKEN) as api:
        yield api
    assert api.errors == []


@pytest.fixture
def bot_process(server: FakeApiServer, tmp_path: Path) -> Iterator[BotProcess]:
    process = BotProcess(server, tmp_path, token=TOKEN)
    try:
        yield process
    finally:
        process.close()


def assert_no_token(text: str) -> None:
    for secret in (TOKEN, SECRET_HALF, urllib.parse.quote(TOKEN, safe="")):
        assert secret not in text


@pytest.mark.process
def test_start_is_answered_and_sigterm_exits_cleanly(
    server: FakeApiServer, bot_process: BotProcess
) -> None:
    texts = Texts()
    bot_process.start().wait_polling()
    server.enqueue_update(text_update(1001, "/start", language_code="pl"))

    reply = server.wait_for_call("sendMessage", lambda c: c.chat_id == 1001)

    assert texts.get("pl", "start.greeting") in reply.text
    assert reply.buttons() == [(texts.get("pl", "button.consent"), "consent:yes")]
    assert reply.accepted
    # Every call carried the configured token in its URL: base_url reached PTB.
    assert {call.token for call in server.calls()} == {TOKEN}

    asked_to_stop = time.monotonic()
    status = bot_process.stop(timeout=10)
    assert status == 0
    assert time.monotonic() - asked_to_stop < 5
    # The update was confirmed on the way out: a restart will not handle /start twice.
    assert server.pending_updates() == []
    stdout, stderr = bot_process.output()
    assert "ready" in stderr  # logging works, so the leak checks below mean something
    assert "Traceback" not in stdout + stderr
    assert_no_token(stdout + stderr)


@pytest.mark.process
def test_token_never_printed_over_a_run_with_errors(
    server: FakeApiServer, bot_process: BotProcess
) -> None:
    # Errors whose descriptions echo the request path (as some proxies and self-hosted
    # servers do) carry the token: they must reach the log redacted.
    echoed = f"Bad Gateway for /bot{TOKEN}/getUpdates"
    server.fault("getUpdates", status=500, description=echoed)
    bot_process.start().wait_polling()
    server.wait_for_call("getUpdates", lambda c: c.status == 500)

    server.fault(
        "sendMessage",
        status=500,
        description=f"upstream failed: POST /bot{TOKEN}/sendMessage",
        match=lambda params: int(params["chat_id"]) == 2001,
    )
    server.fault(
        "sendMessage",
        status=400,
        description="Bad Request: can't parse entities",
        match=lambda params: int(params["chat_id"]) == 2002,
    )
    server.enqueue_update(text_update(2001, "/start"))
    server.enqueue_update(text_update(2002, "/start", language_code="en"))
    # Unknown and odd updates: a future update kind, a forged button, a group /start,
    # a channel post without a user, an unknown command.
    server.enqueue_update({"brand_new_kind": {"whatever": [1, 2, 3]}})
    server.enqueue_update(callback_update(2003, "consent:yes:../../etc"))
    server.enqueue_update(callback_update(2003, "no-such-feature"))
    server.enqueue_update(text_update(2004, "/start", chat_id=-100500))
    server.enqueue_update(
        {
            "channel_post": {
                "message_id": 7,
                "date": int(time.time()),
                "chat": {"id": -100600, "type": "channel", "title": "News"},
                "text": "hello",
            }
        }
    )
    server.enqueue_update(text_update(2005, "/no_such_command"))
    server.enqueue_update(text_update(2006, "/start"))

    # The bot survives all of it and still serves the next user.
    server.wait_for_call("sendMessage", lambda c: c.chat_id == 2006)
    # Each failed reply was followed by the error handler's apology (and nothing else).
    # Its language is not asserted: the error handler's context has no actor (reported).
    texts = Texts()
    apology = {texts.get(language, "error.generic") for language in ("pl", "en")}
    server.wait_for(lambda: 2001 in server.sent_by_chat() and 2002 in server.sent_by_chat())
    sent = server.texts_by_chat()
    assert len(sent[2001]) == 1
    assert sent[2001][0] in apology
    assert len(sent[2002]) == 1
    assert sent[2002][0] in apology
    # Forged buttons were answered (not left spinning) and changed nothing.
    server.wait_for(lambda: len(server.accepted("answerCallbackQuery")) == 2)
    assert 2003 not in sent

    assert bot_process.stop(timeout=10) == 0
    stdout, stderr = bot_process.output()
    output = stdout + stderr
    assert_no_token(output)
    # The failures were logged (with tracebacks), and their token-bearing parts redacted.
    assert "Traceback" in output
    assert "upstream failed: POST /bot" + REDACTED in output
    assert "Bad Gateway for /bot" + REDACTED in output


def test_redaction_covers_ptb_debug_logging_and_reprs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(tmp_path, BOT_TOKEN=TOKEN)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    setup_logging(secrets_of(config), level=logging.DEBUG)
    try:
        # At DEBUG, PTB logs its API URL (which holds the token) while building the bot.
        app = build_application(config, request=FakeBotApi())
        logging.getLogger("test").warning("the bot is %r", app.bot)
        try:
            raise RuntimeError(f"failed at {app.bot.base_url}/getMe")
        except RuntimeError:
            logging.getLogger("test").exception("request failed")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.captureWarnings(False)
    err = capsys.readouterr().err
    assert "Set Bot API URL" in err
    assert "the bot is GuardedBot[token=" + REDACTED in err
    assert f"failed at {config.api_base_url}{REDACTED}/getMe" in err
    assert_no_token(err)


@pytest.mark.process
def test_same_server_serves_a_restarted_bot(server: FakeApiServer, bot_process: BotProcess) -> None:
    """What the kill -9 tests rely on: unconfirmed updates are handed to the next process."""
    bot_process.start().wait_polling()
    assert bot_process.kill() == -signal.SIGKILL
    server.enqueue_update(text_update(3001, "/start"))
    assert len(server.pending_updates()) == 1

    bot_process.start().wait_polling()
    server.wait_for_call("sendMessage", lambda c: c.chat_id == 3001)
    assert bot_process.stop() == 0
    assert server.sent_by_chat()[3001] == 1
    assert server.pending_updates() == []
    assert_no_token(bot_process.all_output())


# -- the fake itself, driven by PTB's own HTTP client in-process (fast) ---------------------


async def test_fake_reads_form_and_multipart_bodies_as_ptb_sends_them(
    server: FakeApiServer,
) -> None:
    async with Bot(TOKEN, base_url=server.base_url) as bot:
        assert bot.username == BOT_USERNAME
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Tak", callback_data="x:1")]])
        message = await bot.send_message(1001, "<b>cześć</b> & [1]", reply_markup=markup)
        await bot.send_document(1001, document=b"a,b\n1,2\n", filename="list.csv", caption="{x}")
        edited = await bot.edit_message_text("nowy", chat_id=1001, message_id=message.id)

    sent = server.calls("sendMessage")[0]
    assert sent.text == "<b>cześć</b> & [1]"  # text fields are never JSON-decoded
    assert sent.buttons() == [("Tak", "x:1")]
    assert message.text == sent.text
    document = server.calls("sendDocument")[0]
    assert document.files == {"list.csv": b"a,b\n1,2\n"}
    assert document.text == "{x}"
    assert document.chat_id == 1001
    assert edited.message_id == message.id  # type: ignore[union-attr]
    assert server.sent_by_chat() == {1001: 1}
    assert server.texts_by_chat() == {1001: ["<b>cześć</b> & [1]"]}


def test_fake_reads_json_bodies_and_refuses_other_tokens(server: FakeApiServer) -> None:
    def post(token: str, method: str, body: dict[str, object]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            f"{server.base_url}{token}/{method}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    status, answer = post(TOKEN, "sendMessage", {"chat_id": 7, "text": "hi"})
    assert status == 200
    assert answer["result"]["chat"]["id"] == 7
    assert server.calls("sendMessage")[0].params == {"chat_id": 7, "text": "hi"}
    status, answer = post("1:wrong", "sendMessage", {"chat_id": 7, "text": "hi"})
    assert (status, answer["error_code"]) == (401, 401)
    assert server.sent_by_chat() == {7: 1}  # the refused call delivered nothing


async def test_fake_faults_are_answered_like_telegram(server: FakeApiServer) -> None:
    server.fault("sendMessage", status=429, retry_after=3)
    server.fault("sendMessage", status=403, match=lambda params: int(params["chat_id"]) == 2)
    async with Bot(TOKEN, base_url=server.base_url) as bot:
        with pytest.raises(RetryAfter) as limited:
            await bot.send_message(1, "a")
        assert "Retry in 3 seconds" in str(limited.value)
        await bot.send_message(1, "b")  # the fault was for one call only
        with pytest.raises(Forbidden):
            await bot.send_message(2, "c")
    assert server.sent_by_chat() == {1: 1}
    assert [call.status for call in server.calls("sendMessage")] == [429, 200, 403]


async def test_fake_delayed_answer_still_counts_as_delivered(server: FakeApiServer) -> None:
    """A send answered too late is a timeout for the bot but a delivery for the user."""
    server.fault("sendMessage", delay=1.0)
    async with Bot(TOKEN, base_url=server.base_url) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(5, "late", read_timeout=0.2)
    assert server.sent_by_chat() == {5: 1}


def test_fake_long_poll_confirms_by_offset_and_stops_quickly() -> None:
    with FakeApiServer() as server:

        def poll(params: dict[str, Any]) -> list[int]:
            query = urllib.parse.urlencode(params)
            url = f"{server.base_url}any/getUpdates?{query}"
            with urllib.request.urlopen(url, timeout=10) as response:
                return [u["update_id"] for u in json.loads(response.read())["result"]]

        first = server.enqueue_update(text_update(1, "a"))
        second = server.enqueue_update(text_update(1, "b"))
        assert poll({"offset": 0}) == [first, second]
        assert poll({"offset": second}) == [second]  # confirms the first only
        assert poll({"offset": second + 1, "timeout": 0}) == []
        assert server.pending_updates() == []

        # A long poll returns as soon as an update arrives.
        threading.Timer(0.2, server.enqueue_update, [text_update(1, "c")]).start()
        began = time.monotonic()
        assert poll({"offset": second + 1, "timeout": 5}) == [second + 1]
        assert time.monotonic() - began < 2

        # Stopping does not wait for a pending long poll, which gets a clean empty answer.
        answers: list[list[int]] = []
        waiting = threading.Thread(
            target=lambda: answers.append(poll({"offset": 99, "timeout": 30}))
        )
        waiting.start()
        server.wait_for_call("getUpdates", lambda c: c.params.get("offset") == "99", answered=False)
        began = time.monotonic()
    assert time.monotonic() - began < 2
    waiting.join(5)
    assert answers == [[]]


@pytest.mark.process
def test_unreadable_update_is_skipped_and_later_ones_are_handled(
    server: FakeApiServer, bot_process: BotProcess
) -> None:
    """PTB alone would ask for the same unreadable batch forever, starving everyone after it."""
    bot_process.start().wait_polling()
    broken = server.enqueue_update({"message": {"message_id": 1}})  # no date, chat, ...
    server.enqueue_update(text_update(4001, "/start"))

    server.wait_for_call("sendMessage", lambda c: c.chat_id == 4001)

    polls = len(server.calls("getUpdates"))
    assert bot_process.stop(timeout=10) == 0
    assert polls <= 5  # not a hot loop
    assert server.pending_updates() == []
    stderr = bot_process.output()[1]
    assert f"Skipped update {broken} that could not be read" in stderr
    assert_no_token(stderr)


async def test_guard_passes_readable_batches_and_repairs_a_repeated_unreadable_one() -> None:
    good = {"update_id": 10, **text_update(1, "hi")}
    bad = {"update_id": 11, "message": {"message_id": 1}}
    payload = json.dumps({"ok": True, "result": [good, bad]}).encode()
    guard = ProductionRequest()
    try:
        assert guard._guard(payload) == payload  # first sight: PTB gets it as sent
        repaired = json.loads(guard._guard(payload))["result"]  # the same batch again
        assert repaired == [good, {"update_id": 11}]
        later = json.dumps({"ok": True, "result": [{**good, "update_id": 12}]}).encode()
        assert guard._guard(later) == later
    finally:
        await guard.shutdown()
