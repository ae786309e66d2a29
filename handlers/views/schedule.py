"""Schedule presentation: the /meetings and sector lists, their page and sector buttons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import Language
from bot.i18n import Html, Texts
from bot.services import schedule as schedule_service
from bot.services.schedule import SchedulePage
from handlers.callbacks import Callback
from handlers.views.meetings import local_when, mine_line
from storage.models import Team

# Buttons carry a short title; Telegram cuts long labels anyway, but readably is better.
LABEL_TITLE = 40
_MARKS = {"going": "✅", "maybe": "🤔", "not_going": "❌"}


@dataclass(frozen=True)
class OpenMeeting(Callback, prefix="sched:open"):
    """Open one meeting's card (from /meetings lists and notices)."""

    meeting_id: int


@dataclass(frozen=True)
class PageButton(Callback, prefix="sched:page"):
    """A page of my sectors' or all meetings, and the mine/all toggle."""

    scope: Literal["mine", "all"]
    page: int


@dataclass(frozen=True)
class TeamPage(Callback, prefix="sched:team"):
    """A page of one sector team's schedule (also the /schedule sector buttons)."""

    team_id: int
    page: int


def _short(title: str) -> str:
    return title if len(title) <= LABEL_TITLE else title[: LABEL_TITLE - 1] + "…"


def page_text(page: SchedulePage, language: Language, texts: Texts, zone: ZoneInfo) -> Html:
    """A page of the list: a header, then a numbered line per meeting with my answer's mark."""
    if page.scope == "mine":
        header = texts.get(language, "schedule.header-mine")
    elif page.scope == "all":
        header = texts.get(language, "schedule.header-all")
    else:
        name = page.team.name(language) if page.team is not None else ""
        header = texts.get(language, "schedule.header-team", team=name)
    lines: list[str] = [header]
    if not page.items:
        if page.page > 0:
            lines.append(texts.get(language, "schedule.page-empty"))
        elif page.scope == "mine" and page.subscribed == 0:
            lines.append(texts.get(language, "schedule.no-sectors"))
        elif page.scope == "mine":
            lines.append(texts.get(language, "schedule.empty-mine"))
        else:
            lines.append(texts.get(language, "schedule.empty"))
        return Html("\n\n".join(lines))
    for number, item in enumerate(page.items, start=page.page * schedule_service.PAGE_SIZE + 1):
        mark = ""
        if item.mine is not None:
            mark = " ⏳" if item.mine.waiting else " " + _MARKS[item.mine.answer]
            mark += "\n" + (mine_line(item, language, texts) or "")
        lines.append(
            texts.get(
                language,
                "schedule.line",
                number=number,
                title=item.meeting.title,
                when=local_when(item.meeting.starts_at, language, zone),
                team=item.team.name(language),
            )
            + mark
        )
    lines.append(texts.get(language, "schedule.open-hint"))
    return Html("\n\n".join(lines))


def _turn(page: SchedulePage, number: int) -> str:
    if page.scope == "mine" or page.scope == "all":
        return PageButton(page.scope, number).pack()
    return TeamPage(page.scope, number).pack()


def page_keyboard(
    page: SchedulePage, language: Language, texts: Texts, bot_username: str
) -> InlineKeyboardMarkup:
    """A button per meeting, ‹ ›, the mine/all toggle and, for a sector, "submit a postulate"."""
    rows = []
    first = page.page * schedule_service.PAGE_SIZE + 1
    for number, item in enumerate(page.items, start=first):
        label = f"{number}. {_short(item.meeting.title)}"
        rows.append(
            [InlineKeyboardButton(label, callback_data=OpenMeeting(item.meeting.id).pack())]
        )
    nav = []
    if page.page > 0:
        nav.append(InlineKeyboardButton("‹", callback_data=_turn(page, page.page - 1)))
    if page.has_next:
        nav.append(InlineKeyboardButton("›", callback_data=_turn(page, page.page + 1)))
    if nav:
        rows.append(nav)
    if page.scope == "mine":
        toggle = ("schedule.show-all", PageButton("all", 0))
    else:
        toggle = ("schedule.show-mine", PageButton("mine", 0))
    rows.append(
        [InlineKeyboardButton(texts.get(language, toggle[0]), callback_data=toggle[1].pack())]
    )
    if page.team is not None:
        # A sector's own schedule is its card: submit a postulate to it from here (the deep
        # link opens /postulate with the sector chosen).
        link = f"https://t.me/{bot_username}?start=postulate-{page.team.slug}"
        rows.append(
            [InlineKeyboardButton(texts.get(language, "schedule.button-postulate"), url=link)]
        )
    return InlineKeyboardMarkup(rows)


def sectors_keyboard(teams: Sequence[Team], language: Language) -> InlineKeyboardMarkup:
    """A button per sector team, opening its schedule (/schedule without a slug)."""
    rows = [
        [InlineKeyboardButton(team.name(language), callback_data=TeamPage(team.id, 0).pack())]
        for team in teams
    ]
    return InlineKeyboardMarkup(rows)
