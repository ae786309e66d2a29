"""What reaches the public site: older postulates once their author agrees; moderators hide."""

from __future__ import annotations

import sqlite3

import httpx

from tests.harness import BotDriver, TgUser, new_messages
from tests.sql import raw_sql
from tests.test_postulates_helpers import db_of, make_moderator, member, represent, submit

MODERATOR = TgUser(id=2201, language_code="pl", first_name="Moderatorka")
AUTHOR = TgUser(id=2202, language_code="pl", first_name="Autorka")
REPRESENTATIVE = TgUser(id=2203, language_code="en", first_name="Rep")
OTHER_REPRESENTATIVE = TgUser(id=2204, language_code="pl", first_name="Druga")


async def _as_before_the_site(bot: BotDriver) -> None:
    """What the migration does to every postulate that existed before it."""

    def mark(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE postulates SET publication = 'pending'")

    await db_of(bot).run(raw_sql(mark))


async def _audit(bot: BotDriver) -> list[tuple[str, str]]:
    def read(conn: sqlite3.Connection) -> list[tuple[str, str]]:
        rows = conn.execute("SELECT action, details FROM audit_log ORDER BY id").fetchall()
        return [(str(row[0]), str(row[1])) for row in rows]

    return await db_of(bot).run(raw_sql(read))


async def test_new_postulates_are_public_at_once(bot: BotDriver, site: httpx.AsyncClient) -> None:
    await member(bot, AUTHOR)
    reference = await submit(bot, AUTHOR, title="Nowy postulat po starcie strony")

    assert (await site.get(f"/postulates/{reference}")).status_code == 200


async def test_older_postulate_appears_only_after_its_author_agrees(
    bot: BotDriver, site: httpx.AsyncClient
) -> None:
    await member(bot, AUTHOR)
    reference = await submit(bot, AUTHOR, title="Starszy postulat o zieleni")
    await _as_before_the_site(bot)
    assert (await site.get(f"/postulates/{reference}")).status_code == 404

    await bot.tick()
    await bot.tick()  # asked once: a second run asks nobody again

    questions = [
        c for c in bot.api.calls if c.method == "sendMessage" and "Czy opublikować" in c.text
    ]
    assert len(questions) == 1
    assert reference in questions[0].text
    assert "osoby prywatnej nigdy" in questions[0].text
    assert (await site.get(f"/postulates/{reference}")).status_code == 404
    calls = await bot.press(AUTHOR, "Tak, opublikuj", exact=False)
    edits = [c for c in calls if c.method == "editMessageText"]
    assert edits
    assert "jest widoczny" in edits[0].text
    page = await site.get(f"/postulates/{reference}")
    assert page.status_code == 200
    assert "Autorka" not in page.text
    assert "osoba prywatna" in page.text


async def test_the_organisations_representative_answers_and_a_no_keeps_it_private(
    bot: BotDriver, site: httpx.AsyncClient
) -> None:
    for user in (REPRESENTATIVE, OTHER_REPRESENTATIVE):
        await member(bot, user)
    organisation = await represent(bot, REPRESENTATIVE, "Fundacja Dawnych Postulatów")
    reference = await submit(bot, REPRESENTATIVE, title="Postulat sprzed strony")

    def join(conn: sqlite3.Connection) -> None:
        conn.execute(
            """INSERT INTO organisation_representatives
                   (organisation_id, user_id, state, requested_at, decided_at)
               VALUES (?, ?, 'accepted', '2026-01-01T00:00:00.000000+00:00',
                       '2026-01-01T00:00:00.000000+00:00')""",
            (organisation, OTHER_REPRESENTATIVE.id),
        )

    await db_of(bot).run(raw_sql(join))
    await _as_before_the_site(bot)
    await bot.tick()

    calls = await bot.press(OTHER_REPRESENTATIVE, "Nie", exact=False)
    assert any("nie będzie pokazywany" in c.text for c in calls if c.method == "editMessageText")
    # The first answer counts: the other representative's later "yes" changes nothing.
    calls = await bot.press(REPRESENTATIVE, "Yes, publish", exact=False)
    assert any("will not be shown" in c.text for c in calls if c.method == "editMessageText")
    assert (await site.get(f"/postulates/{reference}")).status_code == 404
    assert "Postulat sprzed strony" not in (await site.get("/postulates")).text


async def test_moderator_hides_with_a_reason_and_shows_again(
    bot: BotDriver, site: httpx.AsyncClient
) -> None:
    await member(bot, MODERATOR)
    await member(bot, AUTHOR)
    await make_moderator(bot, MODERATOR, "culture")
    reference = await submit(bot, AUTHOR, title="Postulat z danymi sąsiada")

    await bot.send(MODERATOR, "/review")
    await bot.press(MODERATOR, reference)
    await bot.press(MODERATOR, "Ukryj na stronie publicznej", exact=False)
    calls = await bot.send(MODERATOR, "krótki")
    # One message: the error and the question again.
    [again] = new_messages(calls)
    assert "od 10 do 500 znaków" in again.text
    assert "Podaj powód ukrycia" in again.text
    assert (await site.get(f"/postulates/{reference}")).status_code == 200

    calls = await bot.send(MODERATOR, "Treść zawiera dane osobowe sąsiada.")

    assert any("jest ukryty" in c.text for c in calls)
    assert (await site.get(f"/postulates/{reference}")).status_code == 404
    assert any(
        action == "postulate.hide" and "dane osobowe" in details
        for action, details in await _audit(bot)
    )

    calls = await bot.press(MODERATOR, "Pokaż ponownie", exact=False)

    edits = [c for c in calls if c.method == "editMessageText"]
    assert edits
    assert "ponownie widoczny" in edits[0].text
    assert (await site.get(f"/postulates/{reference}")).status_code == 200
    assert [a for a, _ in await _audit(bot) if a.startswith("postulate.")][-2:] == [
        "postulate.hide",
        "postulate.show",
    ]


async def test_a_member_cannot_hide_with_a_forged_button(
    bot: BotDriver, site: httpx.AsyncClient
) -> None:
    await member(bot, AUTHOR)
    reference = await submit(bot, AUTHOR, title="Postulat, którego nie wolno ukryć")

    def pid(conn: sqlite3.Connection) -> int:
        value: int = conn.execute(
            "SELECT id FROM postulates WHERE reference = ?", (reference,)
        ).fetchone()[0]
        return value

    postulate_id = await db_of(bot).run(raw_sql(pid))
    await bot.click(AUTHOR, f"pub:hide:{postulate_id}")
    calls = await bot.send(AUTHOR, "Bo tak po prostu chcę go ukryć.")

    assert any(c.method == "sendMessage" for c in calls)
    assert (await site.get(f"/postulates/{reference}")).status_code == 200


async def test_consent_privacy_and_preview_say_what_becomes_public(
    bot: BotDriver, anna: TgUser
) -> None:
    start = await bot.send(anna, "/start")
    await bot.press(anna, "Zgadzam", exact=False)
    privacy = await bot.send(anna, "/privacy")

    assert any("publikowane na stronie programu" in c.text for c in start)
    notice = "\n".join(c.text for c in privacy)
    assert "Co jest publiczne" in notice
    assert "osoba prywatna" in notice
    await submit(bot, anna, title="Postulat z podglądem jawności")
    previews = [c.text for c in bot.api.calls if "Podgląd postulatu" in c.text]
    assert previews
    assert "publicznej stronie programu" in previews[-1]
