"""Consultations on the public site: the list, one consultation's record and its report."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from docx import Document

from bot.config import Config
from storage.timefmt import db_time
from tests.conftest import ADMIN_ID
from tests.harness import BotDriver, Clock, TgUser
from tests.meeting_factory import db_of, files_driver, set_organisation, uploaded
from tests.sql import raw_sql

ADMIN = TgUser(id=ADMIN_ID, language_code="pl", first_name="Koordynatorka")
TITLE = "Projekt Programu Współpracy 2027"
DRAFT = "Projekt jeszcze nieopublikowany"
SECTIONS = ("Postanowienia ogólne", "Cele programu", "Formy współpracy")
ORGANISATION = "Stowarzyszenie Jawnych Uwag"
ORGANISATION_COMMENT = "Cele programu powinny obejmować także wsparcie wolontariatu seniorów."
PERSONAL_COMMENT = "Proszę dodać regularne otwarte konsultacje z zespołami branżowymi."
PERSONAL_ANSWER = "Dodamy kwartalne konsultacje z zespołami branżowymi."


async def seed_consultation(
    bot: BotDriver, *, individual: TgUser, representative: TgUser | None = None
) -> int:
    """A published consultation whose window has closed: an individual's comment on section 3
    and (with a representative) an organisation's comment on section 2, both answered; and a
    draft nobody may see. Return the published one's id."""
    if representative is not None:
        await set_organisation(bot, representative.id, ORGANISATION)
    now = bot.clock.now

    def seed(conn: sqlite3.Connection) -> int:
        def add(title: str, state: str) -> int:
            cursor = conn.execute(
                """INSERT INTO consultations (title, state, opens_at, closes_at, all_sectors,
                       file_name, created_by, created_at, published_at)
                   VALUES (?, ?, ?, ?, 1, 'projekt.docx', ?, ?, ?)""",
                (
                    title,
                    state,
                    db_time(now - timedelta(days=20)),
                    db_time(now - timedelta(days=1)),
                    ADMIN_ID,
                    db_time(now - timedelta(days=21)),
                    None if state == "draft" else db_time(now - timedelta(days=20)),
                ),
            )
            consultation = int(cursor.lastrowid or 0)
            conn.executemany(
                """INSERT INTO consultation_sections (consultation_id, number, title, body)
                   VALUES (?, ?, ?, ?)""",
                [
                    (consultation, n, t, f"Treść części {n}: {t.lower()}.")
                    for n, t in enumerate(SECTIONS, start=1)
                ],
            )
            return consultation

        consultation = add(TITLE, "published")
        add(DRAFT, "draft")
        sections = dict(
            conn.execute(
                "SELECT number, id FROM consultation_sections WHERE consultation_id = ?",
                (consultation,),
            ).fetchall()
        )
        rows = [(sections[3], individual.id, None, PERSONAL_COMMENT, "accepted", PERSONAL_ANSWER)]
        if representative is not None:
            (organisation,) = conn.execute(
                "SELECT organisation_id FROM users WHERE id = ?", (representative.id,)
            ).fetchone()
            rows.insert(
                0,
                (
                    sections[2],
                    representative.id,
                    organisation,
                    ORGANISATION_COMMENT,
                    "partly",
                    "Wolontariat seniorów wpisujemy do celów szczegółowych.",
                ),
            )
        conn.executemany(
            f"""INSERT INTO consultation_comments (consultation_id, section_id, user_id,
                    organisation_id, body, created_at, answer, justification, answered_by,
                    answered_at)
                VALUES ({consultation}, ?, ?, ?, ?, '{db_time(now - timedelta(days=5))}', ?, ?,
                        {ADMIN_ID}, '{db_time(now)}')""",
            rows,
        )
        return consultation

    return await db_of(bot).run(raw_sql(seed))


@pytest.fixture
async def bot(config: Config, clock: Clock) -> AsyncIterator[BotDriver]:
    """The application on a fake network that also keeps the documents the bot sends."""
    async for driver in files_driver(config, clock):
        yield driver


async def test_a_visitor_reads_a_consultation_its_comments_answers_and_report(
    bot: BotDriver, site: httpx.AsyncClient, anna: TgUser, john: TgUser
) -> None:
    await bot.onboard(anna)
    await bot.onboard(john)
    consultation = await seed_consultation(bot, individual=john, representative=anna)

    listing = await site.get("/consultations")
    assert listing.status_code == 200
    assert TITLE in listing.text
    assert DRAFT not in listing.text
    assert f'href="/consultations/{consultation}"' in listing.text
    assert "/consultations" in (await site.get("/")).text  # in the site's navigation

    page = await site.get(f"/consultations/{consultation}")
    assert page.status_code == 200
    body = page.text
    for title in SECTIONS:
        assert title in body
    second, third = (body.index(f"{n}. {SECTIONS[n - 1]}</h2>") for n in (2, 3))
    assert second < body.index(ORGANISATION_COMMENT) < third < body.index(PERSONAL_COMMENT)
    assert ORGANISATION in body
    assert "osoba prywatna" in body
    assert "uwzględniona częściowo" in body
    assert PERSONAL_ANSWER in body
    assert "<dd>zakończone</dd>" in body
    assert john.first_name not in body
    # No report before it is published.
    assert "report.docx" not in body
    assert (await site.get(f"/consultations/{consultation}/report.docx")).status_code == 404

    english = await site.get(f"/en/consultations/{consultation}")
    assert "private person" in english.text
    assert "partly accepted" in english.text

    # The report the admin publishes is the file the site offers, byte for byte.
    await bot.send(ADMIN, "/start")
    await bot.press(ADMIN, bot.label(ADMIN, "button.consent"))
    await bot.send(ADMIN, f"/consultation_report {consultation}")
    _method, _name, sent = uploaded(bot)[-1]
    page = await site.get(f"/en/consultations/{consultation}")
    assert f'href="/en/consultations/{consultation}/report.docx"' in page.text
    download = await site.get(f"/consultations/{consultation}/report.docx")
    assert download.status_code == 200
    assert download.content == sent
    assert "attachment" in download.headers["content-disposition"]
    tables = Document(io.BytesIO(download.content)).tables
    assert tables[0].rows[1].cells[0].text == ORGANISATION_COMMENT


async def test_drafts_and_unknown_consultations_are_not_found(
    bot: BotDriver, site: httpx.AsyncClient, john: TgUser
) -> None:
    await bot.onboard(john)
    consultation = await seed_consultation(bot, individual=john)
    for path in (
        f"/consultations/{consultation + 1}",
        "/consultations/999",
        f"/en/consultations/{consultation + 1}/report.docx",
        "/consultations/99999999999999999999",
    ):
        answer = await site.get(path)
        assert answer.status_code == 404, path
        assert DRAFT not in answer.text


async def test_no_consultations_yet(site: httpx.AsyncClient) -> None:
    answer = await site.get("/en/consultations")
    assert answer.status_code == 200
    assert "No consultations" in answer.text
