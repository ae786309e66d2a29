"""The delivery engine: fan-out, claims, the fault matrix, expiry and restarts."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.error import TimedOut

from bot.app import build_application
from bot.config import Config, Language
from bot.deps import Deps
from bot.dispatcher import DispatchReport, dispatch_once
from bot.engine import build_engine
from bot.services import delivery
from storage import delivery as storage
from storage.database import migrate
from storage.unit import Unit
from tests.conftest import start_driver, stop_driver
from tests.fakes import Call, FakeBotApi
from tests.harness import BotDriver, Clock
from tests.sql import raw_sql

FAST = 100_000.0  # messages per second: no pacing in tests that are not about the pace


def fast(config: Config, **delivery_values: object) -> Config:
    values: dict[str, object] = {"messages_per_second": FAST, **delivery_values}
    return config.model_copy(update={"delivery": config.delivery.model_copy(update=values)})


@pytest.fixture
def config(config: Config) -> Config:
    return fast(config)


def deps_of(bot: BotDriver) -> Deps:
    deps = bot.app.bot_data["deps"]
    assert isinstance(deps, Deps)
    return deps


async def tick(bot: BotDriver, *, one_at_a_time: bool = False) -> DispatchReport:
    deps = deps_of(bot)
    if one_at_a_time:
        # Paced so that each send is answered before the next one starts.
        deps = dataclasses.replace(deps, config=fast(deps.config, messages_per_second=50))
    return await dispatch_once(deps, bot.app.bot)


def add_member(
    conn: sqlite3.Connection,
    user_id: int,
    now: datetime,
    language: Language = "pl",
    teams: tuple[int, ...] = (),
    consented: bool = True,
) -> None:
    Unit(conn).users.add_user(user_id, language, now)
    if consented:
        Unit(conn).users.update_consent(user_id, 1, now)
    for team_id in teams:
        Unit(conn).subscriptions.add_subscription(user_id, team_id, now)


def team_id(conn: sqlite3.Connection, slug: str = "culture") -> int:
    row = conn.execute("SELECT id FROM teams WHERE slug = ?", (slug,)).fetchone()
    return int(row[0])


def notice(text: str) -> dict[Language, delivery.OutgoingMessage]:
    return delivery.messages_for(
        lambda language: delivery.OutgoingMessage(text=f"[{language}] {text}")
    )


async def announce_to_team(
    bot: BotDriver,
    members: dict[int, Language],
    *,
    text: str = "Spotkanie",
    due_at: datetime | None = None,
    expires_at: datetime | None = None,
    subject: str | None = None,
    kind: str = "broadcast",
) -> int:
    now = bot.clock()

    def inner(conn: sqlite3.Connection) -> int:
        culture = team_id(conn)
        for user_id, language in members.items():
            add_member(conn, user_id, now, language, (culture,))
        return delivery.announce(
            Unit(conn),
            kind=kind,
            audience="team",
            audience_id=culture,
            messages=notice(text),
            now=now,
            due_at=due_at,
            expires_at=expires_at,
            subject=subject,
        )

    return await deps_of(bot).db.run(raw_sql(inner))


async def counts(bot: BotDriver, announcement_id: int) -> delivery.DeliveryCounts:
    return await deps_of(bot).db.run(delivery.get_counts, announcement_id)


async def rows(bot: BotDriver, announcement_id: int) -> dict[int, storage.Delivery]:
    found = await deps_of(bot).db.run(lambda unit: unit.delivery.list_deliveries(announcement_id))
    return {row.chat_id: row for row in found}


def messages_to(bot: BotDriver) -> dict[int, list[Call]]:
    by_chat: dict[int, list[Call]] = {}
    for call in bot.api.sent("sendMessage"):
        assert call.chat_id is not None
        by_chat.setdefault(call.chat_id, []).append(call)
    return by_chat


# --- the basic path -------------------------------------------------------------------


async def test_notice_reaches_every_active_consented_subscriber_in_their_language(
    bot: BotDriver,
) -> None:
    announcement = await announce_to_team(bot, {1: "pl", 2: "en"}, text="a & b")
    now = bot.clock()

    def others(conn: sqlite3.Connection) -> None:
        culture = team_id(conn)
        add_member(conn, 3, now, "pl", (culture,), consented=False)
        add_member(conn, 4, now, "pl", (culture,))
        Unit(conn).users.update_active(4, False)
        add_member(conn, 5, now, "pl", (team_id(conn, "health"),))

    await deps_of(bot).db.run(raw_sql(others))
    report = await tick(bot)

    sent = messages_to(bot)
    assert sorted(sent) == [1, 2]
    assert sent[1][0].text == "[pl] a & b"
    assert sent[2][0].text == "[en] a & b"
    assert sent[1][0].params["parse_mode"] == "HTML"
    assert report.sent == 2
    assert report.fanned_out == 1
    result = await counts(bot, announcement)
    assert (result.sent, result.total) == (2, 2)
    kept = await rows(bot, announcement)
    assert kept[1].message_id is not None
    assert kept[1].attempts == 1

    bot.api.clear()
    again = await tick(bot)
    assert bot.api.sent("sendMessage") == []
    assert again.sent == again.created == 0


async def test_reply_markup_travels_with_the_notice(bot: BotDriver) -> None:
    now = bot.clock()
    markup = {"inline_keyboard": [[{"text": "Tak", "callback_data": "rsvp:yes:1"}]]}

    def inner(conn: sqlite3.Connection) -> int:
        add_member(conn, 7, now, "pl")
        return delivery.announce(
            Unit(conn),
            kind="rsvp-promoted",
            audience="user",
            audience_id=7,
            messages=delivery.messages_for(
                lambda lang: delivery.OutgoingMessage(text=lang, reply_markup=markup)
            ),
            now=now,
        )

    await deps_of(bot).db.run(raw_sql(inner))
    await tick(bot)
    [call] = bot.api.sent("sendMessage")
    assert call.buttons() == [("Tak", "rsvp:yes:1")]


async def test_future_notice_waits_for_its_time(bot: BotDriver) -> None:
    due = bot.clock() + timedelta(hours=1)
    announcement = await announce_to_team(bot, {1: "pl"}, due_at=due)
    report = await tick(bot)
    assert report.fanned_out == 0
    assert bot.api.sent("sendMessage") == []
    bot.clock.advance(minutes=59, seconds=59)
    await tick(bot)
    assert bot.api.sent("sendMessage") == []
    bot.clock.advance(seconds=1)
    await tick(bot)
    assert len(bot.api.sent("sendMessage")) == 1
    assert (await counts(bot, announcement)).sent == 1


async def test_an_unknown_audience_is_cancelled_at_fan_out_and_a_missing_language_refused(
    bot: BotDriver, caplog: pytest.LogCaptureFixture
) -> None:
    now = bot.clock()
    # The business unit cannot see the engine; its fan-out refuses the audience, loudly.
    nobody = await deps_of(bot).db.run(
        lambda unit: delivery.announce(
            unit, kind="x", audience="nobody", audience_id=1, messages=notice("t"), now=now
        )
    )
    await tick(bot)
    found = await deps_of(bot).db.run(lambda unit: unit.delivery.get_announcement(nobody))
    assert found is not None
    assert found.state == "cancelled"
    assert "no resolver for audience 'nobody'" in caplog.text
    only_pl: dict[Language, delivery.OutgoingMessage] = {"pl": delivery.OutgoingMessage(text="t")}
    with pytest.raises(ValueError, match="en"):
        await deps_of(bot).db.run(
            lambda unit: delivery.announce(
                unit, kind="x", audience="user", audience_id=1, messages=only_pl, now=now
            )
        )


# --- the fault matrix -----------------------------------------------------------------


async def test_429_waits_exactly_retry_after_and_returns_the_rest_of_the_batch(
    bot: BotDriver,
) -> None:
    announcement = await announce_to_team(bot, {1: "pl", 2: "pl", 3: "pl"})
    bot.api.fail("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    start = bot.clock()
    report = await tick(bot, one_at_a_time=True)

    assert report.paused_until == start + timedelta(seconds=7)
    assert len(bot.api.sent("sendMessage")) == 1  # nothing after the 429 in that batch
    state = await rows(bot, announcement)
    assert {row.state for row in state.values()} == {"pending"}
    assert all(row.attempts == 0 for row in state.values())
    assert state[1].next_attempt_at == start + timedelta(seconds=7)

    bot.clock.advance(seconds=6.999)
    await tick(bot)
    assert len(bot.api.sent("sendMessage")) == 1
    bot.clock.advance(seconds=0.001)
    await tick(bot)
    sent = messages_to(bot)
    assert {chat: len(calls) for chat, calls in sent.items()} == {1: 2, 2: 1, 3: 1}
    assert (await counts(bot, announcement)).sent == 3


async def test_403_blocks_and_deactivates_the_member(bot: BotDriver) -> None:
    announcement = await announce_to_team(bot, {1: "pl", 2: "pl"})
    bot.api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    report = await tick(bot)
    assert (report.blocked, report.sent) == (1, 1)
    state = await rows(bot, announcement)
    assert state[1].state == "blocked"
    assert "blocked by the user" in (state[1].error or "")
    user = await deps_of(bot).db.run(lambda unit: unit.users.get_user(1))
    assert user is not None
    assert not user.active
    # The inactive member is no longer in the audience of the next notice.
    bot.api.clear()
    await announce_to_team(bot, {2: "pl"})
    await tick(bot)
    assert sorted(messages_to(bot)) == [2]


async def test_deactivated_user_is_blocked_too(bot: BotDriver) -> None:
    announcement = await announce_to_team(bot, {1: "pl"})
    bot.api.fail("sendMessage", 403, "Forbidden: user is deactivated")
    await tick(bot)
    assert (await counts(bot, announcement)).blocked == 1


async def test_400_fails_with_the_reason_and_is_not_retried(bot: BotDriver) -> None:
    announcement = await announce_to_team(bot, {1: "pl"})
    bot.api.fail("sendMessage", 400, "Bad Request: can't parse entities")
    await tick(bot)
    state = await rows(bot, announcement)
    assert state[1].state == "failed"
    assert "can't parse entities" in (state[1].error or "").lower()
    bot.clock.advance(days=1)
    await tick(bot)
    assert len(bot.api.sent("sendMessage")) == 1


def raise_on_send(exc: BaseException, times: int = 1) -> object:
    left = [times]

    def hook(call: Call) -> None:
        if call.method == "sendMessage" and left[0] > 0:
            left[0] -= 1
            raise exc

    return hook


def connect_error() -> httpx.ConnectError:
    return httpx.ConnectError("connection refused")


def read_timeout() -> TimedOut:
    try:
        raise httpx.ReadTimeout("read timed out")
    except httpx.ReadTimeout as cause:
        try:
            raise TimedOut from cause
        except TimedOut as exc:
            return exc


def connect_timeout() -> TimedOut:
    try:
        raise httpx.ConnectTimeout("connect timed out")
    except httpx.ConnectTimeout as cause:
        try:
            raise TimedOut from cause
        except TimedOut as exc:
            return exc


@pytest.mark.parametrize("fault", [connect_error, connect_timeout])
async def test_connect_failures_are_retried_with_backoff_then_sent(
    bot: BotDriver, fault: object
) -> None:
    assert callable(fault)
    announcement = await announce_to_team(bot, {1: "pl"})
    bot.api.on_call = raise_on_send(fault(), times=2)  # type: ignore[assignment]
    start = bot.clock()
    report = await tick(bot)
    assert report.retried == 1
    state = await rows(bot, announcement)
    assert state[1].state == "pending"
    assert state[1].attempts == 1
    first_delay = state[1].next_attempt_at - start
    assert first_delay > timedelta(0)

    bot.clock.now = state[1].next_attempt_at
    await tick(bot)
    state = await rows(bot, announcement)
    assert state[1].state == "pending"
    assert state[1].next_attempt_at - bot.clock() > first_delay  # it backs off

    bot.clock.now = state[1].next_attempt_at
    await tick(bot)
    state = await rows(bot, announcement)
    assert state[1].state == "sent"
    assert state[1].attempts == 3
    assert len(bot.api.sent("sendMessage")) == 3


async def test_connect_errors_give_up_after_max_attempts(bot: BotDriver) -> None:
    deps = deps_of(bot)
    announcement = await announce_to_team(bot, {1: "pl"})
    bot.api.on_call = raise_on_send(connect_error(), times=100)  # type: ignore[assignment]
    limited = dataclasses.replace(deps, config=fast(deps.config, max_attempts=3))
    for _ in range(10):
        await dispatch_once(limited, bot.app.bot)
        bot.clock.advance(days=1)
    state = await rows(bot, announcement)
    assert state[1].state == "failed"
    assert state[1].attempts == 3
    assert "gave up after 3" in (state[1].error or "")
    assert len(bot.api.sent("sendMessage")) == 3


async def test_read_timeout_is_unknown_and_never_resent(bot: BotDriver) -> None:
    announcement = await announce_to_team(bot, {1: "pl", 2: "pl"})
    bot.api.on_call = raise_on_send(read_timeout())  # type: ignore[assignment]
    report = await tick(bot)
    assert (report.unknown, report.sent) == (1, 1)
    bot.clock.advance(days=1)
    await tick(bot)
    result = await counts(bot, announcement)
    assert (result.unknown, result.sent) == (1, 1)
    assert len(bot.api.sent("sendMessage")) == 2


async def test_server_error_is_retried(bot: BotDriver) -> None:
    announcement = await announce_to_team(bot, {1: "pl"})
    bot.api.fail("sendMessage", 502, "Bad Gateway")
    await tick(bot)
    state = await rows(bot, announcement)
    assert state[1].state == "pending"
    bot.clock.now = state[1].next_attempt_at
    await tick(bot)
    assert (await counts(bot, announcement)).sent == 1


# --- expiry, cancellation, restarts ---------------------------------------------------


async def test_cancel_pending_cancels_scheduled_and_expires_waiting_copies(
    bot: BotDriver,
) -> None:
    now = bot.clock()
    later = await announce_to_team(
        bot, {1: "pl"}, due_at=now + timedelta(hours=1), subject="meeting:42", kind="reminder"
    )
    other = await announce_to_team(
        bot, {1: "pl"}, due_at=now + timedelta(hours=1), subject="meeting:43", kind="reminder"
    )
    change = await announce_to_team(bot, {1: "pl"}, subject="meeting:42", kind="change")
    bot.api.fail("sendMessage", 429, "Too Many Requests", retry_after=60)
    await tick(bot)  # `change` is fanned out, then waits behind the 429
    cancelled = await deps_of(bot).db.run(
        lambda unit: delivery.cancel_pending(unit, subject="meeting:42", now=bot.clock())
    )
    assert cancelled == 2
    bot.clock.advance(hours=2)
    await tick(bot)
    assert (await counts(bot, change)).expired == 1
    assert (await counts(bot, later)).total == 0
    assert (await counts(bot, other)).sent == 1
    assert [c.chat_id for c in bot.api.sent("sendMessage")] == [1, 1]


async def test_cancel_pending_by_kind_only(bot: BotDriver) -> None:
    now = bot.clock()
    due = now + timedelta(hours=1)
    reminder = await announce_to_team(bot, {1: "pl"}, due_at=due, subject="m:1", kind="reminder")
    notice_id = await announce_to_team(bot, {1: "pl"}, due_at=due, subject="m:1", kind="notice")
    cancelled = await deps_of(bot).db.run(
        lambda unit: delivery.cancel_pending(unit, subject="m:1", now=now, kinds={"reminder"})
    )
    assert cancelled == 1
    bot.clock.advance(hours=1)
    await tick(bot)
    assert (await counts(bot, reminder)).total == 0
    assert (await counts(bot, notice_id)).sent == 1


async def restart(bot: BotDriver) -> BotDriver:
    """Stop the application and build a new one on the same database and clock."""
    config = bot.app.bot_data["config"]
    await stop_driver(bot)
    return await start_driver(config, bot.clock, bot.api)


@pytest.mark.parametrize(
    ("down_until", "expected"),
    [(timedelta(minutes=30), "sent"), (timedelta(hours=1), "expired")],
)
async def test_reminder_missed_while_down_goes_out_late_only_before_the_start(
    bot: BotDriver, down_until: timedelta, expected: str
) -> None:
    now = bot.clock()
    starts = now + timedelta(hours=1)
    reminder = await announce_to_team(
        bot,
        {1: "pl", 2: "en"},
        due_at=now + timedelta(minutes=15),
        expires_at=starts,
        kind="meeting-reminder",
        subject="meeting:1",
    )
    await stop_driver(bot)  # down across the reminder's due time
    bot.clock.advance(seconds=down_until.total_seconds())
    again = await start_driver(bot.app.bot_data["config"], bot.clock, bot.api)
    try:
        await tick(again)
        await tick(again)
        result = await counts(again, reminder)
        sends = len(again.api.sent("sendMessage"))
    finally:
        await stop_driver(again)
    if expected == "sent":
        assert (result.sent, sends) == (2, 2)
    else:
        assert (result.expired, sends) == (2, 0)


async def test_copies_waiting_when_the_meeting_starts_expire(bot: BotDriver) -> None:
    now = bot.clock()
    announcement = await announce_to_team(
        bot, {1: "pl", 2: "pl"}, expires_at=now + timedelta(minutes=1)
    )
    bot.api.fail("sendMessage", 429, "Too Many Requests", retry_after=120)
    await tick(bot, one_at_a_time=True)
    bot.clock.advance(minutes=5)
    report = await tick(bot)
    assert report.expired == 2
    result = await counts(bot, announcement)
    assert (result.expired, result.sent) == (2, 0)


async def test_interrupted_sends_become_unknown_at_start_and_are_never_resent(
    bot: BotDriver,
) -> None:
    announcement = await announce_to_team(bot, {1: "pl", 2: "pl"})
    deps = deps_of(bot)
    now = bot.clock()

    def crash_after_claim(conn: sqlite3.Connection) -> None:
        [due] = Unit(conn).delivery.list_due_announcements(now, 10)
        deps.engine.fan_out(Unit(conn), due, now)
        Unit(conn).delivery.claim_deliveries(now, 1)  # committed `sending`, then the process dies

    await deps.db.run(raw_sql(crash_after_claim))
    again = await restart(bot)
    try:
        await tick(again)
        result = await counts(again, announcement)
        [row] = [r for r in (await rows(again, announcement)).values() if r.state == "unknown"]
    finally:
        await stop_driver(again)
    assert (result.unknown, result.sent) == (1, 1)
    assert [c.chat_id for c in again.api.sent("sendMessage")] == [2]
    assert row.chat_id == 1


async def test_dispatcher_is_the_one_scheduler_job_however_many_reminders(
    config: Config, clock: Clock
) -> None:
    app = build_application(config, request=FakeBotApi(), clock=clock)
    await app.initialize()
    try:
        assert app.post_init is not None
        await app.post_init(app)
        deps = app.bot_data["deps"]
        assert isinstance(deps, Deps)
        now = clock()

        def reminders(conn: sqlite3.Connection) -> None:
            add_member(conn, 1, now, "pl", (team_id(conn),))
            for n in range(500):
                delivery.announce(
                    Unit(conn),
                    kind="meeting-reminder",
                    audience="team",
                    audience_id=team_id(conn),
                    messages=notice(str(n)),
                    now=now,
                    due_at=now + timedelta(hours=1 + n),
                )

        await deps.db.run(raw_sql(reminders))
        assert app.job_queue is not None
        jobs = app.job_queue.jobs()
        # The dispatcher and one job per housekeeping chore, never one per reminder.
        assert sorted(job.name or "" for job in jobs) == [
            "dispatcher",
            "housekeeping:common-words",
            "housekeeping:digests",
            "housekeeping:draft-expiry",
            "housekeeping:publication",
            "housekeeping:retention",
            "housekeeping:wal-checkpoint",
        ]
        [dispatcher] = app.job_queue.get_jobs_by_name("dispatcher")
        trigger = dispatcher.job.trigger
        assert trigger.interval == timedelta(seconds=config.delivery.interval_seconds)
    finally:
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
        await app.shutdown()


# --- idempotent fan-out (property) ------------------------------------------------------

Step = tuple[str, int]
steps = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["subscribe", "unsubscribe"]), st.integers(1, 6)),
        st.tuples(st.just("fan-out"), st.integers(0, 1)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(steps)
def test_fan_out_interleaved_with_subscriptions_gives_one_delivery_per_recipient(
    plan: list[Step],
) -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        migrate(conn)
        engine = build_engine()
        now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
        conn.execute(
            """INSERT INTO teams (slug, kind, name_pl, name_en, description_pl,
               description_en, position) VALUES ('culture', 'sector', 'K', 'C', 'k', 'c', 1)"""
        )
        culture = team_id(conn)
        for user_id in range(1, 7):
            add_member(conn, user_id, now, "pl" if user_id % 2 else "en")
        ids = [
            delivery.announce(
                Unit(conn),
                kind="broadcast",
                audience="team",
                audience_id=culture,
                messages=notice(str(n)),
                now=now,
            )
            for n in range(2)
        ]
        expected: list[set[int]] = [set(), set()]
        for action, value in plan:
            if action == "subscribe":
                Unit(conn).subscriptions.add_subscription(value, culture, now)
            elif action == "unsubscribe":
                Unit(conn).subscriptions.delete_subscription(value, culture)
            else:
                announcement = Unit(conn).delivery.get_announcement(ids[value])
                assert announcement is not None
                engine.fan_out(Unit(conn), announcement, now)
                expected[value] |= set(Unit(conn).subscriptions.list_subscriber_ids(culture))
        for announcement_id, chats in zip(ids, expected, strict=True):
            found = [row.chat_id for row in Unit(conn).delivery.list_deliveries(announcement_id)]
            assert sorted(found) == sorted(chats)  # one each, nobody else
            languages = {
                row.chat_id: row.language
                for row in Unit(conn).delivery.list_deliveries(announcement_id)
            }
            assert all(languages[chat] == ("pl" if chat % 2 else "en") for chat in chats)
    finally:
        conn.close()


# --- more of the fault matrix, the pace, overlapping runs, shutdown ------------------------


async def test_retry_after_as_a_timedelta_is_honoured_too(
    bot: BotDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PTB_TIMEDELTA=true is how PTB 22 opts into its next major's timedelta retry_after.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    announcement = await announce_to_team(bot, {1: "pl"})
    bot.api.fail("sendMessage", 429, "Too Many Requests", retry_after=3)
    report = await tick(bot)
    assert report.paused_until == bot.clock() + timedelta(seconds=3)
    bot.clock.advance(seconds=3)
    await tick(bot)
    assert (await counts(bot, announcement)).sent == 1


async def test_group_migrated_to_supergroup_is_resent_once_under_the_new_id(
    bot: BotDriver,
) -> None:
    announcement = await announce_to_team(bot, {1: "pl"})
    bot.api.fail("sendMessage", 400, "Bad Request: group chat was upgraded", migrate_to_chat_id=-99)
    await tick(bot)
    state = await rows(bot, announcement)
    assert state[-99].state == "sent"
    assert [call.chat_id for call in bot.api.sent("sendMessage")] == [1, -99]


async def test_an_unexpected_error_in_the_send_is_unknown_not_resent(bot: BotDriver) -> None:
    announcement = await announce_to_team(bot, {1: "pl"})
    bot.api.on_call = raise_on_send(RuntimeError("boom"))  # type: ignore[assignment]
    await tick(bot)
    bot.clock.advance(days=1)
    await tick(bot)
    assert (await counts(bot, announcement)).unknown == 1
    assert len(bot.api.sent("sendMessage")) == 1


async def test_sends_keep_the_configured_pace(bot: BotDriver) -> None:
    await announce_to_team(bot, dict.fromkeys(range(1, 11), "pl"))
    deps = deps_of(bot)
    paced = dataclasses.replace(deps, config=fast(deps.config, messages_per_second=40))
    times: list[float] = []
    bot.api.on_call = lambda call: times.append(time.monotonic())
    await dispatch_once(paced, bot.app.bot)
    # Ten sends at 40 msg/s: nine intervals of 25 ms between the first and the last.
    assert len(bot.api.sent("sendMessage")) == len(times) == 10
    # The schedule is fixed (a late slot is made up by the next), so only the span is exact.
    assert times[-1] - times[0] >= 9 / 40 * 0.95
    # No burst: a late slot is made up at most once, so any four consecutive sends span at
    # least two intervals.
    spans = [later - earlier for earlier, later in zip(times[:-3], times[3:], strict=True)]
    assert min(spans) >= 2 / 40 * 0.9


async def test_an_overlapping_run_returns_at_once(bot: BotDriver) -> None:
    await announce_to_team(bot, dict.fromkeys(range(1, 6), "pl"))
    deps = deps_of(bot)
    paced = dataclasses.replace(deps, config=fast(deps.config, messages_per_second=50))
    first = asyncio.create_task(dispatch_once(paced, bot.app.bot))
    await asyncio.sleep(0.02)
    second = await dispatch_once(paced, bot.app.bot)
    report = await first
    assert second.busy
    assert second.sent == 0
    assert report.sent == 5
    assert len(bot.api.sent("sendMessage")) == 5


async def test_shutdown_mid_batch_counts_in_flight_unknown_and_returns_the_rest(
    bot: BotDriver,
) -> None:
    announcement = await announce_to_team(bot, dict.fromkeys(range(1, 9), "pl"))
    deps = deps_of(bot)
    paced = dataclasses.replace(deps, config=fast(deps.config, messages_per_second=20))
    run = asyncio.create_task(dispatch_once(paced, bot.app.bot))
    await asyncio.sleep(0.12)  # a few sends out, the rest of the claim not started
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    state = await rows(bot, announcement)
    sent_now = {call.chat_id for call in bot.api.sent("sendMessage")}
    assert {chat for chat, row in state.items() if row.state == "sent"} == sent_now
    waiting = [row for row in state.values() if row.state == "pending"]
    assert waiting
    assert all(row.attempts == 0 for row in waiting)
    assert not [row for row in state.values() if row.state == "sending"]
    await tick(bot)
    received = [call.chat_id for call in bot.api.sent("sendMessage")]
    assert len(received) == len(set(received))
    final = await counts(bot, announcement)
    assert final.sent + final.unknown == 8


@dataclasses.dataclass
class SlowApi(FakeBotApi):
    """Answers sendMessage after `delay` seconds and notes when each call began and ended."""

    delay: float = 0.05
    spans: list[tuple[int, float, float]] = dataclasses.field(default_factory=list)

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        began = time.monotonic()
        answer = await super().do_request(url, method, *args, **kwargs)
        call = self.calls[-1]
        if call.method == "sendMessage":
            await asyncio.sleep(self.delay)
            self.spans.append((call.chat_id or 0, began, time.monotonic()))
        return answer


async def test_sends_overlap_across_chats_but_never_within_one(
    config: Config, clock: Clock
) -> None:
    api = SlowApi()
    bot = await start_driver(config, clock, api)
    try:
        first = await announce_to_team(bot, dict.fromkeys(range(1, 5), "pl"), text="first")
        second = await announce_to_team(bot, dict.fromkeys(range(1, 5), "pl"), text="second")
        report = await tick(bot)
        assert report.sent == 8
        for chat in range(1, 5):
            spans = sorted((b, e) for c, b, e in api.spans if c == chat)
            assert len(spans) == 2
            assert spans[1][0] >= spans[0][1]  # the second began after the first was answered
            texts = [c.text for c in api.sent("sendMessage") if c.chat_id == chat]
            assert texts == ["[pl] first", "[pl] second"]
        # Different chats did overlap: the pace is not bound to the network's latency.
        began = sorted(b for _, b, _ in api.spans)
        ended = sorted(e for _, _, e in api.spans)
        assert began[1] < ended[0]
        assert (await counts(bot, first)).sent == (await counts(bot, second)).sent == 4
    finally:
        await stop_driver(bot)


async def test_a_broken_audience_is_cancelled_loudly_and_holds_up_nothing(
    bot: BotDriver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(conn: sqlite3.Connection, audience_id: int) -> list[tuple[int, Language]]:
        raise RuntimeError("resolver bug")

    monkeypatch.setitem(deps_of(bot).engine.audiences, "broken", (broken,))
    now = bot.clock()
    bad = await deps_of(bot).db.run(
        lambda unit: delivery.announce(
            unit, kind="x", audience="broken", audience_id=1, messages=notice("t"), now=now
        )
    )
    good = await announce_to_team(bot, {1: "pl"})
    report = await tick(bot)
    assert report.sent == 1
    assert (await counts(bot, good)).sent == 1
    announcement = await deps_of(bot).db.run(lambda unit: unit.delivery.get_announcement(bad))
    assert announcement is not None
    assert announcement.state == "cancelled"
    assert "cannot be fanned out" in caplog.text


async def test_retry_delays_double_from_retry_seconds_up_to_retry_max(bot: BotDriver) -> None:
    deps = deps_of(bot)
    tuned = dataclasses.replace(
        deps,
        config=fast(deps.config, retry_seconds=10.0, retry_max_seconds=25.0, max_attempts=10),
    )
    announcement = await announce_to_team(bot, {1: "pl"})
    bot.api.on_call = raise_on_send(connect_error(), times=4)  # type: ignore[assignment]
    delays = []
    for _ in range(4):
        await dispatch_once(tuned, bot.app.bot)
        [row] = (await rows(bot, announcement)).values()
        delays.append((row.next_attempt_at - bot.clock()).total_seconds())
        bot.clock.now = row.next_attempt_at
    assert delays == [10.0, 20.0, 25.0, 25.0]
    await dispatch_once(tuned, bot.app.bot)
    assert (await counts(bot, announcement)).sent == 1


async def test_nothing_goes_to_someone_who_left_between_fan_out_and_send(
    bot: BotDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A group chat (issue 5) has no user row and is still reached.
    monkeypatch.setitem(
        deps_of(bot).engine.audiences, "group", (lambda conn, chat: [(chat, "pl")],)
    )
    now = bot.clock()
    announcement = await announce_to_team(bot, {1: "pl", 2: "pl", 3: "pl", 4: "en"})
    group = await deps_of(bot).db.run(
        lambda unit: delivery.announce(
            unit, kind="x", audience="group", audience_id=-100, messages=notice("g"), now=now
        )
    )
    bot.api.fail("sendMessage", 429, "Too Many Requests", retry_after=5)
    await tick(bot, one_at_a_time=True)  # fanned out; everything waits behind the 429

    def leave(conn: sqlite3.Connection) -> None:
        Unit(conn).users.update_active(2, False)  # blocked the bot meanwhile
        conn.execute("DELETE FROM users WHERE id = 3")  # erased (/forget) meanwhile
        conn.execute("UPDATE users SET consent_at = NULL, consent_version = NULL WHERE id = 4")

    await deps_of(bot).db.run(raw_sql(leave))
    bot.api.clear()
    bot.clock.advance(seconds=5)
    await tick(bot)
    assert sorted(messages_to(bot)) == [-100, 1]
    state = await rows(bot, announcement)
    assert {chat: row.state for chat, row in state.items()} == {
        1: "sent",
        2: "blocked",
        3: "failed",
        4: "failed",
    }
    assert (await counts(bot, group)).sent == 1


async def test_forget_chat_erases_its_deliveries_and_nothing_is_sent_after(
    bot: BotDriver,
) -> None:
    announcement = await announce_to_team(bot, {1: "pl", 2: "pl"})
    bot.api.fail("sendMessage", 429, "Too Many Requests", retry_after=5)
    await tick(bot, one_at_a_time=True)
    erased = await deps_of(bot).db.run(lambda unit: delivery.forget_chat(unit, 2))
    assert erased == 1
    bot.api.clear()
    bot.clock.advance(seconds=5)
    await tick(bot)
    assert sorted(messages_to(bot)) == [1]
    assert sorted(await rows(bot, announcement)) == [1]


async def test_a_stopping_application_ends_the_run_leaving_nothing_unknown(
    bot: BotDriver,
) -> None:
    announcement = await announce_to_team(bot, dict.fromkeys(range(1, 41), "pl"))
    deps = deps_of(bot)
    paced = dataclasses.replace(deps, config=fast(deps.config, messages_per_second=100))
    stop = asyncio.Event()
    bot.api.on_call = lambda call: stop.set() if len(bot.api.sent("sendMessage")) >= 5 else None
    report = await dispatch_once(paced, bot.app.bot, stopping=stop.is_set)
    state = await rows(bot, announcement)
    sent = {chat for chat, row in state.items() if row.state == "sent"}
    assert sent == {call.chat_id for call in bot.api.sent("sendMessage")}
    assert 5 <= len(sent) < 40
    assert report.sent == len(sent)
    waiting = [row for row in state.values() if row.state != "sent"]
    assert {row.state for row in waiting} == {"pending"}
    assert all(row.attempts == 0 for row in waiting)
    await tick(bot)
    assert (await counts(bot, announcement)).sent == 40
    assert len(bot.api.sent("sendMessage")) == 40
