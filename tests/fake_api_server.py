"""A local fake of the Telegram Bot API over real HTTP, for process-level tests and benchmarks.

The bot under test runs as a real process with `BOT_API_BASE_URL=server.base_url`; the server
answers `/bot<token>/<method>` like Telegram, serves `getUpdates` by long polling from a queue,
and records every call (method, params, files, time, answer) so a test can assert on what was
*accepted*: a message counts as delivered when the server decided to accept it, even if the
client never read the answer (killed mid-request, delayed response) - as with real Telegram.

    with FakeApiServer(token=TOKEN) as server:
        env["BOT_API_BASE_URL"] = server.base_url        # http://127.0.0.1:<port>/bot
        ... start the bot process ...
        server.enqueue_update(text_update(1001, "/start"))
        reply = server.wait_for_call("sendMessage", lambda c: c.chat_id == 1001, timeout=10)
        server.fault("sendMessage", status=429, retry_after=3)       # the next one only
        server.fault("sendMessage", delay=30, times=None)            # accepted, answered late
        server.sent_by_chat()                                        # Counter of accepted sends

`BotProcess` (below) runs `python -m bot` against it: `start()`, `wait_polling()`, `stop()`
(SIGTERM, returns the exit status), `kill()` (SIGKILL), `output()`; `text_update` and
`callback_update` build what a Telegram client would send.

It binds 127.0.0.1 on an ephemeral port and nothing else. The server survives any number of
bot processes (start, kill -9, restart against the same instance): the update queue keeps
Telegram's confirmation semantics (an update is forgotten once a `getUpdates` asks for a
higher offset), so a restarted bot gets again exactly what was not confirmed.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

HOST = "127.0.0.1"  # never any other address
BOT_ID = 5000
BOT_USERNAME = "ngo_test_bot"
BOT_USER = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "NGO bot",
    "username": BOT_USERNAME,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
# Fields that carry user text: never JSON-decoded even when they look like JSON.
_TEXT_FIELDS = frozenset({"text", "caption", "question", "description", "title"})
# How often waiting loops look at the stop flag: shutdown never waits longer than this.
_STEP = 0.05

T = TypeVar("T")
Match = Callable[[dict[str, Any]], bool]


@dataclass
class ApiCall:
    """One request the server received and how it answered it."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    token: str
    at: float  # time.monotonic() on arrival
    status: int = 0  # 0 while a long poll or a delayed answer is still pending
    result: Any = None

    @property
    def accepted(self) -> bool:
        """Whether the server performed the call (a sent message counts as delivered)."""
        return self.status == 200

    @property
    def text(self) -> str:
        return str(self.params.get("text", self.params.get("caption", "")))

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        try:
            return None if value is None else int(value)
        except (TypeError, ValueError):
            return None

    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data or url) of every inline button, row by row."""
        markup = self.params.get("reply_markup")
        if not isinstance(markup, dict):
            return []
        return [
            (button["text"], button.get("callback_data") or button.get("url", ""))
            for row in markup.get("inline_keyboard", [])
            for button in row
        ]


@dataclass
class Fault:
    """How to answer matching calls instead of the normal way.

    `status` 200 means the call is performed (and counted as accepted) but answered after
    `delay` seconds, or never if `disconnect`: the ambiguous cases a client sees as a timeout
    or a network error. Any other status refuses the call with Telegram's error body
    (`retry_after` goes into `parameters`, as Telegram does for 429).
    """

    status: int = 200
    description: str = ""
    retry_after: int | None = None
    delay: float = 0.0
    disconnect: bool = False
    times: int | None = 1  # None: every matching call until cleared
    match: Match | None = None  # e.g. lambda params: int(params["chat_id"]) == 1001

    def body(self) -> dict[str, Any]:
        description = self.description or _DESCRIPTIONS.get(self.status, "Error")
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


_DESCRIPTIONS = {
    400: "Bad Request: message text is empty",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    429: "Too Many Requests: retry after 1",
    500: "Internal Server Error",
}


class FakeApiServer:
    """The fake Bot API; use as a context manager or call `start()` / `stop()`."""

    def __init__(self, token: str | None = None) -> None:
        """`token`: if given, other tokens are refused with 401 like Telegram does."""
        self.token = token
        self._cond = threading.Condition(threading.RLock())
        self._calls: list[ApiCall] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._faults: dict[str, list[Fault]] = {}
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._active = 0  # requests being answered
        self.errors: list[str] = []  # exceptions inside the server itself (tests assert empty)
        self._httpd = _HttpServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": _STEP},
            name="fake-bot-api",
            daemon=True,
        )

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """What to put in BOT_API_BASE_URL (PTB appends the token)."""
        return f"http://{HOST}:{self.port}/bot"

    @property
    def file_url(self) -> str:
        """What to put in BOT_API_FILE_URL."""
        return f"http://{HOST}:{self.port}/file/bot"

    def start(self) -> FakeApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: pending long polls and delays end within a fraction of a second."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive():
            self._httpd.shutdown()
        with self._cond:
            # Requests under way (long polls, delays) answer at once now; let them finish
            # cleanly, then cut the idle keep-alive connections.
            deadline = time.monotonic() + 2
            while self._active and time.monotonic() < deadline:
                self._cond.wait(_STEP)
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeApiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what the test feeds in ----------------------------------------------------------

    def enqueue_update(self, update: dict[str, Any]) -> int:
        """Queue one update for getUpdates; an `update_id` is assigned if missing."""
        with self._cond:
            if "update_id" not in update:
                update = {"update_id": next(self._update_ids), **update}
            self._updates.append(update)
            self._cond.notify_all()
            return int(update["update_id"])

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        with self._cond:
            return list(self._updates)

    def fault(self, method: str, **fault: Any) -> Fault:
        """Answer the next matching call(s) of `method` differently; see `Fault`."""
        added = Fault(**fault)
        with self._cond:
            self._faults.setdefault(method, []).append(added)
        return added

    def clear_faults(self, method: str | None = None) -> None:
        with self._cond:
            if method is None:
                self._faults.clear()
            else:
                self._faults.pop(method, None)

    # -- what the test reads out ---------------------------------------------------------

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """A snapshot of the recorded calls, optionally of one method, in arrival order."""
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def accepted(self, method: str = "sendMessage") -> list[ApiCall]:
        """Calls of `method` the server performed."""
        return [c for c in self.calls(method) if c.accepted]

    def sent_by_chat(self, method: str = "sendMessage") -> Counter[int]:
        """How many `method` calls were accepted per chat id (the at-most-once ledger)."""
        return Counter(c.chat_id for c in self.accepted(method) if c.chat_id is not None)

    def texts_by_chat(self, method: str = "sendMessage") -> dict[int, list[str]]:
        """The accepted texts per chat, in order."""
        texts: dict[int, list[str]] = {}
        for call in self.accepted(method):
            if call.chat_id is not None:
                texts.setdefault(call.chat_id, []).append(call.text)
        return texts

    def clear_calls(self) -> None:
        with self._cond:
            self._calls.clear()

    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 10.0) -> T:
        """Wait until `predicate()` returns something truthy and return it.

        It is re-evaluated whenever a call arrives or is answered (and every few ms).
        Raises TimeoutError naming the last calls, to make a failing test readable.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    recent = ", ".join(f"{c.method}:{c.status}" for c in self._calls[-15:])
                    raise TimeoutError(f"condition not met in {timeout} s; last calls: {recent}")
                self._cond.wait(min(_STEP, remaining))

    def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 10.0,
        *,
        answered: bool = True,
    ) -> ApiCall:
        """Wait for a call of `method` (matching `predicate`), answered unless told otherwise."""

        def found() -> ApiCall | None:
            for call in self.calls(method):
                if answered and call.status == 0:
                    continue
                if predicate is None or predicate(call):
                    return call
            return None

        return self.wait_for(found, timeout)

    # -- serving (runs in the server's threads) ------------------------------------------

    def _track(self, connection: socket.socket, add: bool) -> None:
        with self._cond:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _begin(self, change: int) -> None:
        with self._cond:
            self._active += change
            self._cond.notify_all()

    def _record(self, call: ApiCall) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def _settle(self, call: ApiCall, status: int, result: Any) -> None:
        with self._cond:
            call.status = status
            call.result = result
            self._cond.notify_all()

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        with self._cond:
            queued = self._faults.get(method, [])
            for fault in queued:
                if fault.match is not None and not fault.match(params):
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        queued.remove(fault)
                return fault
            return None

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def handle(self, token: str, method: str, call: ApiCall) -> tuple[int, dict[str, Any] | None]:
        """Answer one call: (HTTP status, JSON body or None to drop the connection)."""
        self._record(call)
        if self.token is not None and token != self.token:
            fault: Fault | None = Fault(status=401)
        else:
            fault = self._take_fault(method, call.params)
        if fault is not None and fault.status != 200:
            body = fault.body()
            self._settle(call, fault.status, body)
            self._sleep(fault.delay)
            return fault.status, None if fault.disconnect else body
        if method == "getUpdates":
            result: Any = self._get_updates(call.params)
        else:
            result = self._result(method, call)
        # Settled before the delay: the call is performed even if nobody reads the answer.
        self._settle(call, 200, result)
        if fault is not None:
            self._sleep(fault.delay)
            if fault.disconnect:
                return 200, None
        return 200, {"ok": True, "result": result}

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        with self._cond:
            # Telegram: a positive offset confirms every update below it, a negative one
            # keeps only the last -offset updates; confirmed updates are gone for good.
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            while True:
                if self._updates or self._stopping.is_set():
                    return self._updates[:limit]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(min(_STEP, remaining))

    def _message(self, call: ApiCall, **content: Any) -> dict[str, Any]:
        chat_id = call.chat_id or 0
        chat: dict[str, Any] = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id <= 0:
            chat["title"] = "Group"
        message_id = call.params.get("message_id")
        message: dict[str, Any] = {
            "message_id": int(message_id) if message_id else next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            **content,
        }
        markup = call.params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return message

    def _result(self, method: str, call: ApiCall) -> Any:
        params = call.params
        if method == "getMe":
            return BOT_USER
        if method == "deleteWebhook":
            if str(params.get("drop_pending_updates", "")).lower() == "true":
                with self._cond:
                    self._updates.clear()
            return True
        if method == "getWebhookInfo":
            with self._cond:
                pending = len(self._updates)
            return {"url": "", "has_custom_certificate": False, "pending_update_count": pending}
        if method == "getMyCommands":
            return []
        if method in ("editMessageText", "editMessageReplyMarkup", "editMessageCaption"):
            if params.get("inline_message_id"):
                return True
            return self._message(call, text=str(params.get("text", "")), edit_date=int(time.time()))
        if method == "sendMessage":
            return self._message(call, text=str(params.get("text", "")))
        if method == "sendDocument":
            name = next(iter(call.files), "file") if call.files else "file"
            document = {"file_id": f"doc-{name}", "file_unique_id": f"doc-{name}"}
            return self._message(call, document={**document, "file_name": name})
        if method == "sendPhoto":
            photo = [{"file_id": "photo", "file_unique_id": "photo", "width": 1, "height": 1}]
            return self._message(call, photo=photo)
        if method == "copyMessage":
            return {"message_id": next(self._message_ids)}
        return True


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, api: FakeApiServer) -> None:
        self.api = api
        super().__init__((HOST, 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (killed bot, timeout) is normal; anything else is noted."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError | ValueError):  # reset, broken pipe, closed file
            return
        self.api.errors.append(repr(error))


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive like Telegram: httpx reuses connections, which matters to benchmarks.
    protocol_version = "HTTP/1.1"
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        self.server.api._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.api._track(self.connection, add=False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the server's own access log would only clutter test output."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        api = self.server.api
        api._begin(+1)
        try:
            self._answer_request(api)
        finally:
            api._begin(-1)

    def _answer_request(self, api: FakeApiServer) -> None:
        url = urllib.parse.urlsplit(self.path)
        body = self._body()
        parts = url.path.split("/")
        # "/bot<token>/<method>"; Telegram answers 404 to anything else.
        if len(parts) != 3 or not parts[1].startswith("bot") or not parts[2]:
            self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        token, method = parts[1][3:], parts[2]
        try:
            params, files = _parse(self.headers.get("Content-Type", ""), body)
            for key, value in urllib.parse.parse_qsl(url.query, keep_blank_values=True):
                params.setdefault(key, _decode(key, value))
            call = ApiCall(method, params, files, token, at=time.monotonic())
            status, answer = api.handle(token, method, call)
        except Exception as exc:
            api.errors.append(f"{method}: {exc!r}")
            self._answer(500, {"ok": False, "error_code": 500, "description": repr(exc)})
            return
        if answer is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._answer(status, answer)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True


def _decode(key: str, value: str) -> Any:
    """PTB sends nested objects as JSON text inside form fields."""
    if key not in _TEXT_FIELDS and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _parse(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Parameters and uploaded files of a JSON, urlencoded or multipart body."""
    kind = content_type.split(";")[0].strip().lower()
    if not body:
        return {}, {}
    if kind == "application/json":
        data = json.loads(body)
        return (dict(data) if isinstance(data, dict) else {}), {}
    if kind == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        message = BytesParser(policy=email_policy).parsebytes(head + body)
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        if not isinstance(message, EmailMessage):
            return params, files
        for part in message.iter_parts():
            name = str(part.get_param("name", header="content-disposition") or "")
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            if part.get_filename() is not None:
                files[part.get_filename() or name] = data
                params[name] = f"attach://{part.get_filename()}"
            else:
                params[name] = _decode(name, data.decode("utf-8"))
        return params, files
    pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    return {key: _decode(key, value) for key, value in pairs}, {}


# -- updates as a Telegram client would produce them ---------------------------------------

_ids = itertools.count(1)


def user(
    user_id: int, language_code: str | None = "pl", first_name: str = "Anna"
) -> dict[str, Any]:
    """A Telegram `User` object of a person."""
    data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code is not None:
        data["language_code"] = language_code
    return data


def text_update(
    user_id: int,
    text: str,
    *,
    chat_id: int | None = None,
    language_code: str | None = "pl",
    first_name: str = "Anna",
) -> dict[str, Any]:
    """An update with a text message (a bot command if it starts with /), private by default."""
    if chat_id is None or chat_id == user_id:
        chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
    else:
        chat = {"id": chat_id, "type": "supergroup", "title": "Group"}
    message: dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": chat,
        "from": user(user_id, language_code, first_name),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"message": message}


def callback_update(
    user_id: int,
    data: str,
    *,
    message_id: int = 1,
    language_code: str | None = "pl",
    first_name: str = "Anna",
) -> dict[str, Any]:
    """An update with a press of an inline button under a bot message in the private chat."""
    message = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": first_name},
        "from": BOT_USER,
        "text": "…",
    }
    return {
        "callback_query": {
            "id": str(next(_ids)),
            "from": user(user_id, language_code, first_name),
            "chat_instance": str(user_id),
            "message": message,
            "data": data,
        }
    }


# -- the bot as a real process -------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class BotProcess:
    """`python -m bot` as a child process pointed at a FakeApiServer.

    Output goes to files (no pipe can fill up and stall the bot); `output()` reads them.
    The working directory is `workdir`, so a developer's ./config.toml is never picked up:
    without BOT_CONFIG the example configuration is used.
    """

    def __init__(
        self,
        server: FakeApiServer,
        workdir: Path,
        *,
        token: str,
        database: Path | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.server = server
        self.workdir = workdir
        base = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
        base.update(
            BOT_TOKEN=token,
            BOT_API_BASE_URL=server.base_url,
            BOT_API_FILE_URL=server.file_url,
            BOT_DATABASE=str(database or workdir / "bot.sqlite3"),
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            # A free port for the site: the default 8080 may be taken by another bot on the
            # machine, and the bot then exits before it polls.
            BOT_WEB_PORT=str(_free_port()),
        )
        base.update(env or {})
        self.env = base
        self.args = list(args)
        self.runs = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def start(self) -> BotProcess:
        """Start (or restart) the process; output of each run goes to its own files."""
        self.runs += 1
        self.started = time.monotonic()
        with (
            open(self._path("stdout"), "wb") as stdout,
            open(self._path("stderr"), "wb") as stderr,
        ):
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", *self.args],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
        return self

    def _path(self, stream: str, run: int | None = None) -> Path:
        return self.workdir / f"bot-{run or self.runs}.{stream}"

    def wait_polling(self, timeout: float = 20.0) -> ApiCall:
        """Wait until this run asks for updates (it is initialised and handling).

        Fails early, with the process's output, if it exits instead.
        """

        def polling_or_exited() -> ApiCall | bool | None:
            for call in self.server.calls("getUpdates"):
                if call.at >= self.started:
                    return call
            return self.process is not None and self.process.poll() is not None

        try:
            found = self.server.wait_for(polling_or_exited, timeout)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n{self.output()[1][-3000:]}") from None
        if not isinstance(found, ApiCall):
            status = self.process.poll() if self.process else None
            raise RuntimeError(f"the bot exited with {status}:\n{self.output()[1][-3000:]}")
        return found

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then wait for the exit status (raises TimeoutExpired if it hangs)."""
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self) -> int:
        """SIGKILL: the crash a promise must survive."""
        self.signal(signal.SIGKILL)
        return self.wait(10)

    def wait(self, timeout: float = 10.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def output(self, run: int | None = None) -> tuple[str, str]:
        """(stdout, stderr) of one run, the latest by default."""
        return (
            self._path("stdout", run).read_text(encoding="utf-8", errors="replace"),
            self._path("stderr", run).read_text(encoding="utf-8", errors="replace"),
        )

    def all_output(self) -> str:
        """Everything every run printed."""
        return "".join("".join(self.output(run)) for run in range(1, self.runs + 1))

    def close(self) -> None:
        """Kill the process if a failing test left it running."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
