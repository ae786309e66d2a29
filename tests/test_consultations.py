"""Consulting the draft programme (issue 15) through the real Application at the network seam."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from docx import Document

from bot.cli import main
from bot.config import Config
from bot.dispatcher import dispatch_once
from tests.conftest import ADMIN_ID
from tests.fakes import Call
from tests.harness import (
    BotDriver,
    Clock,
    TgUser,
    edited_in_place,
    live_buttons,
    new_messages,
    texts_of,
)
from tests.meeting_factory import db_of, files_driver, uploaded
from tests.sql import raw_sql
from tests.test_organisation import register

ADMIN = TgUser(id=ADMIN_ID, language_code="pl", first_name="Koordynatorka")
TITLE = "Projekt Programu Współpracy 2027"
SECTIONS = ("Postanowienia ogólne", "Cele programu", "Formy współpracy")
ORGANISATION = "Fundacja Zielony Kraków"
ANNA_COMMENT = "Cele programu powinny obejmować także wsparcie wolontariatu seniorów."
JOHN_COMMENT = "Please add regular open consultations with the sector teams to the forms."
_ids = itertools.count(50_000)


@pytest.fixture
async def bot(config: Config, clock: Clock) -> AsyncIterator[BotDriver]:
    """The application on a fake network that also keeps the documents the bot sends."""
    async for driver in files_driver(config, clock):
        yield driver


def draft_docx(sections: tuple[str, ...] = SECTIONS) -> bytes:
    """A draft as an editor writes it: a title, then headed sections with their text."""
    document = Document()
    document.add_heading(TITLE, level=0)
    document.add_paragraph("Wersja do konsultacji.")
    for number, title in enumerate(sections, start=1):
        document.add_heading(title, level=1)
        document.add_paragraph(f"Treść części {number}: {title.lower()}.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


async def dispatch(bot: BotDriver) -> list[Call]:
    before = len(bot.api.calls)
    await dispatch_once(bot.app.bot_data["deps"], bot.app.bot)
    return bot.api.calls[before:]


async def send_document(
    bot: BotDriver,
    user: TgUser,
    data: bytes,
    file_name: str,
    mime: str = "application/octet-stream",
) -> list[Call]:
    """The user uploads a file as a Telegram document."""
    file_id = f"file-{next(_ids)}"
    bot.api.add_file(file_id, data)
    message: dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(bot.clock.now.timestamp()),
        "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
        "from": user.as_dict(),
        "document": {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_name": file_name,
            "mime_type": mime,
            "file_size": len(data),
        },
    }
    return await bot.feed({"message": message})


async def new_consultation(bot: BotDriver, days: int = 10) -> None:
    """The admin walks through New up to the document step."""
    await bot.send(ADMIN, "/start")
    await bot.press(ADMIN, bot.label(ADMIN, "button.consent"))
    await bot.send(ADMIN, "/consultation")
    await bot.press(ADMIN, "➕ Nowe konsultacje")
    await bot.send(ADMIN, TITLE)
    await bot.press(ADMIN, "▶️ Od teraz")
    closes = (bot.clock.now + timedelta(days=days)).strftime("%d.%m.%Y")
    await bot.send(ADMIN, closes)
    await bot.press(ADMIN, "Dalej ➡️")


async def publish(bot: BotDriver) -> None:
    await new_consultation(bot)
    calls = await send_document(bot, ADMIN, draft_docx(), "projekt.docx")
    preview = texts_of(calls)
    for title in SECTIONS:
        assert title in preview
    await bot.press(ADMIN, "📢 Opublikuj")


async def test_done_when_docx_published_commented_closed_answered_and_reported(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await bot.onboard(anna, sectors=["culture"])
    await bot.onboard(john, sectors=["education"])
    await register(bot, anna, name=ORGANISATION)
    await publish(bot)

    notices = [c for c in await dispatch(bot) if c.method == "sendMessage"]
    assert {c.chat_id for c in notices} == {anna.id, john.id}
    assert TITLE in notices[0].text
    by_chat = {c.chat_id: c.text for c in notices}
    assert (
        "Uwagi można zgłaszać do poniedziałku, 7 grudnia 2026, do godz. 00:00." in by_chat[anna.id]
    )
    assert "can be made until Monday, 7 December 2026, 00:00." in by_chat[john.id]

    # Anna, for her organisation, on section 2.
    await bot.press(anna, "📖 Czytaj i zgłoś uwagi")
    await bot.press(anna, "2. Cele programu")
    await bot.press(anna, "💬 Zgłoś uwagę")
    await bot.send(anna, ANNA_COMMENT)
    await bot.press(anna, "⏭ Pomiń")
    await bot.press(anna, ORGANISATION)
    calls = await bot.press(anna, "📨 Wyślij")
    assert "Dziękujemy" in texts_of(calls)

    # John, for himself, on section 3, with a proposed wording.
    await bot.press(john, "📖 Read and comment")
    await bot.press(john, "3. Formy współpracy")
    await bot.press(john, "💬 Comment")
    await bot.send(john, JOHN_COMMENT)
    await bot.send(john, "Open consultations every quarter.")
    await bot.press(john, "📨 Send")

    # The window closes by the clock: Comment is gone, an old button is refused politely.
    bot.clock.advance(days=11)
    await bot.press(john, "📑 Contents")
    [shown] = [c for c in await bot.press(john, "1. Postanowienia ogólne") if c.buttons()]
    assert "closed" in shown.text
    assert "💬 Comment" not in [label for label, _ in shown.buttons()]
    calls = await bot.press(john, "💬 Comment")  # still on the older section-3 message
    [refusal] = [c for c in calls if c.method == "answerCallbackQuery"]
    assert "closed" in refusal.params["text"]

    # The admin answers both.
    await bot.send(ADMIN, "/consultation")
    await bot.press(ADMIN, TITLE, exact=False)
    await bot.press(ADMIN, "📥 Uwagi bez odpowiedzi (2)")
    await bot.press(ADMIN, "✅ Uwzględniona")  # the newest card: John's
    await bot.send(ADMIN, "Dodamy kwartalne konsultacje z zespołami branżowymi.")
    await bot.press(ADMIN, bot.label(ADMIN, "consultations.button-partly"), on=ANNA_COMMENT[:40])
    await bot.send(ADMIN, "Wolontariat seniorów wpisujemy do celów szczegółowych.")

    answers = [c for c in await dispatch(bot) if c.method == "sendMessage"]
    assert {c.chat_id for c in answers} == {anna.id, john.id}

    calls = await bot.send(ADMIN, "/consultation_report 1")
    assert [c.method for c in calls if c.method == "sendDocument"] == ["sendDocument"]
    _method, name, data = uploaded(bot)[-1]
    assert name.endswith(".docx")
    report = Document(io.BytesIO(data))
    text = "\n".join(p.text for p in report.paragraphs)
    assert TITLE in text
    headings = [
        p.text for p in report.paragraphs if p.style is not None and p.style.name == "Heading 1"
    ]
    assert headings == [f"{n}. {t}" for n, t in enumerate(SECTIONS, start=1)]
    # One table per commented section, in order: section 2 (Anna's), section 3 (John's).
    tables = [[[cell.text for cell in row.cells] for row in table.rows] for table in report.tables]
    assert len(tables) == 2
    assert tables[0][1][0] == ANNA_COMMENT
    assert tables[0][1][1:] == [
        ORGANISATION,
        "uwzględniona częściowo",
        "Wolontariat seniorów wpisujemy do celów szczegółowych.",
    ]
    assert tables[1][1][0].startswith(JOHN_COMMENT)
    assert tables[1][1][1:] == [
        "osoba prywatna",
        "uwzględniona",
        "Dodamy kwartalne konsultacje z zespołami branżowymi.",
    ]
    # Reproducible: the same data gives the same bytes.
    await bot.send(ADMIN, "/consultation_report 1")
    assert uploaded(bot)[-1][2] == data

    # /mydata holds John's comment; after /forget the comment stays in the record, unnamed.
    await bot.send(john, "/mydata")
    exported = json.loads(uploaded(bot)[-1][2])
    [mine] = exported["consultations"]["comments"]
    assert mine["body"] == JOHN_COMMENT
    assert mine["answer"] == "accepted"
    await bot.send(john, "/forget")
    await bot.press(john, bot.label(john, "privacy.forget-yes"))
    authors = await db_of(bot).run(
        raw_sql(lambda conn: conn.execute("SELECT user_id FROM consultation_comments").fetchall())
    )
    assert sorted((row[0] or 0) for row in authors) == [0, anna.id]
    await bot.send(john, "/my_comments")  # a new user now: no comments of the old one
    await bot.send(ADMIN, "/consultation_report 1")
    assert uploaded(bot)[-1][2] == data

    # The same report from the command line: .docx byte for byte, and the CSV.
    database = str(bot.app.bot_data["deps"].config.database)
    env = {"BOT_DATABASE": database, "BOT_TOKEN": "1:x", "BOT_ADMINS": str(ADMIN_ID)}
    folder = Path(database).parent
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with pytest.MonkeyPatch.context() as patch:
        # The CLI sets up its own logging: put the test's back afterwards.
        patch.setattr(root, "handlers", handlers[:])
        patch.setattr(root, "level", level)
        for key, value in env.items():
            patch.setenv(key, value)
        # The CLI runs its own event loop, so it runs beside this test's, in a thread.
        docx_args = ["export", "consultation", "1", "--out", str(folder / "r.docx")]
        assert await asyncio.to_thread(main, docx_args) == 0
        csv_args = [
            "export",
            "consultation",
            "1",
            "--format",
            "csv",
            "--out",
            str(folder / "r.csv"),
        ]
        assert await asyncio.to_thread(main, csv_args) == 0
        missing = ["export", "consultation", "9", "--out", str(folder / "x.docx")]
        assert await asyncio.to_thread(main, missing) == 2
    logging.captureWarnings(False)
    assert (folder / "r.docx").read_bytes() == data
    table = (folder / "r.csv").read_text(encoding="utf-8-sig")
    for value in (ANNA_COMMENT, JOHN_COMMENT, "osoba prywatna", ORGANISATION):
        assert value in table


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n not a document", "photo.png", "nie jest dokument,"),
        (b"PK\x03\x04 broken zip", "broken.docx", "nie jest dokument,"),
        ("Tylko tekst, bez nagłówków.\n".encode(), "projekt.md", "nie ma nagłówków"),
        ("".join(f"# Część {n}\ntekst\n" for n in range(201)).encode(), "long.md", "201 części"),
        (b"#" * (6 * 1024 * 1024), "huge.txt", "za duży"),
    ],
)
async def test_bad_files_are_refused_and_change_nothing(
    bot: BotDriver, data: bytes, name: str, expected: str
) -> None:
    await new_consultation(bot)
    calls = await send_document(bot, ADMIN, data, name)
    assert expected in texts_of(calls)
    # Still waiting for a document: a good one is taken, and nothing was stored before it.
    calls = await send_document(bot, ADMIN, b"# Jedna\ntekst\n", "projekt.md")
    assert "Podgląd" in texts_of(calls)


async def test_markdown_draft_and_short_window(bot: BotDriver) -> None:
    await bot.send(ADMIN, "/start")
    await bot.press(ADMIN, bot.label(ADMIN, "button.consent"))
    await bot.send(ADMIN, "/consultation")
    await bot.press(ADMIN, "➕ Nowe konsultacje")
    await bot.send(ADMIN, TITLE)
    await bot.press(ADMIN, "▶️ Od teraz")
    calls = await bot.send(ADMIN, (bot.clock.now + timedelta(days=3)).strftime("%d.%m.%Y"))
    assert "co najmniej 7 dni" in texts_of(calls)
    await bot.send(ADMIN, (bot.clock.now + timedelta(days=8)).strftime("%Y-%m-%d"))
    await bot.press(ADMIN, "Dalej ➡️")
    text = "Wstęp pominięty\n# Cele\nA\n## Formy\nB\n"
    calls = await send_document(bot, ADMIN, text.encode(), "projekt.md")
    assert "1. Cele" in texts_of(calls)
    assert "2. Formy" in texts_of(calls)
    await bot.send(ADMIN, "/cancel")
    await bot.send(ADMIN, "/consultation")
    assert TITLE not in "".join(label for m in bot.keyboards(ADMIN) for label, _ in m.buttons)


async def test_menu_and_help_name_the_consultation_commands_by_role(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    menus = {
        c.params.get("language_code"): c.params["commands"] for c in bot.api.sent("setMyCommands")
    }
    for language in ("pl", "en"):
        names = [command["command"] for command in menus[language]]
        assert {"consultation", "my_comments"} <= set(names)
        assert "consultation_report" not in names
    await bot.onboard(john)
    member = texts_of(await bot.send(john, "/help"))
    assert "/consultation –" in member or "/consultation -" in member
    assert "/my_comments" in member
    assert "/consultation_report" not in member
    await bot.send(ADMIN, "/start")
    await bot.press(ADMIN, bot.label(ADMIN, "button.consent"))
    admin = texts_of(await bot.send(ADMIN, "/help"))
    assert "/consultation_report" in admin


async def test_each_flow_edits_in_place_and_a_wrong_answer_is_one_message(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna, sectors=["culture"])
    await bot.send(ADMIN, "/start")
    await bot.press(ADMIN, bot.label(ADMIN, "button.consent"))
    # New: the menu becomes the title question; each press edits the question in place.
    await bot.send(ADMIN, "/consultation")
    pressed = bot.showing(ADMIN, "➕ Nowe konsultacje")
    calls = await bot.press(ADMIN, "➕ Nowe konsultacje")
    assert edited_in_place(calls, pressed)
    assert "Podaj tytuł" in texts_of(calls)
    calls = await bot.send(ADMIN, "Ab")  # too short: the error and the question together
    assert len(new_messages(calls)) == 1
    assert "Tytuł musi mieć od 3" in texts_of(calls)
    assert "Podaj tytuł" in texts_of(calls)
    await bot.send(ADMIN, TITLE)
    calls = await bot.send(ADMIN, "32.13.2027")  # typed instead of "From now": a wrong date
    assert len(new_messages(calls)) == 1
    assert "Nie rozumiem tej daty" in texts_of(calls)
    assert "Kiedy konsultacje się otwierają?" in texts_of(calls)
    assert len(live_buttons(bot, ADMIN, "cons:")) == 1  # the first question lost its button
    pressed = bot.showing(ADMIN, "▶️ Od teraz")
    calls = await bot.press(ADMIN, "▶️ Od teraz")
    assert edited_in_place(calls, pressed)
    assert not live_buttons(bot, ADMIN, "cons:")
    await bot.send(ADMIN, (bot.clock.now + timedelta(days=10)).strftime("%d.%m.%Y"))
    pressed = bot.showing(ADMIN, "Dalej ➡️")
    calls = await bot.press(ADMIN, "Dalej ➡️")
    assert edited_in_place(calls, pressed)
    await send_document(bot, ADMIN, draft_docx(), "projekt.docx")
    await bot.press(ADMIN, "📢 Opublikuj")
    await dispatch(bot)

    # Comment: the section stays; the questions follow it, one live prompt at a time.
    await bot.press(anna, "📖 Czytaj i zgłoś uwagi")
    await bot.press(anna, "2. Cele programu")
    await bot.press(anna, "💬 Zgłoś uwagę")
    calls = await bot.send(anna, "Za krótko")
    assert len(new_messages(calls)) == 1
    assert "Uwaga musi mieć od 20" in texts_of(calls)
    assert "Uwaga do części 2" in texts_of(calls)
    calls = await bot.send(anna, ANNA_COMMENT)
    assert len(live_buttons(bot, anna, "cons:skip")) == 1
    pressed = bot.showing(anna, "⏭ Pomiń")
    calls = await bot.press(anna, "⏭ Pomiń")
    assert edited_in_place(calls, pressed)  # the wording question becomes the preview
    assert len(live_buttons(bot, anna, "cons:send")) == 1
    await bot.send(anna, "/cancel")  # the preview's Send and Cancel go with it
    assert not live_buttons(bot, anna, "cons:send")
    assert not live_buttons(bot, anna, "cons:abort")

    # Answer: the pressed card becomes the question; a short justification, one message.
    await bot.press(anna, "💬 Zgłoś uwagę", on="Cele programu")
    await bot.send(anna, ANNA_COMMENT)
    await bot.press(anna, "⏭ Pomiń")
    await bot.press(anna, "📨 Wyślij")
    await bot.send(ADMIN, "/consultation")
    await bot.press(ADMIN, TITLE, exact=False)
    await bot.press(ADMIN, "📥 Uwagi bez odpowiedzi (1)")
    pressed = bot.showing(ADMIN, "✅ Uwzględniona")
    calls = await bot.press(ADMIN, "✅ Uwzględniona")
    assert edited_in_place(calls, pressed)
    calls = await bot.send(ADMIN, "Tak.")
    assert len(new_messages(calls)) == 1
    assert "Uzasadnienie musi mieć od 10" in texts_of(calls)
    assert ANNA_COMMENT not in texts_of(calls)  # the question again, not the whole card


async def test_text_where_a_button_is_expected_gets_the_hint_and_the_question_again(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna, sectors=["culture"])
    await register(bot, anna, name=ORGANISATION)
    hint = "Użyj przycisków pod tą wiadomością"
    # New, the audience step: one message, the hint and the question with its buttons.
    await bot.send(ADMIN, "/start")
    await bot.press(ADMIN, bot.label(ADMIN, "button.consent"))
    await bot.send(ADMIN, "/consultation")
    await bot.press(ADMIN, "➕ Nowe konsultacje")
    await bot.send(ADMIN, TITLE)
    await bot.press(ADMIN, "▶️ Od teraz")
    await bot.send(ADMIN, (bot.clock.now + timedelta(days=10)).strftime("%d.%m.%Y"))
    calls = await bot.send(ADMIN, "wszystkie")
    [message] = new_messages(calls)
    assert hint in message.text
    assert "Kogo zawiadomić?" in message.text
    [live] = live_buttons(bot, ADMIN, "cons:aud")
    assert live.message_id == message.message_id
    # New, the preview: the preview again, with Publish and Discard, once.
    await bot.press(ADMIN, "Dalej ➡️")
    await send_document(bot, ADMIN, draft_docx(), "projekt.docx")
    calls = await bot.send(ADMIN, "publikuj")
    [message] = new_messages(calls)
    assert hint in message.text
    assert f"Podgląd (jeszcze nieopublikowane): <b>{TITLE}</b>" in message.text
    [live] = live_buttons(bot, ADMIN, "cons:publish")
    assert live.message_id == message.message_id
    assert len(live_buttons(bot, ADMIN, "cons:discard")) == 1
    await bot.press(ADMIN, "📢 Opublikuj")
    await dispatch(bot)

    # Comment, on whose behalf: the question again with both buttons, once.
    await bot.press(anna, "📖 Czytaj i zgłoś uwagi")
    await bot.press(anna, "2. Cele programu")
    await bot.press(anna, "💬 Zgłoś uwagę")
    await bot.send(anna, ANNA_COMMENT)
    await bot.press(anna, "⏭ Pomiń")
    calls = await bot.send(anna, "w imieniu fundacji")
    [message] = new_messages(calls)
    assert hint in message.text
    assert "W czyim imieniu zgłaszasz uwagę?" in message.text
    [live] = live_buttons(bot, anna, "cons:as")
    assert live.message_id == message.message_id
    # Comment, the preview: the preview again with Send, once.
    await bot.press(anna, ORGANISATION)
    calls = await bot.send(anna, "wyślij")
    [message] = new_messages(calls)
    assert hint in message.text
    assert "Podgląd uwagi do części 2" in message.text
    [live] = live_buttons(bot, anna, "cons:send")
    assert live.message_id == message.message_id
    await bot.press(anna, "📨 Wyślij")
    assert not live_buttons(bot, anna, "cons:send")
