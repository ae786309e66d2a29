"""The public site: programme, schedules, meetings, feeds, errors and headers, in pl and en."""

from __future__ import annotations

import socket
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar, Component

from bot.config import Config
from bot.dispatcher import dispatch_once
from bot.i18n import Texts
from bot.ics import event_uid
from bot.web.server import SiteRunner
from bot.web.site import build_site
from storage.database import Database, ReadOnlyDatabase
from tests.conftest import make_config
from tests.harness import BotDriver, TgUser
from tests.meeting_factory import add_meeting, update_meeting


async def test_programme_lists_teams_with_subscribers_and_next_meeting(
    bot: BotDriver, site: httpx.AsyncClient, anna: TgUser, john: TgUser
) -> None:
    await bot.onboard(anna, sectors=["culture"])
    await bot.onboard(john, sectors=["culture"])
    await add_meeting(bot, team="culture", title="Forum kultury", starts_in=timedelta(days=3))

    page = await site.get("/")

    assert page.status_code == 200
    assert '<html lang="pl">' in page.text
    assert "Zespoły branżowe" in page.text
    assert "Kultura" in page.text
    assert "2 osoby zapisane" in page.text
    assert "Forum kultury" in page.text
    assert f"https://t.me/{bot.app.bot.username}?start=sector-culture" in page.text
    english = await site.get("/en/")
    assert '<html lang="en">' in english.text
    assert "Sector teams" in english.text
    assert "2 subscribers" in english.text


async def test_sector_schedule_shows_upcoming_then_past_with_attendance(
    bot: BotDriver, site: httpx.AsyncClient, anna: TgUser
) -> None:
    past = await add_meeting(bot, title="Spotkanie wiosenne", starts_in=timedelta(days=2))
    await add_meeting(bot, title="Spotkanie jesienne", starts_in=timedelta(days=20))
    await bot.onboard(anna, sectors=["culture"])
    await bot.send(anna, f"/start meeting-{past}")
    await bot.press(anna, "Biorę udział", exact=False)
    bot.clock.advance(days=5)

    page = await site.get("/sectors/culture")

    assert page.status_code == 200
    text = page.text
    assert text.index("Nadchodzące spotkania") < text.index("Spotkanie jesienne")
    assert text.index("Odbyte spotkania") < text.index("Spotkanie wiosenne")
    assert "1 osoba uczestniczyła" in text
    assert "webcal://site.test/calendar/culture.ics" in text


async def test_meeting_page_shows_time_place_places_and_the_bots_ics(
    bot: BotDriver, site: httpx.AsyncClient
) -> None:
    meeting_id = await add_meeting(
        bot, title="Forum <b>kultury</b>", capacity=30, online_url="https://meet.example.org/x"
    )

    page = await site.get(f"/meetings/{meeting_id}")
    ics = await site.get(f"/en/meetings/{meeting_id}.ics")

    assert page.status_code == 200
    assert "Forum &lt;b&gt;kultury&lt;/b&gt;" in page.text
    assert "ul. Józefińska 14, Kraków" in page.text
    assert "30, wolne: 30" in page.text
    assert "Europe/Warsaw" in page.text
    assert f"?start=meeting-{meeting_id}" in page.text
    assert ics.headers["content-type"].startswith("text/calendar")
    (event,) = Calendar.from_ical(ics.content).walk("VEVENT")
    assert str(event["UID"]) == event_uid(bot.app.bot.username, meeting_id)
    assert str(event["SUMMARY"]) == "Forum <b>kultury</b>"


async def test_cancelled_meeting_says_so(bot: BotDriver, site: httpx.AsyncClient) -> None:
    meeting_id = await add_meeting(bot, state="cancelled")

    page = await site.get(f"/en/meetings/{meeting_id}")

    assert "This meeting has been cancelled." in page.text
    assert "start=meeting-" not in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/nowhere",
        "/sectors/no-such-team",
        "/meetings/999",
        "/meetings/abc",
        "/meetings/99999999999999999999999",
        "/meetings/-1",
        "/en/meetings/999.ics",
        "/calendar/nope.ics",
        "/sectors/%3Cscript%3E",
    ],
)
async def test_unknown_paths_and_bad_ids_give_a_404_page(
    site: httpx.AsyncClient, path: str
) -> None:
    page = await site.get(path)

    assert page.status_code == 404
    assert "Traceback" not in page.text
    assert "<script>" not in page.text
    expected = "Page not found" if path.startswith("/en/") else "Nie znaleziono strony"
    assert expected in page.text


@pytest.mark.parametrize("path", ["/", "/nowhere", "/healthz", "/calendar.ics", "/feed.atom"])
async def test_every_answer_carries_the_security_headers(
    site: httpx.AsyncClient, path: str
) -> None:
    answer = await site.get(path)

    assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in answer.headers


async def test_accessibility_statement_comes_from_config(
    site: httpx.AsyncClient, config: Config
) -> None:
    page = await site.get("/dostepnosc")

    assert page.status_code == 200
    assert config.web.body_name in page.text
    assert config.web.contact in page.text
    assert "1 stycznia 2026" in page.text
    assert "Procedura wnioskowo-skargowa" in page.text


async def test_healthz_reports_the_database(site: httpx.AsyncClient) -> None:
    answer = await site.get("/healthz")

    assert answer.status_code == 200
    assert answer.json()["database"] == "ok"
    assert answer.json()["schema_version"] >= 1


async def test_healthz_reports_the_engines_last_run(bot: BotDriver, config: Config) -> None:
    reader = ReadOnlyDatabase(config.database)
    texts = bot.app.bot_data["texts"]
    assert isinstance(texts, Texts)
    engine = bot.app.bot_data["engine"]
    app = build_site(
        config, reader, texts, bot.app.bot.username, bot.clock, lambda: engine.last_run_at
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://site.test") as client:
        before = (await client.get("/healthz")).json()["engine_last_run_at"]
        await dispatch_once(bot.app.bot_data["deps"], bot.app.bot)
        after = (await client.get("/healthz")).json()["engine_last_run_at"]
    await reader.close()

    assert before is None
    assert after == bot.clock().isoformat()


async def test_calendar_feed_has_stable_uids_sequence_and_cancellations(
    bot: BotDriver, site: httpx.AsyncClient
) -> None:
    kept = await add_meeting(bot, team="culture", title="Spotkanie stałe")
    moved = await add_meeting(bot, team="education", title="Spotkanie przeniesione")
    cancelled = await add_meeting(bot, team="culture", title="Spotkanie odwołane")
    bot.clock.advance(hours=1)
    await update_meeting(bot, moved, bot.clock.now, duration_minutes=90)
    await update_meeting(bot, cancelled, bot.clock.now, state="cancelled")

    events = _events((await site.get("/calendar.ics")).content)
    culture = _events((await site.get("/calendar/culture.ics")).content)

    uid = event_uid(bot.app.bot.username, kept)
    assert set(events) == {uid, *(event_uid(bot.app.bot.username, m) for m in (moved, cancelled))}
    assert set(culture) == {uid, event_uid(bot.app.bot.username, cancelled)}
    assert int(str(events[event_uid(bot.app.bot.username, moved)]["SEQUENCE"])) > 0
    assert str(events[event_uid(bot.app.bot.username, cancelled)]["STATUS"]) == "CANCELLED"
    # Thirty days after the cancellation every subscribed calendar has seen it: it goes.
    bot.clock.advance(days=31)
    later = _events((await site.get("/calendar/culture.ics")).content)
    assert event_uid(bot.app.bot.username, cancelled) not in later


def _events(body: bytes) -> dict[str, Component]:
    return {str(e["UID"]): e for e in Calendar.from_ical(body).walk("VEVENT")}


async def test_calendar_feed_answers_304_until_something_changes(
    bot: BotDriver, site: httpx.AsyncClient
) -> None:
    meeting_id = await add_meeting(bot)
    first = await site.get("/calendar.ics")
    etag, modified = first.headers["etag"], first.headers["last-modified"]

    by_tag = await site.get("/calendar.ics", headers={"if-none-match": etag})
    by_date = await site.get("/calendar.ics", headers={"if-modified-since": modified})
    assert (by_tag.status_code, by_date.status_code) == (304, 304)
    assert by_tag.content == b""

    bot.clock.advance(minutes=5)
    await update_meeting(bot, meeting_id, bot.clock.now, title="Nowy tytuł spotkania")
    changed = await site.get("/calendar.ics", headers={"if-none-match": etag})
    stale = format_datetime(bot.clock.now - timedelta(minutes=1), usegmt=True)
    since = await site.get("/calendar.ics", headers={"if-modified-since": stale})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert since.status_code == 200
    assert "Nowy tytuł spotkania" in changed.text


async def test_atom_feed_has_the_rfc_4287_required_elements(
    bot: BotDriver, site: httpx.AsyncClient
) -> None:
    import xml.etree.ElementTree as ET

    published = await add_meeting(bot, title="Spotkanie nowe")
    cancelled = await add_meeting(bot, title="Spotkanie do odwołania")
    bot.clock.advance(hours=1)
    await update_meeting(bot, cancelled, bot.clock.now, state="cancelled")

    answer = await site.get("/feed.atom")

    assert answer.headers["content-type"].startswith("application/atom+xml")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.fromstring(answer.content)
    for required in ("a:id", "a:title", "a:updated", "a:author/a:name", "a:link[@rel='self']"):
        assert feed.find(required, ns) is not None, required
    entries = feed.findall("a:entry", ns)
    titles = [entry.findtext("a:title", namespaces=ns) for entry in entries]
    assert titles == [
        "Spotkanie odwołane: Spotkanie do odwołania",
        "Nowe spotkanie: Spotkanie nowe",
    ]
    for entry in entries:
        for required in ("a:id", "a:title", "a:updated", "a:link[@rel='alternate']"):
            assert entry.find(required, ns) is not None, required
    assert f"/meetings/{published}" in answer.text


async def test_the_site_listens_beside_the_bot_with_env_overrides(
    bot: BotDriver, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = make_config(tmp_path, BOT_WEB_HOST="127.0.0.1", BOT_WEB_PORT=str(port))
    await _copy_schema(bot, config)
    runner = SiteRunner(config)
    await runner.start(bot.app)
    try:
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"http://127.0.0.1:{port}/healthz")
    finally:
        await runner.stop()

    assert answer.json()["status"] == "ok"
    assert runner.task is not None
    assert runner.task.done()


async def _copy_schema(bot: BotDriver, config: Config) -> None:
    """Give the second config's database file the schema (the bot migrated its own)."""
    db = await Database.open(config.database)
    await db.close()


def test_web_settings_default_to_a_local_site() -> None:
    from bot.config import EXAMPLE_CONFIG, load_config

    config = load_config(EXAMPLE_CONFIG, {})

    assert (config.web.enabled, config.web.host, config.web.port) == (True, "127.0.0.1", 8080)
