"""The delivery promise at process level: stop and kill -9 in the middle of a broadcast.

A notice to 300 members is sent by the real bot process against the local fake Bot API; the
process is stopped with SIGTERM (it must exit at once, leaving nothing unknown), started,
killed with SIGKILL while sends are in flight and started again. No chat may get the notice
twice, every chat without it must be counted (unknown or failed), and the database must be
intact.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import EXAMPLE_CONFIG, Config, load_config
from bot.services import delivery
from bot.services import sectors as sectors_service
from storage.database import Database
from storage.unit import Unit
from tests.fake_api_server import BotProcess, FakeApiServer
from tests.sql import raw_sql

TOKEN = "515151:DELIVERY-process-token"
RECIPIENTS = 300
FIRST_CHAT = 10_000
RATE = 30.0  # messages per second, the most the configuration allows
SERVER_DELAY = 0.2  # each send is accepted at once and answered this much later


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer(token=TOKEN) as api:
        yield api
    assert api.errors == []


def fast_config(tmp_path: Path) -> Path:
    """The example configuration with a short dispatcher interval and claim."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    replaced = {
        "interval_seconds": "0.2",
        "messages_per_second": str(RATE),
        "batch_size": "30",
    }
    for key, value in replaced.items():
        text, count = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        assert count == 1, key
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def seed(config: Config) -> int:
    """Members subscribed to one sector team and one notice to that team."""
    now = datetime.now(UTC)
    db = await Database.open(config.database)
    try:
        await sectors_service.sync_from_config(db, config)

        def inner(conn: sqlite3.Connection) -> int:
            [team] = conn.execute("SELECT id FROM teams WHERE slug = 'culture'").fetchone()
            for chat_id in range(FIRST_CHAT, FIRST_CHAT + RECIPIENTS):
                Unit(conn).users.add_user(chat_id, "pl" if chat_id % 2 else "en", now)
                Unit(conn).users.update_consent(chat_id, 1, now)
                Unit(conn).subscriptions.add_subscription(chat_id, team, now)
            return delivery.announce(
                Unit(conn),
                kind="broadcast",
                audience="team",
                audience_id=team,
                messages=delivery.messages_for(
                    lambda lang: delivery.OutgoingMessage(text=f"Zebranie / meeting ({lang})")
                ),
                now=now,
            )

        return await db.run(raw_sql(inner))
    finally:
        await db.close()


def states(database: Path, announcement: int) -> dict[int, str]:
    conn = sqlite3.connect(database, timeout=10)
    try:
        rows = conn.execute(
            "SELECT chat_id, state FROM deliveries WHERE announcement_id = ?", (announcement,)
        ).fetchall()
    finally:
        conn.close()
    return {int(chat): str(state) for chat, state in rows}


@pytest.mark.process
def test_kill_9_mid_broadcast_never_duplicates_and_counts_the_rest(
    server: FakeApiServer, tmp_path: Path
) -> None:
    config_path = fast_config(tmp_path)
    database = tmp_path / "bot.sqlite3"
    config = load_config(config_path, {"BOT_DATABASE": str(database)})
    announcement = asyncio.run(seed(config))
    server.fault("sendMessage", delay=SERVER_DELAY, times=None)
    bot = BotProcess(
        server, tmp_path, token=TOKEN, database=database, env={"BOT_CONFIG": str(config_path)}
    )
    try:
        # A graceful stop mid-broadcast: quick, and nothing is left unknown or claimed.
        bot.start()
        server.wait_for(lambda: len(server.calls("sendMessage")) >= RECIPIENTS // 6, 30)
        asked = time.monotonic()
        assert bot.stop(timeout=10) == 0
        assert time.monotonic() - asked < 5
        after_stop = states(database, announcement)
        assert set(after_stop.values()) == {"sent", "pending"}
        assert server.sent_by_chat() == Counter(
            chat for chat, state in after_stop.items() if state == "sent"
        )

        # Kill once a third of the notice is out: sends are in flight at that moment.
        bot.start()
        server.wait_for(lambda: len(server.calls("sendMessage")) >= RECIPIENTS // 3, 30)
        bot.kill()
        first_run = len(server.calls("sendMessage"))
        assert first_run < RECIPIENTS

        bot.start()

        def settled() -> dict[int, str] | None:
            found = states(database, announcement)
            done = len(found) == RECIPIENTS and not {"pending", "sending"} & set(found.values())
            return found if done else None

        deadline = time.monotonic() + 40
        final: dict[int, str] | None = None
        while final is None and time.monotonic() < deadline:
            final = settled()
            time.sleep(0.1)
        assert final is not None, "the restarted bot did not finish the notice"
        bot.stop()
    finally:
        bot.close()
    assert "Traceback" not in bot.all_output()

    received = server.sent_by_chat()
    # At most once: no chat got the notice twice, across the kill.
    assert max(received.values()) == 1
    # Every chat without it is counted, never silently nothing.
    missing = {chat for chat in range(FIRST_CHAT, FIRST_CHAT + RECIPIENTS) if chat not in received}
    assert all(final[chat] in ("unknown", "failed") for chat in missing)
    # What the database calls sent did arrive; unknown ones are the claim cut by the kill.
    assert all(received[chat] == 1 for chat, state in final.items() if state == "sent")
    unknown = [chat for chat, state in final.items() if state == "unknown"]
    assert unknown, "the kill should have interrupted some sends"
    # Claimed but unsettled at the kill: the sends in flight plus the rest of their claims,
    # about half a second at the pace (CLAIM_SECONDS plus the server's delay).
    assert len(unknown) <= RATE, (first_run, len(unknown), len(missing))
    assert len(received) + len(missing) == RECIPIENTS

    conn = sqlite3.connect(database)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
