"""A hypothesis state machine over random update streams through the real Application.

Members (some never consent), a sector moderator and an admin drive the bot with random
sequences of: consent, /sectors toggles, RSVPs to a meeting with a small capacity, postulate
submission through the conversation, review by the moderator or admin, forged review presses
by members, forged and stale callback data (random strings and valid-looking data with wrong
ids), commands in a group chat, blocking and unblocking the bot, and the dispatcher's ticks.

After every step the database is checked:
- no update reached the error handler and nothing was logged at ERROR;
- nobody gained a role (admins and moderators are what the test seeded);
- subscriptions and RSVPs exist only for consented users; a meeting never has more confirmed
  places than its capacity, and nobody waits while a place is free;
- every delivery has a known state and there is at most one per (announcement, chat); the
  dispatcher never sends to a user who blocked the bot or did not consent;
- a postulate's state is the last one of its history;
- forged, stale and unauthorized updates (and group commands) changed nothing at all: every
  data table is compared before and after;
- a review changes a postulate exactly as the transition rules allow for that role.

Asyncio: each example gets its own event loop (created in __init__, closed in teardown) and
its own temporary database; examples are CI-sized (a few seconds in all) and hypothesis keeps
no example database (database=None). Two runs: new random streams checking the invariants, and
derandomized streams (the same on every run) that must also reach the interesting paths.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from bot.dispatcher import dispatch_once
from bot.services import postulates_review
from tests.conftest import ADMIN_ID, make_config, start_driver, stop_driver
from tests.fakes import Call
from tests.harness import BotDriver, Clock, TgUser
from tests.meeting_factory import add_meeting, make_moderator
from tests.sql import raw_sql
from tests.test_postulates_helpers import submit

T = TypeVar("T")
# What the examples did, to check the machine does not degenerate (e.g. no review ever runs).
SEEN: Counter[str] = Counter()

ADMIN = TgUser(id=ADMIN_ID, language_code="pl", first_name="Admin")
MODERATOR = TgUser(id=4001, language_code="pl", first_name="Mod")
MEMBERS = (
    TgUser(id=4101, language_code="pl", first_name="Ala"),
    TgUser(id=4102, language_code="en", first_name="Bob"),
    TgUser(id=4103, language_code=None, first_name="Cyd"),
)
EVERYONE = (ADMIN, MODERATOR, *MEMBERS)
GROUP_CHAT = -100777
CAPACITY = 2
NOTE = "Uzasadnienie decyzji zespołu."
# Review button codes -> the service's action (dup needs another postulate's reference and
# mov a second press; both are covered by tests/test_review.py).
CODES = {"take": "take", "fwd": "forward", "rej": "reject", "ask": "ask", "yes": "adopt",
         "no": "not_adopt"}  # fmt: skip
NEEDS_NOTE = {"rej", "ask", "yes", "no"}
# Shown with the author's notice first, taken on "Confirm" (`rev:ok:<code>:<id>`).
CONFIRMED = {"fwd", "rej", "ask", "yes", "no"}
# Tables that may change on any update: bookkeeping, not data a press could alter.
NOT_DATA = {"processed_updates", "audit_log", "postulate_drafts", "sqlite_sequence"}
# Valid-looking callback data; the ids appended are never those of an existing object.
PREFIXES = (
    "sectors:toggle:",
    "rsvp:going:",
    "rsvp:maybe:",
    "rsvp:no:",
    "rsvp:csv:",
    "cal:",
    "rev:open:",
    "rev:take:",
    "rev:ok:fwd:",
    "rev:back:",
    "rev:fwd:",
    "rev:rej:",
    "rev:yes:",
    "rev:file:",
    "rev:to:1:",
    "pst:submit:",
    "pst:support:",
    "pst:withdraw:",
    "pst:sector:",
    "mtg:cancel:",
    "mtg:cancel-one:",
    "mtg:edit:",
    "org:leave-yes:",
    "priv:",
    "set:mute:",
    "role:sector:",
    "audit:page:",
    "consent:yes:",
    "lang:",
)
WRONG_IDS = st.one_of(
    st.integers(min_value=1_000_000, max_value=999_999_999).map(str),
    st.integers(min_value=10**12, max_value=10**30).map(str),
    # Decimal digits of other scripts ("١" = 1) are read as ids: tests/test_malformed.py.
    st.sampled_from(["-1", "0x1", "1.5", "", "①", "1:2:3", "%00", "../1"]),
)
# Hypothesis also draws string literals from the code under test, so random text can be a real
# button of one's own (e.g. the /forget confirmation): random strings keep off the features'
# prefixes, which get the valid-looking forms with wrong ids instead.
FEATURE_PREFIX = re.compile(r"^\s*[a-z_-]+:", re.IGNORECASE)
FORGED = st.one_of(
    st.text(max_size=64).filter(lambda data: FEATURE_PREFIX.match(data) is None),
    st.builds(lambda prefix, wrong: prefix + wrong, st.sampled_from(PREFIXES), WRONG_IDS),
)
GROUP_COMMANDS = (
    "/start",
    "/sectors",
    "/help",
    "/postulate",
    "/review",
    "/mydata",
    "/forget",
    "/organisation",
    "/new_meeting",
    "/link_group",
    "/calendar",
    "/my_postulates",
    "/settings",
)


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")


class UpdateStreams(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder = tempfile.TemporaryDirectory()
        self.errors: list[object] = []
        self.logged = _Errors()
        logging.getLogger().addHandler(self.logged)
        self.driver: BotDriver | None = None
        self.consented: set[int] = {ADMIN.id, MODERATOR.id}
        self.blocked: set[int] = set()
        self.postulates: list[int] = []
        self.answers = 0  # RSVPs recorded
        self.culture = 0
        self.meeting = 0

    # -- plumbing ------------------------------------------------------------------------

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    @property
    def bot(self) -> BotDriver:
        assert self.driver is not None
        return self.driver

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        def read(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in conn.execute(sql, args).fetchall()]

        result: list[tuple[Any, ...]] = self.run(
            self.bot.app.bot_data["deps"].db.run(raw_sql(read))
        )
        return result

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every data table."""
        tables = [
            row[0]
            for row in self.query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '%fts%'"
            )
            if row[0] not in NOT_DATA
        ]
        return {table: sorted(self.query(f'SELECT * FROM "{table}"'), key=repr) for table in tables}

    def unchanged(self, action: Any) -> list[Call]:
        """Run `action` (a coroutine) and assert that no data changed."""
        before = self.snapshot()
        calls: list[Call] = self.run(action)
        after = self.snapshot()
        changed = {t for t in before if before[t] != after.get(t)}
        assert not changed, {t: (before[t], after.get(t)) for t in changed}
        return calls

    def state_of(self, postulate: int) -> tuple[str, int | None]:
        [(state, author)] = self.query(
            "SELECT state, author_id FROM postulates WHERE id = ?", postulate
        )
        return str(state), author

    # -- setup ---------------------------------------------------------------------------

    @initialize()
    def start(self) -> None:
        config = make_config(Path(self.folder.name))
        self.driver = self.run(start_driver(config, Clock()))

        async def count(update: object, context: Any) -> None:
            self.errors.append(context.error)

        self.bot.app.add_error_handler(count)
        # The flood limit is about real seconds; hypothesis sends a day's updates in one.
        for key, value in list(self.bot.app.bot_data.items()):
            if type(value).__name__ == "FloodLimiter":
                del self.bot.app.bot_data[key]
        for user in EVERYONE:
            self.run(self.bot.send(user, "/start"))
        for user in (ADMIN, MODERATOR):
            self.run(self.bot.click(user, "consent:yes"))
        self.run(make_moderator(self.bot, MODERATOR.id, "culture"))
        self.meeting = self.run(add_meeting(self.bot, capacity=CAPACITY))
        [(self.culture,)] = self.query("SELECT id FROM teams WHERE slug = 'culture'")
        self.sector_ids = [row[0] for row in self.query("SELECT id FROM teams ORDER BY id")]
        # One postulate from the start, so that reviews are possible from the first step.
        self.consent(MEMBERS[0])
        self.submit_postulate(MEMBERS[0])

    def teardown(self) -> None:
        try:
            if self.driver is not None:
                self.run(stop_driver(self.driver))
        finally:
            self.loop.close()
            logging.getLogger().removeHandler(self.logged)
            self.folder.cleanup()

    # -- rules ---------------------------------------------------------------------------

    @rule(user=st.sampled_from(MEMBERS))
    def consent(self, user: TgUser) -> None:
        self.run(self.bot.send(user, "/start"))
        self.run(self.bot.click(user, "consent:yes"))
        self.consented.add(user.id)
        self.blocked.discard(user.id)  # writing to the bot again
        [(version,)] = self.query("SELECT consent_version FROM users WHERE id = ?", user.id)
        assert version is not None
        SEEN["consent"] += 1

    @rule(user=st.sampled_from(EVERYONE), index=st.integers(min_value=0, max_value=20))
    def toggle(self, user: TgUser, index: int) -> None:
        team = self.sector_ids[index % len(self.sector_ids)]
        sql = "SELECT count(*) FROM subscriptions WHERE user_id = ? AND team_id = ?"
        if user.id not in self.consented:
            self.unchanged(self.bot.click(user, f"sectors:toggle:{team}"))
            return
        [(before,)] = self.query(sql, user.id, team)
        self.run(self.bot.click(user, f"sectors:toggle:{team}"))
        [(after,)] = self.query(sql, user.id, team)
        [(kind,)] = self.query("SELECT kind FROM teams WHERE id = ?", team)
        # A sector team flips; the coordinating team is not a subscription.
        assert after == (1 - before if kind == "sector" else before), (kind, before, after)
        SEEN["toggle"] += 1

    def meeting_open(self) -> bool:
        [(state, starts_at)] = self.query(
            "SELECT state, starts_at FROM meetings WHERE id = ?", self.meeting
        )
        return bool(state == "scheduled" and starts_at > self.bot.clock().isoformat())

    @rule(user=st.sampled_from(EVERYONE), answer=st.sampled_from(["going", "maybe", "no"]))
    def rsvp(self, user: TgUser, answer: str) -> None:
        data = f"rsvp:{answer}:{self.meeting}"
        if user.id not in self.consented or not self.meeting_open():
            # Without consent, or a stale card (cancelled or started meeting): nothing.
            self.unchanged(self.bot.click(user, data))
            SEEN["stale rsvp" if user.id in self.consented else "rsvp refused"] += 1
            return
        self.run(self.bot.click(user, data))
        rows = self.query(
            "SELECT answer FROM rsvps WHERE meeting_id = ? AND user_id = ?", self.meeting, user.id
        )
        stored = {"going": "going", "maybe": "maybe", "no": "not_going"}[answer]
        assert rows == [(stored,)]
        self.answers += 1
        SEEN["rsvp"] += 1

    @precondition(lambda self: self.answers >= 3)  # late enough that people are told
    @rule(user=st.sampled_from(EVERYONE))
    def cancel_meeting(self, user: TgUser) -> None:
        data = f"mtg:cancel-one:{self.meeting}"
        if user.id not in (ADMIN.id, MODERATOR.id):
            self.unchanged(self.bot.click(user, data))
            return
        self.run(self.bot.click(user, data))
        [(state,)] = self.query("SELECT state FROM meetings WHERE id = ?", self.meeting)
        assert state == "cancelled"
        SEEN["meeting cancelled"] += 1

    @precondition(lambda self: len(self.postulates) < 4)
    @rule(user=st.sampled_from(EVERYONE))
    def submit_postulate(self, user: TgUser) -> None:
        if user.id not in self.consented:
            self.unchanged(self.bot.send(user, "/postulate"))
            return
        self.run(self.bot.send(user, "/cancel"))
        reference = self.run(submit(self.bot, user, title=f"Postulat numer {len(self.postulates)}"))
        [(postulate, author, state)] = self.query(
            "SELECT id, author_id, state FROM postulates WHERE reference = ?", reference
        )
        assert (author, state) == (user.id, "submitted")
        self.postulates.append(int(postulate))
        SEEN["submit"] += 1

    @precondition(lambda self: bool(self.postulates))
    @rule(
        reviewer=st.sampled_from((MODERATOR, ADMIN)),
        index=st.integers(min_value=0, max_value=10),
        code=st.sampled_from(sorted(CODES)),
    )
    def review(self, reviewer: TgUser, index: int, code: str) -> None:
        postulate = self.postulates[index % len(self.postulates)]
        before, author = self.state_of(postulate)
        states, target, role, _ = postulates_review.TRANSITIONS[CODES[code]]
        allowed = (
            before in states
            and author != reviewer.id
            and (role == "moderator" or reviewer.id == ADMIN.id)
        )
        self.run(self.bot.click(reviewer, f"rev:{code}:{postulate}"))
        if code in NEEDS_NOTE:
            self.run(self.bot.send(reviewer, NOTE))
        if code in CONFIRMED:
            self.run(self.bot.click(reviewer, f"rev:ok:{code}:{postulate}"))
        after, _ = self.state_of(postulate)
        assert after == (target if allowed else before), (code, before, after, allowed)
        SEEN["review changed" if after != before else "review refused"] += 1

    @precondition(lambda self: bool(self.postulates))
    @rule(index=st.integers(min_value=0, max_value=10))
    def review_next_step(self, index: int) -> None:
        """The usual path of a postulate, by whoever may take it (random codes rarely fit)."""
        postulate = self.postulates[index % len(self.postulates)]
        state, author = self.state_of(postulate)
        code = {"submitted": "take", "in_review": "fwd", "forwarded": "yes",
                "clarification": "rej"}.get(state)  # fmt: skip
        if code is None:
            return  # decided
        reviewer = ADMIN if author != ADMIN.id else MODERATOR
        self.review(reviewer, index, code)

    @precondition(lambda self: bool(self.postulates))
    @rule(
        user=st.sampled_from(MEMBERS),
        index=st.integers(min_value=0, max_value=10),
        code=st.sampled_from([*CODES, "dup", "mov", "file"]),
    )
    def forged_review_by_a_member(self, user: TgUser, index: int, code: str) -> None:
        postulate = self.postulates[index % len(self.postulates)]
        _, author = self.state_of(postulate)
        if author == user.id:
            return  # an author's own actions (withdraw, answer) are not forged
        calls = self.unchanged(self.bot.click(user, f"rev:{code}:{postulate}"))
        assert any(c.method == "answerCallbackQuery" for c in calls)
        self.unchanged(self.bot.send(user, NOTE))
        SEEN["forged review"] += 1

    @rule(user=st.sampled_from(EVERYONE), data=FORGED)
    def forged_button(self, user: TgUser, data: str) -> None:
        calls = self.unchanged(self.bot.click(user, data))
        assert any(c.method == "answerCallbackQuery" for c in calls), data
        SEEN["forged button"] += 1

    @rule(user=st.sampled_from((*MEMBERS, MODERATOR)), command=st.sampled_from(GROUP_COMMANDS))
    def group_command(self, user: TgUser, command: str) -> None:
        calls = self.unchanged(self.bot.send(user, command, chat_id=GROUP_CHAT))
        # Nothing personal is posted in the group.
        for call in calls:
            if call.method == "sendDocument":
                assert call.chat_id != GROUP_CHAT
        SEEN["group command"] += 1

    @rule(user=st.sampled_from(MEMBERS), status=st.sampled_from(["kicked", "member"]))
    def block_or_unblock(self, user: TgUser, status: str) -> None:
        old = "member" if status == "kicked" else "kicked"
        self.run(self.bot.my_chat_member(user, old, status))
        if status == "kicked":
            self.blocked.add(user.id)
        else:
            self.blocked.discard(user.id)
        [(active,)] = self.query("SELECT active FROM users WHERE id = ?", user.id)
        assert active == (0 if status == "kicked" else 1)
        SEEN["blocked" if status == "kicked" else "unblocked"] += 1

    @rule(minutes=st.integers(min_value=1, max_value=600))
    def tick(self, minutes: int) -> None:
        self.bot.clock.advance(minutes=minutes)
        before = len(self.bot.api.calls)
        self.run(dispatch_once(self.bot.app.bot_data["deps"], self.bot.app.bot))
        reachable = {
            row[0]
            for row in self.query(
                "SELECT id FROM users WHERE active = 1 AND consent_at IS NOT NULL"
            )
        }
        for call in self.bot.api.calls[before:]:
            if call.method == "sendMessage" and call.chat_id is not None and call.chat_id > 0:
                assert call.chat_id in reachable, (call.chat_id, call.text[:80])
                assert call.chat_id not in self.blocked
                SEEN["notice sent"] += 1

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def nothing_unhandled(self) -> None:
        if self.driver is None:
            return
        assert self.errors == []
        assert self.logged.records == []

    @invariant()
    def roles_only_as_seeded(self) -> None:
        if self.driver is None:
            return
        assert self.query("SELECT user_id FROM admins") == [(ADMIN.id,)]
        assert self.query("SELECT user_id, team_id FROM moderators") == [
            (MODERATOR.id, self.culture)
        ]

    @invariant()
    def personal_data_only_with_consent(self) -> None:
        if self.driver is None:
            return
        for table in ("subscriptions", "rsvps"):
            rows = self.query(
                f"""SELECT t.user_id FROM {table} t JOIN users u ON u.id = t.user_id
                    WHERE u.consent_at IS NULL"""
            )
            assert rows == [], table

    @invariant()
    def capacity_holds(self) -> None:
        if self.driver is None:
            return
        [(confirmed, waiting)] = self.query(
            """SELECT count(*) FILTER (WHERE answer = 'going' AND waitlist_position IS NULL),
                      count(*) FILTER (WHERE waitlist_position IS NOT NULL)
               FROM rsvps WHERE meeting_id = ?""",
            self.meeting,
        )
        assert confirmed <= CAPACITY
        assert waiting == 0 or confirmed == CAPACITY, (confirmed, waiting)

    @invariant()
    def deliveries_are_accounted_for(self) -> None:
        if self.driver is None:
            return
        assert self.query(
            """SELECT count(*) FROM deliveries WHERE state NOT IN
                   ('pending', 'sending', 'sent', 'failed', 'blocked', 'unknown', 'expired')"""
        ) == [(0,)]
        assert (
            self.query(
                """SELECT announcement_id, chat_id FROM deliveries
                   GROUP BY announcement_id, chat_id HAVING count(*) > 1"""
            )
            == []
        )
        # Between dispatcher runs nothing is left claimed.
        assert self.query("SELECT count(*) FROM deliveries WHERE state = 'sending'") == [(0,)]

    @invariant()
    def postulate_state_is_its_history(self) -> None:
        if self.driver is None:
            return
        rows = self.query(
            """SELECT p.id, p.state, (SELECT h.to_state FROM postulate_history h
                                       WHERE h.postulate_id = p.id ORDER BY h.id DESC LIMIT 1)
               FROM postulates p"""
        )
        for postulate, state, last in rows:
            assert state == last, (postulate, state, last)


def run_machine(examples: int, steps: int, *, derandomize: bool = False) -> None:
    run_state_machine_as_test(
        UpdateStreams,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            derandomize=derandomize,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            print_blob=True,
        ),
    )


def test_random_update_streams_keep_the_invariants() -> None:
    """New random streams on every run: any broken invariant fails, wherever it is found."""
    run_machine(examples=10, steps=40)


def test_the_streams_reach_the_interesting_paths() -> None:
    """The same streams on every run, so that this coverage claim cannot flake.

    Hypothesis switches rules off at random per example (swarm testing), so ten random
    examples now and then never send, say, a group command (CI saw that happen once).
    Derandomized, the examples are fixed by the code, and the claim holds or fails for good.
    """
    SEEN.clear()
    run_machine(examples=10, steps=40, derandomize=True)
    # The streams did reach the interesting paths (not only refusals).
    wanted = {"consent", "toggle", "rsvp", "submit", "review changed", "forged review",
              "forged button", "group command", "blocked", "notice sent"}  # fmt: skip
    assert wanted <= set(SEEN), SEEN
