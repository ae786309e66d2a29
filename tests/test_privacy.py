"""Privacy: /privacy and consent versions, /mydata (two-user export), /forget, retention."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config
from bot.services import delivery, retention
from bot.services import privacy as service
from storage.database import Database
from storage.unit import Unit
from tests.conftest import ADMIN_ID, start_driver, stop_driver
from tests.harness import BotDriver, Clock, TgUser, texts_of
from tests.meeting_factory import add_meeting, db_of, files_driver, make_moderator, uploaded
from tests.sql import raw_sql
from tests.test_postulates_helpers import TITLE, represent, submit, team_id

# Column names that hold a person's Telegram id (their private chat has the same id).
PERSONAL_COLUMN = re.compile(r"(^|_)(user|chat|author|actor|member)_id$|_by$")
# Personal columns the name pattern cannot tell.
PERSONAL_EXTRA = {
    "users.id",
    "announcements.audience_id",
    "postulate_supports.supporter_key",
    "audit_log.target",  # 'user:<id>'
}


@pytest.fixture
async def bot(config: Config, clock: Clock) -> AsyncIterator[BotDriver]:
    async for driver in files_driver(config, clock):
        yield driver


def with_privacy(config: Config, **values: Any) -> Config:
    return config.model_copy(update={"privacy": config.privacy.model_copy(update=values)})


async def query(bot: BotDriver, sql: str, *params: object) -> list[tuple[Any, ...]]:
    def read(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in conn.execute(sql, params).fetchall()]

    return await db_of(bot).run(raw_sql(read))


async def announce(
    bot: BotDriver, *, kind: str, audience: str, audience_id: int, due_in: timedelta
) -> int:
    """Queue a notice the way features do (text says its kind)."""
    now = bot.clock()

    def add(conn: sqlite3.Connection) -> int:
        return delivery.announce(
            Unit(conn),
            kind=kind,
            audience=audience,
            audience_id=audience_id,
            messages=delivery.messages_for(lambda lang: delivery.OutgoingMessage(text=kind)),
            now=now,
            due_at=now + due_in,
        )

    return await db_of(bot).run(raw_sql(add))


async def fan_out(bot: BotDriver, announcement_id: int) -> None:
    """Turn a due announcement into pending copies without sending them."""
    now = bot.clock()

    def run(conn: sqlite3.Connection) -> None:
        found = Unit(conn).delivery.get_announcement(announcement_id)
        assert found is not None
        engine.fan_out(Unit(conn), found, now)

    engine = bot.app.bot_data["engine"]
    await db_of(bot).run(raw_sql(run))


def received(bot: BotDriver, user: TgUser, text: str) -> bool:
    return any(c.chat_id == user.id and text in c.text for c in bot.api.sent("sendMessage"))


async def going(bot: BotDriver, user: TgUser, meeting: int) -> None:
    """The member opens the meeting's card and presses "going"."""
    await bot.send(user, f"/meeting {meeting}")
    await bot.press(user, bot.label(user, "meetings.card-going"))


async def rich_member(bot: BotDriver, user: TgUser, organisation: str) -> str:
    """A member with data in every feature: subscription, organisation, RSVP, postulate."""
    await bot.onboard(user)
    await bot.send(user, "/start sector-culture")
    await represent(bot, user, organisation)
    meeting = await add_meeting(bot, title=f"Spotkanie {organisation}")
    await going(bot, user, meeting)
    return await submit(bot, user, title=f"{TITLE} {organisation}")


def export_of(bot: BotDriver) -> dict[str, Any]:
    [(method, filename, data)] = uploaded(bot)[-1:]
    assert method == "sendDocument"
    assert filename.endswith(".json")
    document: dict[str, Any] = json.loads(data)
    return document


def walk(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)
    else:
        yield value


# --- /privacy and consent ------------------------------------------------------------------


async def test_privacy_notice_names_the_controller_and_my_consent(
    bot: BotDriver, anna: TgUser, config: Config
) -> None:
    calls = await bot.send(anna, "/privacy")
    shown = texts_of(calls)
    assert config.privacy.controller in shown
    assert config.privacy.contact in shown
    assert "(wersja 1)" in shown
    assert "/mydata" in shown
    assert "/forget" in shown
    assert "180 dniach" in shown
    assert ("✅ Zgadzam się", "consent:yes") in calls[-1].buttons()

    await bot.onboard(anna)
    calls = await bot.send(anna, "/privacy")
    assert "Zgoda na wersję 1 tej informacji wyrażona 2026-11-26 11:00." in texts_of(calls)
    assert calls[-1].buttons() == []
    # In a group the notice is public, but no button with a personal effect.
    calls = await bot.send(TgUser(id=1003), "/privacy", chat_id=-100500)
    assert config.privacy.controller in texts_of(calls)
    assert calls[-1].buttons() == []


async def test_consent_history_and_a_new_notice_asks_again(
    config: Config, clock: Clock, anna: TgUser
) -> None:
    first = await start_driver(config, clock)
    try:
        await first.send(anna, "/start sector-culture")
        # A double tap on the consent button: the second press is not a new consent.
        await first.double_press(anna, "✅ Zgadzam się")
        clock.advance(days=1)
    finally:
        await stop_driver(first)

    clock.advance(days=30)
    bot = await start_driver(with_privacy(config, notice_version=2), clock)
    try:
        calls = await bot.send(anna, "/sectors")
        assert "zgodę" in texts_of(calls)
        assert "/start" in texts_of(calls)
        calls = await bot.send(anna, "/start")
        assert "Informacja o prywatności się zmieniła</b> (obecnie wersja 2)" in texts_of(calls)
        assert "Dzień dobry" not in texts_of(calls)
        assert calls[-1].buttons() == [("✅ Zgadzam się", "consent:yes")]
        calls = await bot.send(anna, "/privacy")
        assert "Zgoda na wersję 1" in texts_of(calls)
        assert ("✅ Zgadzam się", "consent:yes") in calls[-1].buttons()

        await bot.press(anna, "✅ Zgadzam się")
        history = await query(
            bot, "SELECT version, given_at FROM consent_history WHERE user_id = ?", anna.id
        )
        assert [(v, at[:16]) for v, at in history] == [
            (1, "2026-11-26T10:00"),
            (2, "2026-12-27T10:00"),
        ]
        # Subscriptions survived the new notice and work again.
        calls = await bot.send(anna, "/sectors")
        assert "zgodę" not in texts_of(calls)
        assert await query(
            bot, "SELECT count(*) FROM subscriptions WHERE user_id = ?", anna.id
        ) == [(1,)]
    finally:
        await stop_driver(bot)


# --- /mydata ------------------------------------------------------------------------------


async def audit_grant(bot: BotDriver, user: TgUser) -> None:
    """An admin's role grant to `user` in the audit log."""

    def add(conn: sqlite3.Connection) -> None:
        conn.execute(
            """INSERT INTO audit_log (at, actor_id, action, target, details)
               VALUES ('2026-01-01T00:00:00.000000+00:00', ?, 'role.grant', ?,
                       '{"sector": "education"}')""",
            (ADMIN_ID, f"user:{user.id}"),
        )

    await db_of(bot).run(raw_sql(add))


async def test_mydata_holds_everything_about_me_and_nothing_about_others(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await rich_member(bot, anna, "Fundacja Anny")
    johns = await rich_member(bot, john, "Stowarzyszenie Johna")
    # Anna co-signs John's postulate; John's organisation and id must not show in her file.
    await bot.send(anna, f"/support {johns}")
    await make_moderator(bot, anna.id, "education")
    await audit_grant(bot, anna)
    broadcast = await announce(
        bot,
        kind="team-news",
        audience="team",
        audience_id=await team_id(bot, "culture"),
        due_in=timedelta(0),
    )
    await bot.tick()
    await announce(
        bot, kind="your-reminder", audience="user", audience_id=anna.id, due_in=timedelta(days=1)
    )
    assert broadcast

    calls = await bot.send(anna, "/mydata")
    [document] = [c for c in calls if c.method == "sendDocument"]
    assert document.chat_id == anna.id
    data = export_of(bot)
    assert data["user_id"] == anna.id
    assert data["profile"]["consent_version"] == 1
    assert [c["version"] for c in data["consents"]] == [1]
    assert data["organisation"]["name"] == "Fundacja Anny"
    assert [s["team"] for s in data["subscriptions"]] == ["culture"]
    assert data["roles"] == {
        "admin": False,
        "moderator_of": [{"team": "education", "granted_at": "2026-01-01T00:00:00.000000+00:00"}],
    }
    assert [r["answer"] for r in data["rsvps"]] == ["going"]
    [mine] = data["postulates"]["postulates"]
    assert mine["title"] == f"{TITLE} Fundacja Anny"
    assert [h["action"] for h in data["postulates"]["history"]] == ["submit"]
    assert [h["by"] for h in data["postulates"]["history"]] == ["me"]
    assert [s["reference"] for s in data["postulates"]["supports"]] == [johns]
    copies = {d["kind"]: d for d in data["deliveries"]["copies"]}
    assert copies["team-news"]["text"] == "team-news"
    assert copies["team-news"]["state"] == "sent"
    assert [a["kind"] for a in data["deliveries"]["queued_for_me"]] == ["your-reminder"]

    [about_me] = data["moderation_log"]["audit_about_me"]
    assert about_me["action"] == "role.grant"

    values = list(walk(data))
    assert john.id not in values
    assert ADMIN_ID not in values  # who granted her role is the admin's record, not hers
    assert not [v for v in values if isinstance(v, str) and ("Johna" in v or str(john.id) in v)]

    # John's file is his own.
    await bot.send(john, "/mydata")
    other = export_of(bot)
    assert other["organisation"]["name"] == "Stowarzyszenie Johna"
    assert anna.id not in list(walk(other))
    assert "Fundacja Anny" not in json.dumps(other, ensure_ascii=False)


async def test_mydata_never_holds_the_token(bot: BotDriver, anna: TgUser, config: Config) -> None:
    await bot.onboard(anna)
    notice = await announce(
        bot, kind="failing", audience="user", audience_id=anna.id, due_in=timedelta(0)
    )
    assert config.token is not None
    token = config.token.get_secret_value()
    await fan_out(bot, notice)

    def fail(conn: sqlite3.Connection) -> None:
        # What a 5xx page quoting the request URL would leave (see test_resilience_kill).
        conn.execute(
            "UPDATE deliveries SET state = 'failed', error = ?", (f"Bad Gateway at /bot{token}/x",)
        )

    await db_of(bot).run(raw_sql(fail))
    await bot.send(anna, "/mydata")
    [(_, _, data)] = uploaded(bot)
    assert token.partition(":")[2] not in data.decode()
    assert export_of(bot)["deliveries"]["copies"][0]["error"] == "Bad Gateway at /bot[redacted]/x"


async def test_mydata_only_in_private_and_for_someone_known(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    calls = await bot.send(anna, "/mydata", chat_id=-100500)
    assert not [c for c in calls if c.method == "sendDocument"]
    assert "prywatnej" in texts_of(calls)
    stranger = TgUser(id=4242)
    calls = await bot.send(stranger, "/mydata")
    assert not [c for c in calls if c.method == "sendDocument"]
    assert "Nie mam zapisanych żadnych Twoich danych." in texts_of(calls)
    assert await query(bot, "SELECT count(*) FROM users WHERE id = ?", stranger.id) == [(0,)]


# --- /forget ------------------------------------------------------------------------------


async def personal_cells(bot: BotDriver, user_id: int) -> list[str]:
    """Every table.column (outside the kept ones) whose value names the user."""
    kept = set(service.KEPT)

    def scan(conn: sqlite3.Connection) -> list[str]:
        found = []
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
                " AND name NOT LIKE '%fts%'"
            )
        ]
        for table in tables:
            for column in [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]:
                if f"{table}.{column}" in kept:
                    continue
                hit = conn.execute(
                    f"""SELECT 1 FROM {table} WHERE {column} = ?
                        OR (typeof({column}) = 'text' AND ({column} = ? OR {column} = ?))""",
                    (user_id, f"u{user_id}", f"user:{user_id}"),
                ).fetchone()
                if hit is not None:
                    found.append(f"{table}.{column}")
        return found

    return await db_of(bot).run(raw_sql(scan))


async def personal_support(bot: BotDriver, user: TgUser, reference: str) -> None:
    """A co-signature without an organisation (the storage allows it; keyed 'u<id>')."""

    def add(conn: sqlite3.Connection) -> None:
        conn.execute(
            """INSERT INTO postulate_supports (postulate_id, user_id, supporter_key, created_at)
               SELECT id, ?, ?, created_at FROM postulates WHERE reference = ?""",
            (user.id, f"u{user.id}", reference),
        )

    await db_of(bot).run(raw_sql(add))


async def test_forget_erases_in_one_go_and_keeps_the_postulate_anonymous(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    reference = await rich_member(bot, anna, "Fundacja Anny")
    johns = await rich_member(bot, john, "Stowarzyszenie Johna")
    await bot.send(anna, f"/support {johns}")
    await personal_support(bot, anna, johns)
    await make_moderator(bot, anna.id, "education")
    await audit_grant(bot, anna)
    await announce(
        bot,
        kind="team-news",
        audience="team",
        audience_id=await team_id(bot, "culture"),
        due_in=timedelta(0),
    )
    await bot.tick()
    assert await personal_cells(bot, anna.id)

    bot.app.user_data[anna.id]["meeting-draft"] = "Spotkanie branżowe Anny"  # held in memory
    calls = await bot.send(anna, "/forget")
    assert "Usunąć Twoje dane?" in texts_of(calls)
    assert calls[-1].buttons() == [
        ("🗑 Tak, usuń moje dane", "priv:forget:yes"),
        ("Anuluj", "priv:forget:no"),
    ]
    calls = await bot.press(anna, "🗑 Tak, usuń moje dane")
    shown = texts_of(calls)
    assert "Twoje dane zostały usunięte" in shown
    assert "1 postulat zostaje w publicznym rejestrze jako anonimowy." in shown
    assert "w drodze" not in shown

    assert await personal_cells(bot, anna.id) == []
    assert anna.id not in bot.app.user_data
    assert await query(bot, "SELECT count(*) FROM users WHERE id = ?", anna.id) == [(0,)]
    [(author, title, supports)] = await query(
        bot,
        """SELECT author_id, title, (SELECT count(*) FROM postulate_supports s
               WHERE s.postulate_id = p.id) FROM postulates p WHERE reference = ?""",
        reference,
    )
    assert (author, title, supports) == (None, f"{TITLE} Fundacja Anny", 0)
    # Her co-signatures of John's postulate still count, without her.
    [(count,)] = await query(
        bot,
        """SELECT count(*) FROM postulate_supports s JOIN postulates p ON p.id = s.postulate_id
           WHERE p.reference = ?""",
        johns,
    )
    assert count == 2
    # The organisation stays (other representatives may use it); John is untouched.
    assert await query(bot, "SELECT name FROM organisations ORDER BY id") == [
        ("Fundacja Anny",),
        ("Stowarzyszenie Johna",),
    ]
    bot.api.clear()
    await bot.send(john, "/mydata")
    assert export_of(bot)["subscriptions"][0]["team"] == "culture"
    # Coming back starts from scratch.
    calls = await bot.send(anna, "/start")
    assert "Dzień dobry" in texts_of(calls)


async def test_forget_racing_a_pending_broadcast_and_a_queued_reminder(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    for person in (anna, john):
        await bot.onboard(person)
        await bot.send(person, "/start sector-culture")
    culture = await team_id(bot, "culture")
    meeting = await add_meeting(bot, starts_in=timedelta(days=3))
    broadcast = await announce(
        bot, kind="broadcast", audience="team", audience_id=culture, due_in=timedelta(0)
    )
    reminder = await announce(
        bot,
        kind="meeting-reminder",
        audience="meeting",
        audience_id=meeting,
        due_in=timedelta(days=2),
    )
    personal = await announce(
        bot,
        kind="postulate-status",
        audience="user",
        audience_id=anna.id,
        due_in=timedelta(hours=1),
    )
    await fan_out(bot, broadcast)  # copies for both are pending when Anna forgets
    await bot.send(anna, "/forget")
    await bot.press(anna, "🗑 Tak, usuń moje dane")
    bot.api.clear()

    await bot.tick()
    assert received(bot, john, "broadcast")
    assert not [c for c in bot.api.sent() if c.chat_id == anna.id]
    counts = await db_of(bot).run(delivery.get_counts, broadcast)
    assert (counts.sent, counts.expired, counts.total) == (1, 1, 2)

    # The reminder queued before /forget and due after it reaches John only.
    bot.api.clear()
    bot.clock.advance(days=2, minutes=1)
    await bot.tick()
    assert received(bot, john, "meeting-reminder")
    assert not [c for c in bot.api.sent() if c.chat_id == anna.id]
    assert await query(bot, "SELECT state FROM announcements WHERE id = ?", personal) == [
        ("cancelled",)
    ]
    assert await query(bot, "SELECT state FROM announcements WHERE id = ?", reminder) == [
        ("fanned_out",)
    ]


async def test_a_copy_already_being_sent_is_reported_as_not_recallable(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna)
    await announce(bot, kind="status", audience="user", audience_id=anna.id, due_in=timedelta(0))
    now = bot.clock()
    engine = bot.app.bot_data["engine"]

    def claim(conn: sqlite3.Connection) -> int:
        for found in Unit(conn).delivery.list_due_announcements(now, 10):
            engine.fan_out(Unit(conn), found, now)
        return len(Unit(conn).delivery.claim_deliveries(now, 10).batch)

    assert await db_of(bot).run(raw_sql(claim)) == 1  # committed 'sending': the dispatcher has it
    await bot.send(anna, "/forget")
    calls = await bot.press(anna, "🗑 Tak, usuń moje dane")
    assert "1 powiadomienie było już w drodze i nie da się go cofnąć." in texts_of(calls)
    assert await personal_cells(bot, anna.id) == []


async def test_forget_gives_my_place_to_the_first_waiting(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    for person in (anna, john):
        await bot.onboard(person)
    meeting = await add_meeting(bot, capacity=1, title="Budżet obywatelski")
    await going(bot, anna, meeting)
    await going(bot, john, meeting)
    assert await query(bot, "SELECT waitlist_position FROM rsvps WHERE user_id = ?", john.id) == [
        (1,)
    ]
    await bot.send(anna, "/forget")
    await bot.press(anna, "🗑 Tak, usuń moje dane")
    assert await query(bot, "SELECT user_id, waitlist_position FROM rsvps") == [(john.id, None)]
    bot.api.clear()
    await bot.tick()
    assert received(bot, john, "Budżet obywatelski")


# --- retention ----------------------------------------------------------------------------


async def test_retention_purges_long_inactive_members_and_old_delivery_rows(
    bot: BotDriver, anna: TgUser, john: TgUser, clock: Clock
) -> None:
    walker = TgUser(id=1004)
    for person in (anna, john, walker):
        await bot.onboard(person)
        await bot.send(person, "/start sector-culture")
    await submit(bot, anna)
    await announce(
        bot,
        kind="old-news",
        audience="team",
        audience_id=await team_id(bot, "culture"),
        due_in=timedelta(0),
    )
    await bot.tick()  # sent now, and retention's first run of the day
    await bot.my_chat_member(anna, "member", "kicked")
    await bot.my_chat_member(walker, "member", "kicked")

    clock.advance(hours=1)
    await bot.tick()  # the same day: retention does not run again, inactivity not seen yet
    assert await query(bot, "SELECT count(*) FROM user_inactivity") == [(0,)]
    clock.advance(days=1)
    await bot.tick()  # the next day's run starts counting their inactivity
    assert await query(bot, "SELECT user_id FROM user_inactivity ORDER BY user_id") == [
        (anna.id,),
        (walker.id,),
    ]

    clock.advance(days=100)
    await bot.my_chat_member(walker, "kicked", "member")  # back: the count starts again
    await bot.tick()
    assert await query(bot, "SELECT count(*) FROM deliveries") == [(0,)]  # > 90 days old
    clock.advance(days=79)
    await bot.tick()
    assert await query(bot, "SELECT count(*) FROM users WHERE id = ?", anna.id) == [(1,)]
    clock.advance(days=2)  # 181 days after the first run that saw her inactive
    await bot.tick()
    assert await query(bot, "SELECT id FROM users ORDER BY id") == [
        (john.id,),
        (walker.id,),
    ]
    assert await query(bot, "SELECT author_id FROM postulates") == [(None,)]


async def test_retention_keeps_waiting_copies_and_runs_once_a_day(
    bot: BotDriver, anna: TgUser, clock: Clock
) -> None:
    await bot.onboard(anna)
    announcement = await announce(
        bot, kind="late", audience="user", audience_id=anna.id, due_in=timedelta(days=200)
    )
    deps = bot.app.bot_data["deps"]
    first = await retention.retain_if_due(deps.db, deps.config, clock(), force=True)
    assert first is not None
    assert first.ran
    assert await retention.retain_if_due(deps.db, deps.config, clock()) is None
    clock.advance(days=199)
    await fan_out(bot, announcement)  # not due yet, but pending rows must survive pruning
    clock.advance(days=100)

    def age(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE deliveries SET updated_at = '2000-01-01T00:00:00.000000+00:00'")

    await db_of(bot).run(raw_sql(age))
    outcome = await retention.retain_if_due(deps.db, deps.config, clock())
    assert outcome is not None
    assert (outcome.ran, outcome.pruned) == (True, 0)
    assert await query(bot, "SELECT state FROM deliveries") == [("pending",)]


# --- the schema: every column naming a person is exported and erased -----------------------


async def test_every_user_column_is_exported_and_erased(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "schema.sqlite3")
    try:

        def columns(
            conn: sqlite3.Connection,
        ) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
            rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
            listed = [(row[0], row[1] or "") for row in rows]
            virtual = [name for name, sql in listed if sql.startswith("CREATE VIRTUAL")]
            # A full-text index and its shadow tables copy text columns, never user ids.
            tables = [
                name
                for name, _ in listed
                if not name.startswith("sqlite")
                and not any(name == v or name.startswith(f"{v}_") for v in virtual)
            ]
            found = {
                table: [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
                for table in tables
            }
            to_users = [
                (f"{table}.{fk[3]}", fk[6])
                for table in tables
                for fk in conn.execute(f"PRAGMA foreign_key_list({table})")
                if fk[2] == "users"
            ]
            return found, to_users

        tables, to_users = await db.run(raw_sql(columns))
    finally:
        await db.close()
    assert {"users", "deliveries"} <= set(tables)
    # Deleting the user row must not be refused by a reference (that would fail /forget).
    assert [c for c, action in to_users if action not in ("CASCADE", "SET NULL")] == []
    cascade = {column for column, action in to_users if action == "CASCADE"}
    assert "subscriptions.user_id" in cascade
    personal = {
        f"{table}.{column}"
        for table, names in tables.items()
        for column in names
        if PERSONAL_COLUMN.search(column) or f"{table}.{column}" in PERSONAL_EXTRA
    }
    assert {"subscriptions.user_id", "deliveries.chat_id", "postulates.author_id"} <= personal
    exported = {column for section in service.SECTIONS for column in section.covers}
    not_personal = set(service.NOT_PERSONAL)
    erased = set(service.ERASED) | cascade | set(service.KEPT)
    assert sorted(personal - exported - not_personal) == [], "add a Section to bot.services.privacy"
    assert sorted(personal - erased - not_personal) == [], (
        "erase it in privacy.erase_member (or ON DELETE CASCADE), or say in KEPT why not"
    )
    # The lists name real columns (a renamed column must not stay "covered"); a table not in
    # the schema is a feature not merged yet, and its section is left out of the export.
    everything = {f"{t}.{c}" for t, names in tables.items() for c in names}
    declared = exported | set(service.ERASED) | set(service.KEPT) | not_personal
    assert sorted(c for c in declared - everything if c.split(".")[0] in tables) == []


async def test_a_failing_retention_does_not_stop_the_dispatcher(
    bot: BotDriver, anna: TgUser, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot.onboard(anna)

    def broken(*args: object) -> None:
        raise sqlite3.IntegrityError("FOREIGN KEY constraint failed")

    monkeypatch.setattr(retention, "_retain", broken)
    clock.advance(days=3)  # retention is due
    await announce(
        bot, kind="still-sent", audience="user", audience_id=anna.id, due_in=timedelta(0)
    )
    await bot.tick()
    assert received(bot, anna, "still-sent")


async def test_the_connection_overwrites_deleted_content(bot: BotDriver) -> None:
    assert await query(bot, "PRAGMA secure_delete") == [(1,)]


async def test_menu_offers_mydata_and_forget(bot: BotDriver) -> None:
    menus = {
        c.params.get("language_code"): {
            m["command"]: m["description"] for m in c.params["commands"]
        }
        for c in bot.api.sent("setMyCommands")
    }
    assert menus["pl"]["mydata"] == "Plik ze wszystkimi moimi danymi"
    assert menus["en"]["forget"] == "Erase my data"
