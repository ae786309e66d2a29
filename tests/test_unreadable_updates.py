"""Updates PTB cannot read, in polling mode: skipped, and logged by id and top-level keys only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_api_server import BotProcess, FakeApiServer, text_update

TOKEN = "626262:UNREADABLE-sentinel-token-Jc4sT8"
SENTINEL_NAME = "Zofia-Sentinel-Nazwisko"
SENTINEL_TEXT = "tajny-tekst-Sentinel-91"


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer(token=TOKEN) as api:
        yield api
    assert api.errors == []


@pytest.mark.process
def test_unreadable_update_is_logged_without_names_or_texts(
    server: FakeApiServer, tmp_path: Path
) -> None:
    process = BotProcess(server, tmp_path, token=TOKEN)
    try:
        process.start().wait_polling()
        # No date and no chat: PTB cannot build the Message, and logs what it received.
        broken = server.enqueue_update(
            {
                "message": {
                    "message_id": 1,
                    "from": {"id": 1005, "is_bot": False, "first_name": SENTINEL_NAME},
                    "text": SENTINEL_TEXT,
                }
            }
        )
        server.enqueue_update(text_update(1006, "/start"))
        server.wait_for_call("sendMessage", lambda c: c.chat_id == 1006)
        assert process.stop(timeout=10) == 0
    finally:
        process.close()
    stderr = process.output()[1]
    assert f"Skipped update {broken} that could not be read (top-level keys: message" in stderr
    assert f"{broken} (top-level keys: message, update_id)" in stderr  # PTB's own record
    assert SENTINEL_NAME not in stderr
    assert SENTINEL_TEXT not in stderr
