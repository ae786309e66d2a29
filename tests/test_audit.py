"""Audit log: entries written in the acting transaction; /audit for admins, CSV export."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Config
from bot.i18n import Texts
from bot.services import audit
from storage.audit import AuditEntry
from storage.database import Database
from storage.unit import Unit
from tests.conftest import ADMIN_ID
from tests.harness import BotDriver, Clock, TgUser, texts_of
from tests.meeting_factory import db_of, files_driver, make_moderator, uploaded
from tests.sql import connection, raw_sql
from tests.test_meetings import MOD, moderator, publish
from tests.test_roles import forward, from_user

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


async def test_record_commits_and_rolls_back_with_the_action() -> None:
    db = await Database.open(":memory:")
    try:

        def ok(conn: sqlite3.Connection) -> None:
            audit.record(
                Unit(conn),
                actor_id=900,
                action="role.grant",
                target="user:1001",
                details={"sector": "ecology", "name": "Zażółć"},
                now=NOW,
            )

        def failing(conn: sqlite3.Connection) -> None:
            audit.record(
                Unit(conn), actor_id=900, action="role.revoke", target="user:1001", now=NOW
            )
            raise RuntimeError("the action failed after recording")

        await db.run(raw_sql(ok))
        with pytest.raises(RuntimeError):
            await db.run(raw_sql(failing))
        entries = await db.run(lambda unit: unit.audit.list_entries(limit=10))
    finally:
        await db.close()
    assert [(e.actor_id, e.action, e.target) for e in entries] == [(900, "role.grant", "user:1001")]
    assert entries[0].details == {"sector": "ecology", "name": "Zażółć"}
    assert entries[0].at == NOW


# ---------------------------------------------------------------- through the application

ADMIN = TgUser(id=ADMIN_ID, language_code="en", first_name="Admin")


@pytest.fixture
async def files_bot(config: Config, clock: Clock) -> AsyncIterator[BotDriver]:
    async for driver in files_driver(config, clock):
        yield driver


async def fill(bot: BotDriver, count: int, **details: object) -> None:
    """`count` entries, one a minute from the test clock's now."""

    def write(conn: sqlite3.Connection) -> None:
        for n in range(1, count + 1):
            audit.record(
                Unit(conn),
                actor_id=ADMIN_ID if n % 2 else 3001,
                action="meeting.edit" if n % 3 else "postulate.review",
                target=f"meeting:{n}",
                details={"n": n, **details},
                now=bot.clock.now + timedelta(minutes=n),
            )

    await db_of(bot).run(raw_sql(write))


def targets(body: str) -> list[int]:
    return [int(n) for n in re.findall(r"meeting no\. (\d+)", body)]


async def test_audit_pages_newest_first(bot: BotDriver) -> None:
    await bot.onboard(ADMIN)
    await make_moderator(bot, 3001, "culture")
    await db_of(bot).run(
        lambda unit: connection(unit).execute("UPDATE moderators SET display_name = '<Ola> & co'")
    )
    await fill(bot, 23)
    calls = await bot.send(ADMIN, "/audit")
    body = calls[-1].text
    assert "entries: 23, page 1 of 3" in body
    assert targets(body) == list(range(23, 13, -1))
    assert "meeting changed" in body
    assert "postulate review decision" in body
    assert "26 Nov 2026, 11:23" in body  # local time (CET) of the newest
    assert "(Polish time)" in body
    assert f'<a href="tg://user?id={ADMIN_ID}">Admin</a>' in body  # the name he started with
    assert '<a href="tg://user?id=3001">&lt;Ola&gt; &amp; co</a>' in body  # the granted name
    assert calls[-1].buttons() == [("›", "audit:page:1"), ("⬇️ CSV", "audit:csv")]

    calls = await bot.press(ADMIN, "›")
    edit = next(c for c in calls if c.method == "editMessageText")
    assert targets(edit.text) == list(range(13, 3, -1))
    assert [d for _, d in edit.buttons()] == ["audit:page:0", "audit:page:2", "audit:csv"]
    calls = await bot.press(ADMIN, "›")
    edit = next(c for c in calls if c.method == "editMessageText")
    assert targets(edit.text) == [3, 2, 1]
    assert [d for _, d in edit.buttons()] == ["audit:page:1", "audit:csv"]
    # A page past the end (a forged button) shows the last page.
    calls = await bot.click(ADMIN, "audit:page:99")
    edit = next(c for c in calls if c.method == "editMessageText")
    assert targets(edit.text) == [3, 2, 1]


async def test_audit_reads_like_a_log_for_people(bot: BotDriver, anna: TgUser) -> None:
    tomasz = TgUser(id=ADMIN_ID, language_code="pl", first_name="Tomasz", username="tomasz")
    await bot.onboard(tomasz)
    await bot.onboard(TgUser(id=anna.id, first_name="Anna", last_name="Kowalska"))
    await bot.send(tomasz, "/grant kultura")
    await forward(bot, tomasz, from_user(anna))
    # The finished /grant's question has no buttons left: a second /grant makes the link.
    await bot.send(tomasz, "/grant kultura")
    await bot.press(tomasz, "🔗 Utwórz link z zaproszeniem")
    body = texts_of(await bot.send(tomasz, "/audit"))
    assert "(czas polski)" in body
    assert "26 lis 2026, 11:00" in body  # 10:00 UTC in Warsaw
    assert '<a href="tg://user?id=900">Tomasz (@tomasz)</a>' in body
    assert f'<a href="tg://user?id={anna.id}">Anna Kowalska</a>' in body
    assert "nadanie roli moderatora" in body
    assert "zespół: Kultura; sposób: przekazana wiadomość" in body
    assert "link z zaproszeniem" in body
    assert "ważne do: 29 lis 2026, 11:00" in body
    for internal in ("user:", "invite:", "culture", "{", "'", "+00:00", "T10:"):
        assert internal not in body, internal


async def test_audit_empty_escaped_and_usage(bot: BotDriver) -> None:
    await bot.onboard(ADMIN)
    assert "The audit log is empty." in texts_of(await bot.send(ADMIN, "/audit"))
    await fill(bot, 1, title="<b>Spotkanie</b> & co")
    body = texts_of(await bot.send(ADMIN, "/audit"))
    assert "&lt;b&gt;Spotkanie&lt;/b&gt; &amp; co" in body
    assert "<b>Spotkanie</b>" not in body
    assert "Usage: /audit" in texts_of(await bot.send(ADMIN, "/audit everything"))


async def test_audit_refused_to_members_and_moderators(bot: BotDriver, anna: TgUser) -> None:
    mod = TgUser(id=3001, language_code="pl", first_name="Moderatorka")
    await bot.onboard(anna)
    await bot.onboard(mod)
    await make_moderator(bot, mod.id, "culture")
    await fill(bot, 3)
    for user in (anna, mod):
        for command in ("/audit", "/audit csv"):
            calls = await bot.send(user, command)
            assert "tylko dla zespołu koordynacyjnego" in texts_of(calls), command
            assert "meeting:" not in texts_of(calls)
        for data in ("audit:page:0", "audit:csv"):
            calls = await bot.click(user, data)  # forged: they were never shown the log
            assert calls[-1].method == "answerCallbackQuery"
            assert calls[-1].params.get("show_alert") is True
            assert not [c for c in calls if c.method in ("editMessageText", "sendDocument")]


async def test_csv_export_with_bom_newest_first_and_no_formulas(files_bot: BotDriver) -> None:
    bot = files_bot
    await bot.onboard(ADMIN)
    await fill(bot, 12, title='=HYPERLINK("x")', name="Zażółć")
    await bot.send(ADMIN, "/audit")
    calls = await bot.press(ADMIN, "⬇️ CSV")
    document = [c for c in calls if c.method == "sendDocument"]
    assert len(document) == 1
    assert document[0].params.get("caption") == "Audit log: 12 entries (CSV, UTF-8)."
    (method, filename, data), *_ = uploaded(bot)
    assert method == "sendDocument"
    assert filename == "audit-20261126-1100.csv"
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == list(audit.CSV_COLUMNS)
    assert [row[5] for row in lines[1:]] == [f"meeting:{n}" for n in range(12, 0, -1)]
    newest = lines[1]
    assert newest[1] == "2026-11-26T10:12:00+00:00"
    assert newest[2] == "2026-11-26 11:12:00"
    assert newest[3] == "3001"  # entry 12 is by the moderator
    assert lines[2][3:8:4] == [str(ADMIN_ID), "Admin"]  # entry 11 by the admin, by name
    assert newest[6].startswith("'{") or newest[6].startswith("{")
    assert "Zażółć" in newest[6]
    assert all(not row[6].startswith("=") for row in lines[1:])
    calls = await bot.send(ADMIN, "/audit csv")
    assert [c.method for c in calls].count("sendDocument") == 1


def test_csv_cells_that_look_like_formulas_are_quoted() -> None:
    entry = AuditEntry(
        id=1,
        at=NOW,
        actor_id=1,
        action="meeting.create",
        target="=cmd|' /C calc'!A0",
        details=None,
    )
    data = audit.to_csv([entry], ZoneInfo("Europe/Warsaw"))
    row = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))[1]
    assert row[5] == "'=cmd|' /C calc'!A0"


# ---------------------------------------------------------------- meetings are audited


async def test_meeting_create_edit_cancel_are_audited(bot: BotDriver) -> None:
    await bot.onboard(MOD)
    await make_moderator(bot, MOD.id, "culture")
    meeting_id = await publish(bot)
    await bot.send(MOD, f"/edit_meeting {meeting_id}")
    await bot.press(MOD, "Tytuł")
    await bot.send(MOD, "Nowy tytuł spotkania")
    await bot.press(MOD, "💾 Zapisz i powiadom")  # /edit_meeting is a form: saved on Save
    await bot.send(MOD, f"/cancel_meeting {meeting_id}")
    await bot.press(MOD, "❌ Odwołaj to spotkanie")
    entries = await db_of(bot).run(lambda unit: unit.audit.list_entries(limit=10))
    assert [(e.actor_id, e.action, e.target) for e in reversed(entries)] == [
        (MOD.id, "meeting.create", f"meeting:{meeting_id}"),
        (MOD.id, "meeting.edit", f"meeting:{meeting_id}"),
        (MOD.id, "meeting.cancel", f"meeting:{meeting_id}"),
    ]
    created, edited, cancelled = reversed(entries)
    assert created.details is not None
    assert created.details["sector"] == "culture"
    assert created.details["title"] == "Budżet obywatelski 2027"
    assert created.details["occurrences"] == 1
    assert edited.details == {
        "sector": "culture",
        "title": "Nowy tytuł spotkania",
        "field": "title",
        "scope": "one",
        "meetings": [meeting_id],
    }
    assert cancelled.details is not None
    assert cancelled.details["meetings"] == [meeting_id]
    # A refused action leaves no entry.
    other = TgUser(id=3002, language_code="pl", first_name="Inny")
    await bot.onboard(other)
    await bot.send(other, f"/cancel_meeting {meeting_id}")
    assert await db_of(bot).run(lambda unit: unit.audit.count_entries()) == 3


async def test_meeting_entries_name_fields_scope_and_counts_in_words(bot: BotDriver) -> None:
    admin = TgUser(id=ADMIN_ID, language_code="pl", first_name="Tomasz")
    await bot.onboard(admin)
    await moderator(bot)
    meeting = await publish(bot)
    await bot.send(MOD, f"/edit_meeting {meeting}")
    await bot.press(MOD, "Tytuł")
    await bot.send(MOD, "Nowy tytuł spotkania")
    await bot.press(MOD, "Miejsce / link")
    await bot.send(MOD, "Sala 5, ul. Floriańska 3")
    await bot.press(MOD, "💾 Zapisz i powiadom")
    body = texts_of(await bot.send(admin, "/audit"))
    assert "zmienione pola: Tytuł, Miejsce / link" in body
    assert "zakres: to spotkanie" in body
    assert f"spotkania nr: {meeting}" in body
    assert "liczba terminów: 1" in body
    for raw in ("pole: title", ": title,", "place", "zakres: one", "meetings:", "occurrences"):
        assert raw not in body, raw


def test_every_detail_the_services_record_has_a_label() -> None:
    """A new detail key must come with its words in both languages (else /audit shows the key)."""
    texts = Texts()
    services = Path(__file__).resolve().parent.parent / "bot" / "services"
    keys: set[str] = set()
    for path in services.glob("*.py"):
        for block in re.findall(r"details\s*=\s*\{(.*?)\}", path.read_text(), flags=re.S):
            keys |= set(re.findall(r'"([a-z_]+)"\s*:', block))
    # The scan finds the services' details.
    assert "title" in keys
    assert "scope" in keys
    hidden = {"invite", "request"}  # internal row ids, left out of the log (views/audit.py)
    for language in ("pl", "en"):
        missing = {k for k in keys - hidden if not texts.has(language, f"audit.detail.{k}")}
        assert missing == set(), (language, missing)
