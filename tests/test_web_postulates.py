"""The public record of postulates: the list with its filters and pages, one postulate."""

from __future__ import annotations

import sqlite3

import httpx

from tests.harness import BotDriver, TgUser
from tests.sql import raw_sql
from tests.test_postulates_helpers import db_of, make_moderator, member, represent, submit

MODERATOR = TgUser(id=2101, language_code="pl", first_name="Moderatorka")
REPRESENTATIVE = TgUser(id=2102, language_code="pl", first_name="Reprezentant")
PERSON = TgUser(id=2103, language_code="pl", first_name="Prywatna Helena")
SUPPORTER = TgUser(id=2104, language_code="pl", first_name="Popierający")


async def _cast(bot: BotDriver) -> tuple[str, str]:
    for user in (MODERATOR, REPRESENTATIVE, PERSON, SUPPORTER):
        await member(bot, user)
    await make_moderator(bot, MODERATOR, "culture")
    await represent(bot, REPRESENTATIVE, "Fundacja Zielony Kraków")
    await represent(bot, SUPPORTER, "Stowarzyszenie Sąsiedzi")
    ours = await submit(bot, REPRESENTATIVE, title="Więcej ławek na Plantach")
    mine = await submit(bot, PERSON, slug="education", title="Dłuższe godziny bibliotek")
    return ours, mine


async def _set(bot: BotDriver, sql: str, *params: object) -> None:
    def change(conn: sqlite3.Connection) -> None:
        conn.execute(sql, params)

    await db_of(bot).run(raw_sql(change))


async def test_list_names_organisations_and_never_a_private_person(
    bot: BotDriver, site: httpx.AsyncClient
) -> None:
    ours, mine = await _cast(bot)

    page = await site.get("/postulates")
    english = await site.get("/en/postulates")

    assert page.status_code == 200
    assert "Więcej ławek na Plantach" in page.text
    assert "Fundacja Zielony Kraków" in page.text
    assert "Dłuższe godziny bibliotek" in page.text
    assert "osoba prywatna" in page.text
    assert "Helena" not in page.text
    assert f'href="/postulates/{ours}"' in page.text
    assert "private person" in english.text
    assert f'href="/en/postulates/{mine}"' in english.text


async def test_filters_narrow_the_list_and_bad_ones_are_refused(
    bot: BotDriver, site: httpx.AsyncClient
) -> None:
    await _cast(bot)

    culture = await site.get("/postulates?sector=culture")
    submitted = await site.get("/postulates?state=submitted")
    adopted = await site.get("/postulates?state=adopted")

    assert "Więcej ławek na Plantach" in culture.text
    assert "Dłuższe godziny bibliotek" not in culture.text
    assert "Dłuższe godziny bibliotek" in submitted.text
    assert "Dłuższe godziny bibliotek" not in adopted.text
    for bad in (
        "?sector=nowhere",
        "?sector=<script>",
        "?state=withdrawn",
        "?call=abc",
        "?call=99",
        "?page=0",
        "?page=99999999999999999999",
        "?colour=red",
        "?state=submitted&state=adopted",
    ):
        answer = await site.get("/postulates" + bad)
        assert answer.status_code == 400, bad
        assert "Nieprawidłowe kryteria" in answer.text, bad
        assert "<script>" not in answer.text


async def test_pages_of_twenty(bot: BotDriver, site: httpx.AsyncClient) -> None:
    await member(bot, PERSON)
    for number in range(21):
        await submit(bot, PERSON, title=f"Postulat numer {number:02d}")

    first = await site.get("/postulates")
    second = await site.get("/postulates?page=2")

    assert "Postulat numer 20" in first.text
    assert "Postulat numer 00" not in first.text
    assert 'href="/postulates?page=2"' in first.text
    assert "Postulat numer 00" in second.text
    assert 'href="/postulates"' in second.text


async def test_one_postulate_with_its_decisions_and_supporters(
    bot: BotDriver, site: httpx.AsyncClient
) -> None:
    ours, _ = await _cast(bot)
    await bot.send(SUPPORTER, f"/support {ours}")
    await bot.send(MODERATOR, "/review")
    await bot.press(MODERATOR, ours)
    await bot.press(MODERATOR, "Odrzuć", exact=False)
    await bot.send(MODERATOR, "Poza zakresem programu na ten rok.")
    await bot.press(MODERATOR, "✅ Potwierdź")

    page = await site.get(f"/postulates/{ours}")
    english = await site.get(f"/en/postulates/{ours}")

    assert page.status_code == 200
    assert "Więcej ławek na Plantach" in page.text
    assert "Fundacja Zielony Kraków" in page.text
    assert "Stowarzyszenie Sąsiedzi" in page.text
    assert "Odrzucony" in page.text or "odrzucony" in page.text
    assert "Poza zakresem programu na ten rok." in page.text
    assert "Moderatorka" not in page.text
    assert str(MODERATOR.id) not in page.text
    assert '<html lang="en">' in english.text
    feed = await site.get("/feed.atom")
    assert f"/postulates/{ours}" in feed.text
    assert "Postulat odrzucony: Więcej ławek na Plantach" in feed.text


async def test_withdrawn_hidden_and_unknown_postulates_are_not_found(
    bot: BotDriver, site: httpx.AsyncClient
) -> None:
    ours, mine = await _cast(bot)
    await _set(bot, "UPDATE postulates SET state = 'withdrawn' WHERE reference = ?", ours)
    await _set(
        bot,
        "UPDATE postulates SET hidden_at = updated_at, hidden_reason = 'dane osobowe' "
        "WHERE reference = ?",
        mine,
    )

    for path in (
        f"/postulates/{ours}",
        f"/postulates/{mine}",
        "/postulates/P-2026-9999",
        "/postulates/nonsense",
        "/en/postulates/P-1",
    ):
        answer = await site.get(path)
        assert answer.status_code == 404, path
    listing = await site.get("/postulates")
    assert "Więcej ławek" not in listing.text
    assert "Dłuższe godziny" not in listing.text
