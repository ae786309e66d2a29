"""The public site in a real browser (Debian's chromium via Playwright) checked with axe-core."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Config
from bot.web.server import SiteRunner
from tests.harness import BotDriver
from tests.meeting_factory import add_meeting, user
from tests.test_postulates_helpers import represent, submit
from tests.test_web_consultations import seed_consultation

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Screenshots are CI artefacts, never committed (the folder is git-ignored).
OUTPUT = Path(__file__).resolve().parent.parent / "test-output" / "web"
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def _browser_or_skip() -> None:
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        reason = f"chromium not found at {CHROMIUM} (apt-get install -y chromium)"
        # In CI a missing browser is a broken setup, not a reason to test less.
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
async def served(bot: BotDriver) -> AsyncIterator[str]:
    """The site on a free local port beside the running bot, with a few teams' meetings."""
    _browser_or_skip()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base: Config = bot.app.bot_data["config"]
    config = base.model_copy(update={"web": base.web.model_copy(update={"port": port})})
    await bot.onboard(user(1), sectors=["culture"])
    await add_meeting(bot, title="Forum organizacji kultury", capacity=40)
    await add_meeting(bot, team="education", title="Spotkanie zespołu edukacji")
    await represent(bot, user(1), "Fundacja Kultury Otwartej")
    await submit(bot, user(1), title="Dłuższe godziny otwarcia domów kultury")
    await bot.onboard(user(2))
    await seed_consultation(bot, individual=user(2), representative=user(1))
    runner = SiteRunner(config)
    await runner.start(bot.app)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.stop()


PAGES = [
    "/",
    "/sectors/culture",
    "/meetings/1",
    "/postulates",
    "/postulates/P-2026-0001",
    "/consultations",
    "/consultations/1",
    "/dostepnosc",
    "/nowhere",
]


async def test_every_page_type_reads_right_and_has_no_wcag_violations(served: str) -> None:
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for width in (375, 1280):
                page = await browser.new_page(viewport={"width": width, "height": 900})
                for prefix in ("", "/en"):
                    for path in PAGES:
                        url = served + (prefix + path if path != "/" else prefix + "/")
                        await page.goto(url)
                        lang = "en" if prefix else "pl"
                        assert await page.get_attribute("html", "lang") == lang, url
                        assert await page.locator("h1").count() == 1, url
                        results = await axe.run(page, options=WCAG_21_AA)
                        assert results.violations_count == 0, results.generate_report()
                        name = (prefix + path).strip("/").replace("/", "-") or "home"
                        await page.screenshot(
                            path=str(OUTPUT / f"{name}-{width}.png"), full_page=True
                        )
                await page.close()
        finally:
            await browser.close()


async def test_a_visitor_follows_a_sector_and_adds_a_meeting_to_the_calendar(served: str) -> None:
    from icalendar import Calendar
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page()
            await page.goto(served + "/")
            await page.get_by_role("link", name="Kultura").first.click()
            await page.wait_for_url("**/sectors/culture")
            assert "Forum organizacji kultury" in await page.locator("main").inner_text()
            await page.get_by_role("link", name="Forum organizacji kultury").click()
            await page.wait_for_url("**/meetings/1")
            async with page.expect_download() as waiting:
                await page.get_by_role("link", name="Dodaj do kalendarza", exact=False).click()
            download = await waiting.value
            body = await asyncio.to_thread(Path(await download.path()).read_bytes)
            (event,) = Calendar.from_ical(body).walk("VEVENT")
            assert str(event["SUMMARY"]) == "Forum organizacji kultury"
            assert str(event["UID"]).startswith("meeting-1@")
        finally:
            await browser.close()
