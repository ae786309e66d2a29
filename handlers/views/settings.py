"""Settings presentation: the /settings summary, its buttons and the daily digest notice."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import Language
from bot.engine import DeliveryEngine, NoticeRenderer, Rendered
from bot.i18n import Html, Texts
from bot.services import delivery
from bot.services import settings as settings_service
from bot.services.settings import SettingsView
from handlers.callbacks import Callback
from handlers.views.meetings import format_lead

HOURS_PER_ROW = 6
# One news item in the digest is cut to this many characters of plain text.
DIGEST_ITEM_MAX = 300
# The digest stays under Telegram's 4,096 characters; the rest is counted ("and 3 more").
DIGEST_MAX = 3800
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Menu(Callback, prefix="set"):
    """The fixed buttons: `set:quiet` (choose hours), `set:qoff`, `set:main`, `set:digest`."""

    action: Literal["quiet", "qoff", "main", "digest"]


@dataclass(frozen=True)
class Mute(Callback, prefix="set:mute"):
    """Mute or unmute one subscribed sector."""

    team_id: int


@dataclass(frozen=True)
class Lead(Callback, prefix="set:lead"):
    """Turn one reminder lead time (minutes) off or on."""

    minutes: int


@dataclass(frozen=True)
class QuietStart(Callback, prefix="set:qs"):
    """The first hour of the quiet window was chosen."""

    hour: int


@dataclass(frozen=True)
class QuietEnd(Callback, prefix="set:qe"):
    """The window's last hour was chosen (the first travels along)."""

    start: int
    end: int


def hhmm(minutes: int) -> str:
    """Minutes after midnight as 07:30."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _label(texts: Texts, language: Language, key: str, **values: object) -> str:
    # Button labels are plain text: what the catalogue escaped is shown unescaped.
    return html.unescape(texts.get(language, key, **values))


def settings_text(view: SettingsView, language: Language, texts: Texts, digest_hour: int) -> Html:
    """The /settings summary."""
    lines = [texts.get(language, "settings.title")]
    lines.append(texts.get(language, "settings.sectors" if view.teams else "settings.sectors-none"))
    chosen = [lead for lead in view.leads if lead in view.leads_on]
    if chosen:
        leads = ", ".join(format_lead(lead, language, texts) for lead in chosen)
        lines.append(texts.get(language, "settings.reminders", leads=leads))
    else:
        lines.append(texts.get(language, "settings.reminders-none"))
    if view.quiet is None:
        lines.append(texts.get(language, "settings.quiet-off"))
    else:
        start, end = (hhmm(value) for value in view.quiet)
        lines.append(texts.get(language, "settings.quiet-on", start=start, end=end))
    if view.digest:
        lines.append(texts.get(language, "settings.digest-on", hour=hhmm(digest_hour * 60)))
    else:
        lines.append(texts.get(language, "settings.digest-off"))
    return Html("\n\n".join(lines))


def settings_keyboard(view: SettingsView, language: Language, texts: Texts) -> InlineKeyboardMarkup:
    """One toggle per subscribed sector and per lead time, then quiet hours and digest."""
    rows = []
    for team in view.teams:
        key = "settings.button-muted" if team.id in view.muted else "settings.button-unmuted"
        label = _label(texts, language, key, name=team.name(language))
        rows.append([InlineKeyboardButton(label, callback_data=Mute(team.id).pack())])
    leads = []
    for lead in view.leads:
        key = "settings.button-lead-on" if lead in view.leads_on else "settings.button-lead-off"
        label = _label(texts, language, key, lead=format_lead(lead, language, texts))
        leads.append(InlineKeyboardButton(label, callback_data=Lead(lead).pack()))
    if leads:
        rows.append(leads)
    quiet = _label(texts, language, "settings.button-quiet")
    rows.append([InlineKeyboardButton(quiet, callback_data=Menu("quiet").pack())])
    key = "settings.button-digest-on" if view.digest else "settings.button-digest-off"
    rows.append(
        [InlineKeyboardButton(_label(texts, language, key), callback_data=Menu("digest").pack())]
    )
    return InlineKeyboardMarkup(rows)


def hours_keyboard(
    language: Language, texts: Texts, start: int | None = None
) -> InlineKeyboardMarkup:
    """24 hours to choose the window's start (start None) or its end, then off and back."""
    hours = [
        InlineKeyboardButton(
            hhmm(hour * 60),
            callback_data=(QuietStart(hour) if start is None else QuietEnd(start, hour)).pack(),
        )
        for hour in range(24)
        if hour != start
    ]
    rows = [hours[i : i + HOURS_PER_ROW] for i in range(0, len(hours), HOURS_PER_ROW)]
    rows.append(
        [
            InlineKeyboardButton(
                _label(texts, language, "settings.button-quiet-off"),
                callback_data=Menu("qoff").pack(),
            ),
            InlineKeyboardButton(
                _label(texts, language, "settings.button-back"), callback_data=Menu("main").pack()
            ),
        ]
    )
    return InlineKeyboardMarkup(rows)


def _plain(text: str) -> str:
    plain = " ".join(html.unescape(_TAG.sub(" ", text)).split())
    if len(plain) > DIGEST_ITEM_MAX:
        plain = plain[: DIGEST_ITEM_MAX - 1].rstrip() + "…"
    return html.escape(plain, quote=False)


def digest_text(items: list[str], language: Language, texts: Texts) -> Html:
    """The daily digest: a title and one short plain paragraph per news item (given as HTML)."""
    parts = [texts.plural(language, "settings.digest-title", len(items))]
    length = len(parts[0])
    shown = 0
    for item in items:
        entry = texts.get(language, "settings.digest-item", text=Html(_plain(item)))
        if length + len(entry) + 2 > DIGEST_MAX:
            break
        parts.append(entry)
        length += len(entry) + 2
        shown += 1
    if shown < len(items):
        parts.append(texts.plural(language, "settings.digest-more", len(items) - shown))
    return Html("\n\n".join(parts))


def _digest_renderer(engine: DeliveryEngine) -> NoticeRenderer:
    def digest(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
        notice = settings_service.Digest.model_validate(data)
        items = []
        for entry in notice.entries:
            held = entry.payload.get(delivery.NOTICE_KEY)
            if held is None:
                items.append(str(entry.payload[language]["text"]))
            else:
                # News queued as data is summed up from its own renderer's text.
                render = engine.renderers[held["kind"]]
                items.append(render(held["data"], language, texts, zone).text)
        return Rendered(text=digest_text(items, language, texts))

    return digest


def register(engine: DeliveryEngine) -> None:
    """Render the daily digest."""
    engine.add_renderer(settings_service.DIGEST_KIND, _digest_renderer(engine))
