"""Every multi-step conversation survives kill -9: start it, kill the bot, finish it after.

The real `ngo-bot` process runs against the local fake Bot API; an admin (BOT_ADMINS) walks
into the middle of each flow, the process gets SIGKILL, a new one starts on the same database,
and the admin's next answers finish the flow as if nothing had happened.
"""

from __future__ import annotations

import socket
import sqlite3
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from handlers import broadcasts, meetings, organisation, roles
from tests.fake_api_server import (
    ApiCall,
    BotProcess,
    FakeApiServer,
    callback_update,
    text_update,
)

pytestmark = pytest.mark.process

TOKEN = "515151:FLOWS-kill-sentinel-Zx8"
ADMIN = 7001


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer(token=TOKEN) as api:
        yield api
    assert api.errors == []


@pytest.fixture
def bot_process(server: FakeApiServer, tmp_path: Path) -> Iterator[BotProcess]:
    # A free port for the public site: 8080 may be taken by another bot on this machine.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"BOT_ADMINS": str(ADMIN), "BOT_WEB_PORT": str(port)}
    process = BotProcess(server, tmp_path, token=TOKEN, env=env)
    try:
        yield process.start()
    finally:
        process.close()


class Admin:
    """Sends updates as the admin and waits for the bot's answer that names `expect`."""

    def __init__(self, server: FakeApiServer, process: BotProcess) -> None:
        self.server = server
        self.process = process

    def _answer(self, expect: str, since: float) -> ApiCall:
        def found(call: ApiCall) -> bool:
            shown = call.text + " ".join(data for _label, data in call.buttons())
            return call.at >= since and call.chat_id == ADMIN and expect in shown

        return self.server.wait_for(
            lambda: next(
                (c for c in self.server.calls() if c.status == 200 and found(c)),
                None,
            ),
            timeout=20,
        )

    def send(self, text: str, expect: str) -> ApiCall:
        since = time.monotonic()
        self.server.enqueue_update(text_update(ADMIN, text))
        return self._answer(expect, since)

    def press(self, data: str, expect: str, message_id: int = 1) -> ApiCall:
        since = time.monotonic()
        self.server.enqueue_update(callback_update(ADMIN, data, message_id=message_id))
        return self._answer(expect, since)

    def kill_and_restart(self, step: int) -> None:
        """SIGKILL once the conversation stands at `step`, then start a new process."""
        # The answer's question goes out just before its step is committed: wait for the
        # commit, so the kill tests the restart and not that window (see the README).
        database = Path(self.process.env["BOT_DATABASE"])
        self.server.wait_for(
            lambda: (
                rows(database, "SELECT step FROM conversations WHERE paused = 0") == [(str(step),)]
            ),
            timeout=10,
        )
        self.process.kill()
        self.process.start().wait_polling()


def rows(database: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def admin(server: FakeApiServer, bot_process: BotProcess) -> Admin:
    bot_process.wait_polling()
    person = Admin(server, bot_process)
    person.send("/start", "Dzień dobry!")
    person.press("consent:yes", "zgoda zapisana")
    return person


def _sector_button(call: ApiCall) -> str:
    return next(data for _label, data in call.buttons() if ":sector:" in data)


def test_new_meeting_survives_kill(admin: Admin, tmp_path: Path) -> None:
    asked = admin.send("/new_meeting", "Którego zespołu dotyczy?")
    admin.press(_sector_button(asked), "Podaj tytuł spotkania")
    admin.send("Budżet po restarcie", "Kiedy się zaczyna?")
    admin.kill_and_restart(meetings.Step.START)
    # The answer to the question asked before the kill.
    admin.send((date.today() + timedelta(days=30)).strftime("%Y-%m-%d 17:00"), "Ile potrwa?")
    admin.press("mtg:default", "Gdzie?")
    admin.send("ul. Józefińska 14", "Program spotkania")
    admin.press("mtg:skip", "Limit miejsc")
    admin.press("mtg:skip", "Przypomnienia")
    admin.press("mtg:default", "Czy spotkanie się powtarza?")
    admin.press("mtg:rec:none", "Opublikować spotkanie?")
    admin.press("mtg:publish", "Opublikowano")
    assert rows(tmp_path / "bot.sqlite3", "SELECT title FROM meetings") == [
        ("Budżet po restarcie",)
    ]


def test_broadcast_survives_kill(admin: Admin, tmp_path: Path) -> None:
    admin.send("/broadcast", "Do kogo wysłać komunikat?")
    admin.press("bc:aud:all", "")  # the audience keyboard, edited in place
    admin.press("bc:aud:done", "Wyślij treść komunikatu")
    admin.kill_and_restart(broadcasts.Step.MESSAGE)
    admin.send("Zaproszenie po restarcie", "Trafi do")
    admin.press("bc:now", "Wysłać komunikat teraz?")
    admin.press("bc:confirm", "jest wysyłany")
    assert rows(tmp_path / "bot.sqlite3", "SELECT count(*) FROM broadcasts") == [(1,)]


def test_organisation_survives_kill(admin: Admin, tmp_path: Path) -> None:
    admin.send("/organisation", "Nazwa organizacji")
    asked = admin.send("Fundacja Po Restarcie", "W jakim rejestrze")
    admin.kill_and_restart(organisation.Step.TYPE)
    # The press on the question asked before the kill still counts (its id was kept).
    asked = admin.press("org:type:none", "NIP", message_id=_result_id(asked))
    asked = admin.press("org:skip", "REGON", message_id=_result_id(asked))
    asked = admin.press("org:skip", "Fundacja Po Restarcie", message_id=_result_id(asked))
    admin.press("org:save", "Zapisano", message_id=_result_id(asked))
    assert rows(tmp_path / "bot.sqlite3", "SELECT name FROM organisations") == [
        ("Fundacja Po Restarcie",)
    ]


def test_grant_survives_kill(admin: Admin, tmp_path: Path) -> None:
    asked = admin.send("/grant", "W którym zespole branżowym")
    sector = _sector_button(asked)
    admin.press(sector, "Teraz wskaż osobę")
    admin.kill_and_restart(roles.Step.PERSON)
    # Typed text in the person step: only a live conversation answers with the invite hint.
    hint = admin.send("Jan Kowalski", "role:invite:")
    assert ("role:invite:" + sector.rsplit(":", 1)[1]) in [data for _l, data in hint.buttons()]


def _result_id(call: ApiCall) -> int:
    assert isinstance(call.result, dict)
    return int(call.result["message_id"])
