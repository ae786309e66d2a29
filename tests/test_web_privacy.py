"""The public site shows only public data: seeded private values never appear anywhere."""

from __future__ import annotations

import sqlite3

import httpx

from bot.config import Config
from tests.harness import BotDriver, TgUser
from tests.meeting_factory import add_meeting, db_of, make_moderator, set_organisation
from tests.sql import raw_sql
from tests.test_web_consultations import PERSONAL_COMMENT, seed_consultation

MEMBER = TgUser(id=7346251, language_code="pl", first_name="Zofia")
REPRESENTATIVE = TgUser(id=7346252, language_code="en", first_name="Marek")
MODERATOR_ID = 5550123
PRIVATE = [
    str(MEMBER.id),
    str(REPRESENTATIVE.id),
    str(MODERATOR_ID),
    "Zofia",
    "Marek",
    "Fundacja Tajnych Spraw",
    "0000123456",
    "Treść prywatnego postulatu, której nie wolno pokazać",
    "Postulat wycofany przez autora",
    "Postulat ukryty przez moderatora",
    "Postulat sprzed strony bez zgody autora",
    "powód ukrycia: dane sąsiada",
]
# Public: an individual's postulate (never its author), shown as "osoba prywatna".
PUBLIC_POSTULATE = "Postulat osoby prywatnej"


async def _seed(bot: BotDriver) -> int:
    await bot.onboard(MEMBER, sectors=["culture"])
    await bot.onboard(REPRESENTATIVE, sectors=["culture", "education"])
    await set_organisation(bot, REPRESENTATIVE.id, "Fundacja Tajnych Spraw")
    await make_moderator(bot, MODERATOR_ID)
    meeting_id = await add_meeting(bot, capacity=10)
    await bot.send(MEMBER, f"/start meeting-{meeting_id}")
    await bot.press(MEMBER, "Biorę udział", exact=False)

    def private_rows(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE meetings SET created_by = ?", (MODERATOR_ID,))
        conn.execute("UPDATE organisations SET register_type = 'krs', krs = '0000123456'")
        team = conn.execute("SELECT id FROM teams WHERE slug = 'culture'").fetchone()[0]
        conn.execute(
            """INSERT INTO postulate_calls (team_id, title, deadline, opened_by, created_at)
               VALUES (?, 'Nabór na rok 2027', '2099-01-01T00:00:00.000000+00:00', ?,
                       '2026-01-01T00:00:00.000000+00:00')""",
            (team, MODERATOR_ID),
        )
        for number, (title, state, author, publication, hidden) in enumerate(
            [
                (PUBLIC_POSTULATE, "submitted", MEMBER.id, "yes", None),
                ("Postulat wycofany przez autora", "withdrawn", MEMBER.id, "yes", None),
                (
                    "Postulat ukryty przez moderatora",
                    "rejected",
                    REPRESENTATIVE.id,
                    "yes",
                    "powód ukrycia: dane sąsiada",
                ),
                ("Postulat sprzed strony bez zgody autora", "submitted", MEMBER.id, "asked", None),
            ],
            start=1,
        ):
            content = (
                "Treść jawnego postulatu osoby prywatnej."
                if title == PUBLIC_POSTULATE
                else "Treść prywatnego postulatu, której nie wolno pokazać"
            )
            conn.execute(
                """INSERT INTO postulates (reference, draft_id, team_id, author_id, title,
                       content, state, publication, hidden_at, hidden_reason, created_at,
                       updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '2026-01-01T00:00:00.000000+00:00',
                           '2026-01-01T00:00:00.000000+00:00')""",
                (
                    f"P-2026-{number:04d}",
                    number,
                    team,
                    author,
                    title,
                    content,
                    state,
                    publication,
                    None if hidden is None else "2026-01-02T00:00:00.000000+00:00",
                    hidden,
                ),
            )

    await db_of(bot).run(raw_sql(private_rows))
    # An individual's comment on the draft Programme: public, its author never named.
    await seed_consultation(bot, individual=MEMBER)
    return meeting_id


async def test_no_private_value_appears_in_any_page_or_feed(
    bot: BotDriver, site: httpx.AsyncClient, config: Config
) -> None:
    meeting_id = await _seed(bot)
    paths = ["/", "/dostepnosc", "/calendar.ics", "/feed.atom", "/nowhere"]
    paths += [f"/sectors/{team.slug}" for team in config.teams]
    paths += [f"/calendar/{team.slug}.ics" for team in config.teams]
    paths += [f"/meetings/{meeting_id}", f"/meetings/{meeting_id}.ics"]
    paths += ["/postulates", "/postulates?sector=culture", "/postulates?state=submitted"]
    paths += [f"/postulates/P-2026-{number:04d}" for number in range(1, 5)]
    paths += ["/consultations", "/consultations/1", "/consultations/2"]

    seen = 0
    for path in [*paths, *("/en" + p for p in paths), "/healthz"]:
        answer = await site.get(path)
        assert answer.status_code in (200, 404), path
        body = answer.content.decode()
        seen += "Nabór na rok 2027" in body
        seen += PUBLIC_POSTULATE in body
        seen += PERSONAL_COMMENT in body
        leaked = [value for value in PRIVATE if value in body]
        assert not leaked, f"{path} shows {leaked}"
    # The seed did reach the pages (public parts of the same rows are shown).
    assert seen > 0
