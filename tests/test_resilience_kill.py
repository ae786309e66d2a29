"""The delivery promise under repeated crashes: kill -9 at random points of a broadcast, restart.

tests/test_delivery_process.py kills the bot once, at a fixed point. This generalises it into a
loop (CI: 3 rounds here; bench/kill_loop.py: 50): each round queues a notice to a sector
team, starts the real bot process against the local fake Bot API and kills it with SIGKILL at
a random point (before the first send, or after a random number of sends, sometimes twice),
with faults mixed in (blocked users, refusals, 5xx answers whose description echoes the
token, slow answers so that sends are in flight), then restarts it until the notice is
settled. After every round:

- no chat got any notice twice (the fake server's ledger of accepted sends, over all rounds);
- every copy the database calls `sent` arrived; every recipient without a copy is counted
  `unknown`, `failed` or `blocked`, never silently nothing, and nothing is left pending;
- `unknown` copies are at most the claims a kill can interrupt (kills x batch size);
- `PRAGMA integrity_check` is ok;
- the token never appears in anything the bot printed over all rounds (sentinel token).
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import EXAMPLE_CONFIG, Config, load_config
from bot.dispatcher import dispatch_once
from bot.services import delivery
from bot.services import sectors as sectors_service
from storage.database import Database
from storage.unit import Unit
from tests.conftest import make_config, start_driver, stop_driver
from tests.fake_api_server import BotProcess, FakeApiServer
from tests.harness import Clock, TgUser
from tests.sql import raw_sql

# A sentinel token with a recognisable secret half (leaks of either half are caught).
TOKEN = "616161:KILL-loop-sentinel-Qw3rTy"
SECRET_HALF = TOKEN.split(":", 1)[1]
FIRST_CHAT = 20_000
RATE = 30.0
BATCH = 30
SERVER_DELAY = 0.1  # every send is accepted at once and answered this much later
SETTLE_TIMEOUT = 40.0
_MARK = re.compile(r"\[round (\d+)\]")


def kill_config(folder: Path) -> Path:
    """The example configuration with a fast dispatcher and quick retries."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    replaced = {
        "interval_seconds": "0.2",
        "messages_per_second": str(RATE),
        "batch_size": str(BATCH),
        "retry_seconds": "0.2",
        "retry_max_seconds": "0.5",
    }
    for key, value in replaced.items():
        text, count = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        assert count == 1, key
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class RoundResult:
    """What one round saw: the database's states and the fake server's ledger."""

    number: int
    kills: int
    recipients: int
    states: Counter[str]
    max_copies: int  # the most copies of this round's notice any chat got
    missing_uncounted: int  # recipients without a copy and without unknown/failed/blocked
    sent_not_received: int  # copies the database calls sent that the server never accepted
    integrity: str
    seconds: float

    @property
    def ok(self) -> bool:
        return (
            self.max_copies <= 1
            and self.missing_uncounted == 0
            and self.sent_not_received == 0
            and self.integrity == "ok"
            and not {"pending", "sending"} & set(self.states)
            and self.states["unknown"] <= self.kills * BATCH
        )

    def line(self) -> str:
        states = " ".join(f"{state}={n}" for state, n in sorted(self.states.items()))
        return (
            f"round {self.number:3d}: kills={self.kills} recipients={self.recipients} "
            f"max copies/chat={self.max_copies} {states} uncounted={self.missing_uncounted} "
            f"integrity={self.integrity} {self.seconds:.1f}s {'OK' if self.ok else 'FAIL'}"
        )


@dataclass
class KillLoop:
    """The bot process, its fake Telegram and a database, for any number of rounds."""

    server: FakeApiServer
    folder: Path
    members: int
    rng: random.Random
    config_path: Path = field(init=False)
    config: Config = field(init=False)
    bot: BotProcess = field(init=False)
    team: int = 0

    def __post_init__(self) -> None:
        self.config_path = kill_config(self.folder)
        database = self.folder / "bot.sqlite3"
        self.config = load_config(self.config_path, {"BOT_DATABASE": str(database)})
        self.bot = BotProcess(
            self.server,
            self.folder,
            token=TOKEN,
            database=database,
            env={"BOT_CONFIG": str(self.config_path)},
        )
        self.team = asyncio.run(self._seed_members())

    async def _seed_members(self) -> int:
        now = datetime.now(UTC)
        db = await Database.open(self.config.database)
        try:
            await sectors_service.sync_from_config(db, self.config)

            def inner(conn: sqlite3.Connection) -> int:
                [team] = conn.execute("SELECT id FROM teams WHERE slug = 'culture'").fetchone()
                for chat_id in range(FIRST_CHAT, FIRST_CHAT + self.members):
                    Unit(conn).users.add_user(chat_id, "pl" if chat_id % 2 else "en", now)
                    Unit(conn).users.update_consent(chat_id, 1, now)
                    Unit(conn).subscriptions.add_subscription(chat_id, team, now)
                return int(team)

            return await db.run(raw_sql(inner))
        finally:
            await db.close()

    async def _announce(self, number: int) -> int:
        """Queue this round's notice (a broadcast to the team), as a moderator's would be."""
        db = await Database.open(self.config.database)
        try:
            return await db.run(
                lambda unit: delivery.announce(
                    unit,
                    kind="broadcast",
                    audience="team",
                    audience_id=self.team,
                    messages=delivery.messages_for(
                        lambda lang: delivery.OutgoingMessage(
                            text=f"<b>Zebranie</b> &amp; notice ({lang}) [round {number}]"
                        )
                    ),
                    now=datetime.now(UTC),
                )
            )
        finally:
            await db.close()

    def _faults(self) -> None:
        """Random refusals for this round, on top of slow answers for every send."""
        self.server.clear_faults()
        chats = self._active_chats()
        blocked = set(self.rng.sample(chats, 2))
        refused = set(self.rng.sample(chats, 2))
        flaky = set(self.rng.sample(chats, 3))

        def of(chosen: set[int]) -> Callable[[dict[str, object]], bool]:
            # A request cut by the kill may arrive without its body: no chat_id then.
            return lambda params: str(params.get("chat_id")) in {str(c) for c in chosen}

        self.server.fault("sendMessage", status=403, times=None, match=of(blocked))
        self.server.fault(
            "sendMessage",
            status=400,
            description="Bad Request: chat not found",
            times=None,
            match=of(refused),
        )
        # Refused once, then accepted: retried, and the token in the reason is redacted.
        self.server.fault(
            "sendMessage",
            status=502,
            description=f"Bad Gateway at /bot{TOKEN}/sendMessage",
            times=len(flaky),
            match=of(flaky),
        )
        self.server.fault("sendMessage", delay=SERVER_DELAY, times=None)

    def _sends(self, number: int) -> int:
        mark = f"[round {number}]"
        return sum(1 for c in self.server.calls("sendMessage") if mark in c.text)

    def _kill_at_random_point(self, number: int, announcement: int, recipients: int) -> None:
        """Start the bot and kill it before its first send or after a random number of them."""
        found = self._states(announcement)
        remaining = recipients if not found else sum(s == "pending" for s in found.values())
        self.bot.start()
        self.bot.wait_polling()
        if remaining == 0 or self.rng.random() < 0.2:
            time.sleep(self.rng.uniform(0, 0.3))  # at start-up or during the fan-out
        else:
            target = self._sends(number) + self.rng.randint(1, max(1, remaining - 1))

            def reached() -> bool:
                # Or the notice is done (refused sends retried make the count approximate).
                return (
                    self._sends(number) >= target
                    or self._settled(announcement, recipients) is not None
                )

            self.server.wait_for(reached, 30)
        self.bot.kill()

    def _settled(self, announcement: int, recipients: int) -> dict[int, str] | None:
        found = self._states(announcement)
        done = len(found) == recipients and not {"pending", "sending"} & set(found.values())
        return found if done else None

    def _states(self, announcement: int) -> dict[int, str]:
        conn = sqlite3.connect(self.config.database, timeout=10)
        try:
            rows = conn.execute(
                "SELECT chat_id, state FROM deliveries WHERE announcement_id = ?",
                (announcement,),
            ).fetchall()
        finally:
            conn.close()
        return {int(chat): str(state) for chat, state in rows}

    def _integrity(self) -> str:
        conn = sqlite3.connect(self.config.database, timeout=10)
        try:
            return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        finally:
            conn.close()

    def _active_chats(self) -> list[int]:
        """The team's recipients now (blocked members of earlier rounds are inactive)."""
        conn = sqlite3.connect(self.config.database, timeout=10)
        try:
            rows = conn.execute(
                """SELECT u.id FROM subscriptions s JOIN users u ON u.id = s.user_id
                   WHERE s.team_id = ? AND u.active = 1 ORDER BY u.id""",
                (self.team,),
            ).fetchall()
        finally:
            conn.close()
        return [int(row[0]) for row in rows]

    def run_round(self, number: int, kills: int) -> RoundResult:
        began = time.monotonic()
        recipients = len(self._active_chats())
        announcement = asyncio.run(self._announce(number))
        self._faults()
        for _ in range(kills):
            self._kill_at_random_point(number, announcement, recipients)
        # Up and polling before a stop is asked (a SIGTERM during start-up is not a stop).
        self.bot.start().wait_polling()
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while (settled := self._settled(announcement, recipients)) is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        found = settled or self._states(announcement)
        status = self.bot.stop(timeout=10)
        assert status == 0, f"exit status {status}: {self.bot.output()[1][-3000:]}"
        self.server.clear_faults()

        copies: Counter[int] = Counter()
        for call in self.server.accepted("sendMessage"):
            found_mark = _MARK.search(call.text)
            if found_mark and int(found_mark.group(1)) == number and call.chat_id is not None:
                copies[call.chat_id] += 1
        counted = {"unknown", "failed", "blocked"}
        return RoundResult(
            number=number,
            kills=kills,
            recipients=len(found),
            states=Counter(found.values()),
            max_copies=max(copies.values(), default=0),
            missing_uncounted=sum(
                1 for chat, state in found.items() if chat not in copies and state not in counted
            ),
            sent_not_received=sum(
                1 for chat, state in found.items() if state == "sent" and copies[chat] != 1
            ),
            integrity=self._integrity(),
            seconds=time.monotonic() - began,
        )

    def leaked_token(self) -> bool:
        output = self.bot.all_output()
        return TOKEN in output or SECRET_HALF in output


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    with FakeApiServer(token=TOKEN) as api:
        yield api
    assert api.errors == []


@pytest.mark.process
def test_kill_9_loop_never_duplicates_counts_every_copy_and_keeps_the_database(
    server: FakeApiServer, tmp_path: Path
) -> None:
    seed = random.randrange(1 << 30)
    loop = KillLoop(server, tmp_path, members=60, rng=random.Random(seed))
    try:
        results = [loop.run_round(number, kills=1) for number in (1, 2, 3)]
    finally:
        loop.bot.close()
    report = "\n".join(result.line() for result in results) + f"\nseed={seed}"
    for result in results:
        assert result.ok, report
    # The faults took effect (a blocked or refused copy may also be cut by a kill: unknown).
    assert sum(r.states["blocked"] + r.states["failed"] for r in results) > 0, report
    # Over all rounds: the ledger never shows two copies of one notice to one chat.
    assert all(result.max_copies <= 1 for result in results), report
    assert sum(result.states["sent"] for result in results) > 0, report
    # The run had errors (kills, refusals, a token-echoing 502) and logged them; no token.
    output = loop.bot.all_output()
    assert "interrupted by a stop; counted as unknown" in output
    assert "Traceback" not in output
    assert not loop.leaked_token()


async def test_token_echoed_by_a_failing_upstream_is_not_stored(tmp_path: Path) -> None:
    """Where the log is redacted, the delivery's stored reason must be too."""
    config = make_config(tmp_path)
    token = config.token.get_secret_value() if config.token else ""
    clock = Clock()
    driver = await start_driver(config, clock)
    try:
        anna = TgUser(id=1001)
        await driver.send(anna, "/start")
        await driver.press(anna, driver.label(anna, "button.consent"))
        deps = driver.app.bot_data["deps"]
        await deps.db.run(
            lambda unit: delivery.announce(
                unit,
                kind="broadcast",
                audience="user",
                audience_id=anna.id,
                messages=delivery.messages_for(lambda lang: delivery.OutgoingMessage(text="x")),
                now=clock(),
            )
        )
        for _ in range(config.delivery.max_attempts + 1):
            driver.api.fail("sendMessage", 502, f"Bad Gateway at /bot{token}/sendMessage")
            await dispatch_once(deps, driver.app.bot)
            clock.advance(hours=1)
        rows = await deps.db.run(
            raw_sql(
                lambda conn: [tuple(r) for r in conn.execute("SELECT state, error FROM deliveries")]
            )
        )
    finally:
        await stop_driver(driver)
    assert [state for state, _ in rows] == ["failed"]
    assert token.split(":", 1)[1] not in str(rows)
