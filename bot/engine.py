"""The delivery engine: one object, built by the app factory and owned by the Application.

It holds what the features registered (audiences, notice kinds, the recipients' screen,
hooks run after each settling cycle) and the state of its runs (one run at a time, the pace,
each group's last minute of sends, rendered payloads). `build_engine` is the one place that
names the features taking part; importing any module registers nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import telegram
from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.ext import Job

from bot.config import Language
from bot.i18n import Texts
from bot.services import (
    broadcasts,
    consultations,
    delivery,
    groups,
    meetings,
    organisations,
    postulates,
    publication,
    roles,
    rsvp,
    settings,
)
from storage import delivery as storage

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)

# Telegram lets a bot post at most this many messages a minute in one group.
GROUP_PER_MINUTE = 20
_MINUTE = timedelta(minutes=1)
# Rendered payloads kept; a notice is parsed once, not once per copy.
_RENDERED_MAX = 1000

# Run after each settling cycle (final=False) and once after a run (final=True), outside any
# transaction: e.g. broadcasts edit their progress message. Each must be quick; errors are
# logged, never stop the sends.
AfterSettle = Callable[["Deps", telegram.Bot, bool], Awaitable[None]]


@dataclass(frozen=True)
class Rendered:
    """A notice ready to send: HTML text (or caption), buttons, an optional photo/document."""

    text: str
    markup: InlineKeyboardMarkup | None = None
    photo: str | None = None
    document: str | None = None


def render(payload: dict[str, Any]) -> Rendered:
    """One language's payload (an OutgoingMessage dump) as something to send."""
    markup = payload.get("reply_markup")
    return Rendered(
        text=str(payload["text"]),
        markup=None if not markup else InlineKeyboardMarkup.de_json(markup, None),
        photo=payload.get("photo_file_id"),
        document=payload.get("document_file_id"),
    )


async def send_rendered(bot: telegram.Bot, chat_id: int, message: Rendered) -> telegram.Message:
    """Send one notice the way every recipient gets it (also used for previews)."""
    caption = message.text or None
    if message.photo is not None:
        return await bot.send_photo(
            chat_id=chat_id,
            photo=message.photo,
            caption=caption,
            parse_mode=ParseMode.HTML,
            reply_markup=message.markup,
        )
    if message.document is not None:
        return await bot.send_document(
            chat_id=chat_id,
            document=message.document,
            caption=caption,
            parse_mode=ParseMode.HTML,
            reply_markup=message.markup,
        )
    return await bot.send_message(
        chat_id=chat_id, text=message.text, parse_mode=ParseMode.HTML, reply_markup=message.markup
    )


# Turns one notice kind's data (as queued by a service) into one language's message.
NoticeRenderer = Callable[[dict[str, Any], Language, Texts, ZoneInfo], Rendered]


class Pacer:
    """Spaces sends evenly at `rate` per second, on the event loop's monotonic clock."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._next = 0.0

    async def wait(self) -> None:
        """Wait for the next send's slot."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        # A fixed schedule, not "sleep 1/rate after each send": oversleeping is made up by
        # the next slots, so the long-run rate is the configured one; idle time is not saved.
        start = max(self._next, now)
        self._next = start + 1.0 / self.rate
        if start > now:
            await asyncio.sleep(start - now)


class DeliveryEngine(delivery.Registry):
    """The registry the features fill, plus the after-settle hooks and the runs' state."""

    def __init__(self) -> None:
        super().__init__()
        self.after_settle: list[AfterSettle] = []
        self.renderers: dict[str, NoticeRenderer] = {}
        # One run at a time; a wake-up during a run makes it run once more (`again`).
        self.lock = asyncio.Lock()
        self.again = False
        self.pacer = Pacer(25.0)
        self._rendered: dict[tuple[str, str], Rendered] = {}
        # Recent send times per group chat (deps.clock()), for GROUP_PER_MINUTE.
        self._group_sends: dict[int, list[datetime]] = {}
        # The JobQueue's repeating job that runs the engine; None = nobody drives it (tests
        # that tick by hand), and then a wake-up does nothing.
        self._driver: Job[Any] | None = None
        # When the last run finished (deps.clock()): the operator's /healthz shows it.
        self.last_run_at: datetime | None = None

    def add_renderer(self, kind: str, renderer: NoticeRenderer) -> None:
        """Render the notices of `kind` (their data) with `renderer` when they are sent."""
        if kind in self.renderers:
            raise ValueError(f"notice kind {kind!r} has a renderer already")
        self.renderers[kind] = renderer

    def add_after_settle(self, hook: AfterSettle) -> None:
        """Run `hook` after each settling cycle and once after each run."""
        self.after_settle.append(hook)

    async def run_after_settle(self, deps: Deps, bot: telegram.Bot, final: bool) -> None:
        """Run the after-settle hooks; a failing hook is logged and the sends go on."""
        for hook in self.after_settle:
            try:
                await hook(deps, bot, final)
            except Exception:
                log.exception("After-settle hook %s failed", getattr(hook, "__name__", hook))

    def drive(self, job: Job[Any]) -> None:
        """Make `job` (the repeating dispatcher job) the one a wake-up runs at once."""
        self._driver = job

    def wake(self) -> None:
        """Ask for a run now: an announcement was just committed.

        The repeating job is moved to now, so the JobQueue still runs the engine and a wake
        during a run is coalesced with it (that run goes round once more); the interval
        stays as the safety net.
        """
        if self.lock.locked():
            self.again = True
            return
        job = self._driver
        if job is None or job.removed:
            return
        job.job.modify(next_run_time=datetime.now(UTC))

    def message(self, item: storage.Claimed, texts: Texts, zone: ZoneInfo) -> Rendered:
        """The claimed copy's notice in its recipient's language, rendered once per notice."""
        # Keyed by the payload itself, not the id: SQLite may reuse the id of a deleted row.
        key = (item.payload, item.language)
        cached = self._rendered.get(key)
        if cached is None:
            if len(self._rendered) > _RENDERED_MAX:
                self._rendered.clear()
            payload = json.loads(item.payload)
            notice = payload.get(delivery.NOTICE_KEY)
            if notice is None:
                cached = render(payload[item.language])
            else:
                renderer = self.renderers[notice["kind"]]
                cached = renderer(notice["data"], item.language, texts, zone)
            self._rendered[key] = cached
        return cached

    def group_wait(self, chat_id: int, now: datetime) -> datetime | None:
        """For a group at its per-minute limit, when the next send may go; else None
        (and the send is counted)."""
        if chat_id >= 0:
            return None
        recent = [at for at in self._group_sends.get(chat_id, []) if now - at < _MINUTE]
        if len(recent) >= GROUP_PER_MINUTE:
            self._group_sends[chat_id] = recent
            return recent[0] + _MINUTE
        recent.append(now)
        self._group_sends[chat_id] = recent
        return None


def build_engine() -> DeliveryEngine:
    """A new engine with every feature's audiences, notice kinds and screen registered."""
    # The Telegram renderers import this module (Rendered), so they are imported when an
    # engine is built, not when this module is.
    from handlers import views

    engine = DeliveryEngine()
    delivery.register(engine)
    # Order matters once: groups extend the 'meeting' audience that meetings register.
    for feature in (
        meetings,
        groups,
        rsvp,
        postulates,
        broadcasts,
        settings,
        roles,
        organisations,
        publication,
        consultations,
    ):
        feature.register(engine)
    # One renderer per notice kind queued as data (the services return data, not text).
    for view in (
        views.broadcasts,
        views.meetings,
        views.organisations,
        views.roles,
        views.rsvp,
        views.settings,
        views.postulates,
        views.publication,
        views.consultations,
    ):
        view.register(engine)
    return engine
