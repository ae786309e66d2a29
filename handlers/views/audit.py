"""Audit presentation: a page of the log (newest first), its ‹ › and CSV buttons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import datefmt
from bot.config import Language
from bot.i18n import Html, Texts, escape
from bot.services.audit import AuditPage, target_user
from handlers.callbacks import Callback
from handlers.views.people import person_link
from storage.audit import AuditEntry

# A line of details stays short: the CSV export has them whole.
DETAILS_MAX = 160


@dataclass(frozen=True)
class PageButton(Callback, prefix="audit:page"):
    """‹ ›: another page of the log (0 is the newest)."""

    page: int


@dataclass(frozen=True)
class CsvButton(Callback, prefix="audit:csv"):
    """The whole log as a CSV document."""


# Detail values that are instants (ISO text in the log), shown as local times.
_INSTANTS = frozenset({"deadline", "due_at", "expires_at", "starts_at"})
# Detail values that name a postulate's state or a review action, shown in words.
_STATES = frozenset({"from", "to"})


def _local(at: datetime, language: Language, zone: ZoneInfo) -> str:
    return format_datetime(at.astimezone(zone), "d MMM y, HH:mm", locale=language)


def _value(
    key: str, value: object, page: AuditPage, language: Language, texts: Texts, zone: ZoneInfo
) -> str:
    if key == "sectors" and value == "all":
        return texts.get(language, "audit.value.all-sectors")
    if key in ("sector", "sectors"):
        slugs = value if isinstance(value, list) else [value]
        return ", ".join(
            page.teams[str(slug)].name(language) if str(slug) in page.teams else str(slug)
            for slug in slugs
        )
    if key in _INSTANTS and isinstance(value, str):
        try:
            return _local(datetime.fromisoformat(value), language, zone)
        except ValueError:
            return value
    if key in _STATES and texts.has(language, f"postulates.state-{value}"):
        return texts.get(language, f"postulates.state-{value}")
    if key == "action" and texts.has(language, f"postulates.action-{value}"):
        return texts.get(language, f"postulates.action-{value}")
    if key == "via" and texts.has(language, f"audit.via.{value}"):
        return texts.get(language, f"audit.via.{value}")
    if key == "field" and isinstance(value, str):
        # A meeting's changed fields, by the labels of the /edit_meeting form.
        return ", ".join(
            texts.get(language, f"meetings.field-{name}")
            if texts.has(language, f"meetings.field-{name}")
            else name
            for name in value.split(",")
        )
    if key in ("scope", "attachment") and texts.has(language, f"audit.value.{value}"):
        return texts.get(language, f"audit.value.{value}")
    if isinstance(value, bool):
        return texts.get(language, "audit.yes" if value else "audit.no")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _details(
    entry: AuditEntry, page: AuditPage, language: Language, texts: Texts, zone: ZoneInfo
) -> str:
    if not entry.details:
        return ""
    parts = []
    for key, value in entry.details.items():
        # Ids of internal rows (an invite's, a request's) mean nothing to a person.
        if value is None or value == "" or key in ("invite", "request"):
            continue
        label_key = f"audit.detail.{key}"
        label = texts.get(language, label_key) if texts.has(language, label_key) else key
        parts.append(f"{label}: {_value(key, value, page, language, texts, zone)}")
    joined = "; ".join(parts)
    if len(joined) > DETAILS_MAX:
        joined = joined[: DETAILS_MAX - 1] + "…"
    return "\n" + escape(joined) if joined else ""


def _who(user_id: int, page: AuditPage, language: Language, texts: Texts) -> Html:
    name = page.people.get(user_id)
    granted_as = page.names.get(user_id)
    if (name is None or not name.known) and granted_as:
        return Html(f'<a href="tg://user?id={user_id}">{escape(granted_as)}</a>')
    return person_link(texts, language, user_id, name)


def _target(entry: AuditEntry, page: AuditPage, language: Language, texts: Texts) -> Html:
    user = target_user(entry.target)
    if user is not None:
        return _who(user, page, language, texts)
    kind, _, value = entry.target.partition(":")
    title = (entry.details or {}).get("title")
    key = f"audit.target.{kind}"
    if not texts.has(language, key):
        return Html(escape(kind))
    # Numbers people use (a meeting's, a postulate's reference) stay; internal ones go.
    return texts.get(language, key, number=value, title=title or "")


def _entry(
    entry: AuditEntry, page: AuditPage, language: Language, texts: Texts, zone: ZoneInfo
) -> str:
    key = f"audit.action.{entry.action}"
    action = texts.get(language, key) if texts.has(language, key) else entry.action
    return texts.get(
        language,
        "audit.entry",
        when=_local(entry.at, language, zone),
        who=_who(entry.actor_id, page, language, texts),
        action=action,
        target=_target(entry, page, language, texts),
        details=Html(_details(entry, page, language, texts, zone)),
    )


def page_view(
    page: AuditPage, language: Language, texts: Texts, zone: ZoneInfo
) -> tuple[Html, InlineKeyboardMarkup | None]:
    """The page's text and its buttons (none for an empty log)."""
    if page.total == 0:
        return texts.get(language, "audit.empty"), None
    # The zone as people name it: "czas polski" for the default, the zone's name otherwise.
    zone_name = datefmt.zone_name(zone.key, language, texts)
    title = texts.get(
        language,
        "audit.title",
        total=page.total,
        page=page.page + 1,
        pages=page.pages,
        zone=zone_name,
    )
    entries = (_entry(e, page, language, texts, zone) for e in page.entries)
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
