"""Audit presentation: a page of the log (newest first), its ‹ › and CSV buttons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import Language
from bot.i18n import Html, Texts, escape
from bot.services.audit import AuditPage
from handlers.callbacks import Callback
from storage.audit import AuditEntry

# A line of details stays short: the CSV export has them whole.
DETAILS_MAX = 160

# Who did it, as the feature showing people draws them (a mention link).
Person = Callable[[int, str | None], Html]


@dataclass(frozen=True)
class PageButton(Callback, prefix="audit:page"):
    """‹ ›: another page of the log (0 is the newest)."""

    page: int


@dataclass(frozen=True)
class CsvButton(Callback, prefix="audit:csv"):
    """The whole log as a CSV document."""


def _details(entry: AuditEntry) -> str:
    if not entry.details:
        return ""
    parts = [f"{key}: {value}" for key, value in entry.details.items() if value is not None]
    joined = "; ".join(parts)
    if len(joined) > DETAILS_MAX:
        joined = joined[: DETAILS_MAX - 1] + "…"
    return "\n" + escape(joined) if joined else ""


def _entry(
    entry: AuditEntry,
    names: dict[int, str],
    language: Language,
    texts: Texts,
    zone: ZoneInfo,
    person: Person,
) -> str:
    key = f"audit.action.{entry.action}"
    action = texts.get(language, key) if texts.has(language, key) else entry.action
    when = entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return texts.get(
        language,
        "audit.entry",
        when=when,
        who=person(entry.actor_id, names.get(entry.actor_id)),
        action=action,
        target=entry.target,
        details=Html(_details(entry)),
    )


def page_view(
    page: AuditPage, language: Language, texts: Texts, zone: ZoneInfo, person: Person
) -> tuple[Html, InlineKeyboardMarkup | None]:
    """The page's text and its buttons (none for an empty log)."""
    if page.total == 0:
        return texts.get(language, "audit.empty"), None
    title = texts.get(
        language, "audit.title", total=page.total, page=page.page + 1, pages=page.pages
    )
    entries = (_entry(e, page.names, language, texts, zone, person) for e in page.entries)
    body = Html("\n\n".join([title, *entries]))
    nav: list[InlineKeyboardButton] = []
    if page.page > 0:
        label = texts.get(language, "audit.button-prev")
        nav.append(InlineKeyboardButton(label, callback_data=PageButton(page.page - 1).pack()))
    if page.page + 1 < page.pages:
        label = texts.get(language, "audit.button-next")
        nav.append(InlineKeyboardButton(label, callback_data=PageButton(page.page + 1).pack()))
    csv_row = [
        InlineKeyboardButton(
            texts.get(language, "audit.button-csv"), callback_data=CsvButton().pack()
        )
    ]
    return body, InlineKeyboardMarkup([nav, csv_row] if nav else [csv_row])
