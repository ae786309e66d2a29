"""The network seam: a recording fake of the Bot API behind PTB's BaseRequest."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot import limits

BOT_ID = 5000
BOT_USERNAME = "ngo_test_bot"
Response = tuple[int, dict[str, Any]]
# Files are fetched from `<api_file_url><token>/<file_path>` (bot/config.py api_file_url).
_FILE_URL = "/file/bot"


@dataclass
class Call:
    """One recorded Bot API call."""

    method: str
    params: dict[str, Any]
    # The message this call created or edited, as the fake answered (None for other calls).
    message_id: int | None = None

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return None if value is None else int(value)

    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data or url) of every inline button, row by row."""
        markup = self.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if not markup:
            return []
        return [
            (button["text"], button.get("callback_data") or button.get("url", ""))
            for row in markup.get("inline_keyboard", [])
            for button in row
        ]


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# ---- "message is not modified" (see FakeBotApi._unchanged) -----------------------------------
NOT_MODIFIED = {
    "ok": False,
    "error_code": 400,
    "description": "Bad Request: message is not modified: specified new message content and "
    "reply markup are exactly the same as a current content and reply markup of the message",
}
_EDITS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup"})
ANSWERED = {
    "ok": False,
    "error_code": 400,
    "description": "Bad Request: query is too old and response timeout expired or query ID is "
    "invalid",
}


@dataclass(frozen=True)
class Content:
    """What a message shows: its text or caption and its inline keyboard (None: none)."""

    body: Any
    markup: Any


def _edited(method: str, params: dict[str, Any], before: Content | None) -> Content:
    """What the message would show after the edit (an edit without buttons removes them)."""
    markup = params.get("reply_markup")
    if method == "editMessageReplyMarkup":
        return Content(None if before is None else before.body, markup)
    return Content(params.get("text", params.get("caption")), markup)


# ---- end of "message is not modified" ---------------------------------------------------------


@dataclass
class FakeBotApi(BaseRequest):
    """Answers like the Bot API, records every call; faults can be queued per method."""

    calls: list[Call] = field(default_factory=list)
    faults: dict[str, list[Response]] = field(default_factory=dict)
    next_message_id: int = 100
    on_call: Callable[[Call], None] | None = None
    # (chat, message_id) -> what the message shows now; see "message is not modified" below.
    shown: dict[tuple[int, int], Content] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)
    # file_id -> the bytes a user sent, for the bot to download (see "files users send").
    user_files: dict[str, bytes] = field(default_factory=dict)

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def sent(self, method: str | None = None) -> list[Call]:
        """Recorded calls, optionally of one method."""
        return [c for c in self.calls if method is None or c.method == method]

    def clear(self) -> None:
        self.calls.clear()

    def fail(self, method: str, status: int, description: str, **parameters: Any) -> None:
        """Make the next call of `method` answer with an error."""
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        self.faults.setdefault(method, []).append((status, body))

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if _FILE_URL in url:
            return self._download(url)
        api_method = url.rsplit("/", 1)[-1]
        params = {}
        if request_data is not None:
            params = {k: _decode(v) for k, v in request_data.parameters.items()}
        call = Call(api_method, params)
        self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)
        queued = self.faults.get(api_method)
        if queued:
            status, body = queued.pop(0)
            return status, json.dumps(body).encode()
        refusal = telegram_refusal(api_method, params)
        if refusal is not None:
            body = {"ok": False, "error_code": 400, "description": f"Bad Request: {refusal}"}
            return 400, json.dumps(body).encode()
        if self._unchanged(api_method, params):
            return 400, json.dumps(NOT_MODIFIED).encode()
        if api_method == "answerCallbackQuery":
            # Telegram takes one answer per press; a second one is refused.
            query_id = str(params.get("callback_query_id"))
            if query_id in self.answered:
                return 400, json.dumps(ANSWERED).encode()
            self.answered.add(query_id)
        result = self._result(api_method, params)
        if isinstance(result, dict) and "message_id" in result:
            call.message_id = int(result["message_id"])
        self._remember(api_method, params, result)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # ---- "message is not modified": Telegram refuses an edit that changes nothing ----------
    # The fake remembers what each message it sent or edited shows (text or caption, and
    # buttons) and answers an identical edit with Telegram's exact 400. Messages it never sent
    # are not tracked: raw clicks default to message 1 for many different messages.

    def _unchanged(self, method: str, params: dict[str, Any]) -> bool:
        if method not in _EDITS or "message_id" not in params:
            return False
        before = self.shown.get((int(params.get("chat_id", 0)), int(params["message_id"])))
        return before is not None and before == _edited(method, params, before)

    def _remember(self, method: str, params: dict[str, Any], result: Any) -> None:
        if not isinstance(result, dict) or "message_id" not in result:
            if method == "deleteMessage" and "message_id" in params:
                self.shown.pop((int(params.get("chat_id", 0)), int(params["message_id"])), None)
            return
        key = (int(params.get("chat_id", 0)), int(result["message_id"]))
        if method in _EDITS:
            if key in self.shown:
                self.shown[key] = _edited(method, params, self.shown[key])
        else:
            body = params.get("text", params.get("caption"))
            self.shown[key] = Content(body, params.get("reply_markup"))

    # ---- end of "message is not modified" ---------------------------------------------------

    # ---- files users send: getFile, then a GET of the file URL ------------------------------
    # PTB's File.download_as_bytearray asks getFile for a `file_path`, then fetches
    # `<api_file_url><token>/<file_path>` through the same BaseRequest (`retrieve`, a GET).
    # A test puts the bytes in with `add_file`; an unknown file answers 404 like Telegram.

    def add_file(self, file_id: str, data: bytes) -> None:
        """Let the bot download `data` as the file `file_id` (a user's upload)."""
        self.user_files[file_id] = data

    def _file_info(self, params: dict[str, Any]) -> Any:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.user_files:
            return None
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(self.user_files[file_id]),
            "file_path": f"documents/{file_id}",
        }

    def _download(self, url: str) -> tuple[int, bytes]:
        self.calls.append(Call("downloadFile", {"url_path": url.rsplit("/", 2)[-1]}))
        data = self.user_files.get(url.rsplit("/", 1)[-1])
        if data is None:
            return 404, b"Not Found"
        return 200, data

    # ---- end of files users send ------------------------------------------------------------

    def _message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        self.next_message_id += 1
        chat_id = int(params.get("chat_id", 0))
        chat: dict[str, Any] = {"id": chat_id, "type": "private" if chat_id > 0 else "group"}
        if chat_id < 0:
            chat["title"] = "Group"
        message = {
            "message_id": params.get("message_id", self.next_message_id),
            "date": 1_700_000_000,
            "chat": chat,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "NGO bot"},
        }
        message.update(extra)
        return message

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "NGO bot",
                "username": BOT_USERNAME,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if method in ("sendMessage", "editMessageText"):
            return self._message(params, text=params.get("text", ""))
        if method == "editMessageCaption":
            return self._message(params, caption=params.get("caption", ""))
        if method == "editMessageReplyMarkup":
            return self._message(params, text="")
        if method == "sendDocument":
            return self._message(
                params,
                document={"file_id": "doc", "file_unique_id": "doc", "file_name": "file"},
            )
        if method == "sendPhoto":
            return self._message(
                params, photo=[{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]
            )
        if method == "getUpdates":
            return []
        if method == "getFile":
            return self._file_info(params)
        return True


# --- Telegram's strictness ------------------------------------------------------------------
# The fake refuses what Telegram refuses, with Telegram's descriptions, so every test checks
# every message the bot sends: lengths in UTF-16 units after entity parsing, HTML Telegram
# can parse, callback data and keyboard size. Kept apart from the answers above on purpose.

_CAPTIONED = frozenset(
    {
        "sendPhoto",
        "sendDocument",
        "sendVoice",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "editMessageCaption",
        "copyMessage",
    }
)


def telegram_refusal(method: str, params: dict[str, Any]) -> str | None:
    """Why Telegram would answer 400 to this call (its description), or None."""
    parse_mode = params.get("parse_mode")
    if method in ("sendMessage", "editMessageText"):
        problem = _text_problem(
            str(params.get("text", "")), parse_mode, limits.TEXT_LIMIT, "message is too long"
        )
        if problem is not None:
            return problem
    if method in _CAPTIONED and params.get("caption") is not None:
        problem = _text_problem(
            str(params["caption"]),
            parse_mode,
            limits.CAPTION_LIMIT,
            "message caption is too long",
        )
        if problem is not None:
            return problem
    if method == "answerCallbackQuery":
        alert = str(params.get("text", ""))
        if limits.utf16_len(alert) > limits.ALERT_LIMIT:
            return "MESSAGE_TOO_LONG"
    markup = params.get("reply_markup")
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        rows = [
            [(str(b.get("text", "")), b.get("callback_data")) for b in row]
            for row in markup["inline_keyboard"]
        ]
        return limits.keyboard_problem(rows)
    return None


def _text_problem(text: str, parse_mode: Any, limit: int, too_long: str) -> str | None:
    try:
        length = limits.text_length(text, None if parse_mode is None else str(parse_mode))
    except limits.InvalidHtml as exc:
        return f"can't parse entities: {exc}"
    return too_long if length > limit else None
