"""Every card, notice and list fits Telegram's limits with maximal inputs, in both languages.

Checked like Telegram checks (bot.limits: HTML it can parse, UTF-16 units after entity
parsing, callback data bytes, button count), over inputs full of `<`, `&`, quotes and
characters outside the BMP, which count twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import InlineKeyboardMarkup, MessageEntity

from bot import limits
from bot.config import LANGUAGES, Language
from bot.i18n import Texts
from bot.services import meeting_input
from bot.services import meetings as meetings_service
from bot.services.rsvp import RsvpCounts
from handlers.broadcasts import formatted_html
from handlers.views import meetings as meetings_view
from handlers.views.meetings import card_keyboard, card_text
from storage.models import Meeting, Team

TEXTS = Texts()
ZONE = ZoneInfo("Europe/Warsaw")
# What breaks naive escaping and counting: markup, quotes, astral emoji, combining marks.
NASTY = st.sampled_from(["<", ">", "&", '"', "'", "🌳", "𝔸", "é", "ł", " ", "\n", "a", "Ż"])


def nasty_text(size: int) -> st.SearchStrategy[str]:
    """Exactly `size` characters (the service limits count characters, not units)."""
    pattern = st.lists(NASTY, min_size=1, max_size=12).map("".join)
    return pattern.map(lambda p: (p * (size // len(p) + 1))[:size])


def assert_fits(body: str, markup: InlineKeyboardMarkup | None = None) -> None:
    assert limits.html_length(body) <= limits.TEXT_LIMIT
    if markup is not None:
        rows = [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]
        problem = limits.keyboard_problem(
            [[(label, d if isinstance(d, str) else None) for label, d in row] for row in rows]
        )
        assert problem is None, problem


TEAM = Team(
    id=999_999_999,
    slug="culture",
    kind="sector",
    name_pl="Zdrowie i niepełnosprawni " * 4,
    name_en="Health and the disabled " * 4,
    description_pl="",
    description_en="",
    position=1,
)


def meeting(title: str, place: str, url: str, agenda: str) -> Meeting:
    start = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    return Meeting(
        id=999_999_999,
        team_id=TEAM.id,
        series_id=None,
        title=title,
        starts_at=start,
        duration_minutes=24 * 60,
        place=place,
        online_url="https://" + url,
        agenda=agenda,
        capacity=100_000,
        reminder_minutes="[]",
        state="cancelled",
        created_by=1,
        created_at=start,
        updated_at=start,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=nasty_text(meeting_input.TITLE_MAX),
    place=nasty_text(meeting_input.PLACE_MAX),
    url=nasty_text(meeting_input.URL_MAX - len("https://")),
    agenda=nasty_text(meeting_input.AGENDA_MAX),
    language=st.sampled_from(LANGUAGES),
)
def test_meeting_card_and_its_notices_fit(
    title: str, place: str, url: str, agenda: str, language: Language
) -> None:
    m = meeting(title, place, url, agenda)
    counts = RsvpCounts(going=100_000, maybe=100_000, not_going=100_000, waiting=100_000)
    lang = language
    assert_fits(card_text(m, TEAM, lang, TEXTS, ZONE, counts), card_keyboard(m, lang, TEXTS))
    series = meetings_service.SeriesNotice(team=TEAM, meeting=m, starts=(m.starts_at,) * 60)
    reminder = meetings_service.ReminderNotice(team=TEAM, meeting=m, lead_minutes=10_080)
    assert_fits(meetings_view.publication_text(series, lang, TEXTS, ZONE))
    assert_fits(meetings_view.reminder_text(reminder, lang, TEXTS, ZONE))
    assert_fits(meetings_view.cancellation_text(series, lang, TEXTS, ZONE))


@st.composite
def formatted(draw: st.DrawFn) -> tuple[str, list[MessageEntity]]:
    text = draw(st.lists(NASTY, min_size=1, max_size=60).map("".join))
    # Telegram's entities start and end between characters, never inside a surrogate pair.
    bounds = [limits.utf16_len(text[:i]) for i in range(len(text) + 1)]
    kinds = [
        MessageEntity.BOLD,
        MessageEntity.ITALIC,
        MessageEntity.CODE,
        MessageEntity.PRE,
        MessageEntity.TEXT_LINK,
        MessageEntity.SPOILER,
        MessageEntity.BLOCKQUOTE,
        MessageEntity.URL,
    ]
    entities = []
    for _ in range(draw(st.integers(0, 5))):
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        offset, length = bounds[start], bounds[end] - bounds[start]
        kind = draw(st.sampled_from(kinds))
        attr = draw(st.lists(NASTY, min_size=1, max_size=10).map("".join))
        entities.append(
            MessageEntity(
                kind,
                offset,
                length,
                url="https://x.org/" + attr if kind == MessageEntity.TEXT_LINK else None,
                language=attr if kind == MessageEntity.PRE else None,
            )
        )
    return text, entities


@settings(max_examples=200, deadline=None)
@given(formatted())
def test_a_moderators_formatting_always_renders_to_html_telegram_accepts(
    message: tuple[str, list[MessageEntity]],
) -> None:
    text, entities = message
    body = formatted_html(text, entities)
    # Valid HTML whose visible text is exactly what the moderator typed (surrogates intact).
    assert limits.visible_text(body).encode("utf-16-le", "surrogatepass") == text.encode(
        "utf-16-le", "surrogatepass"
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            NASTY.map(lambda c: {"<": "&lt;", ">": "&gt;", "&": "&amp;"}.get(c, c)),
            st.sampled_from(["<b>", "</b>", "<i>", "</i>", '<a href="x">', "</a>", "&#128512;"]),
        ),
        max_size=300,
    ),
    st.integers(min_value=2, max_value=200),
)
def test_shortening_keeps_valid_html_under_the_limit(pieces: list[str], limit: int) -> None:
    source = _balanced(pieces)
    short = limits.shorten(source, limit)
    assert limits.html_length(short) <= limit
    full = limits.visible_text(source)
    shown = limits.visible_text(short)
    assert shown == full or full.startswith(shown.removesuffix(limits.MARKER).rstrip())


def _balanced(pieces: list[str]) -> str:
    """Drop the tags that would not nest, close the rest: valid HTML from random pieces."""
    out: list[str] = []
    stack: list[str] = []
    for piece in pieces:
        if piece.startswith("</"):
            if stack and stack[-1] == piece[2:-1]:
                stack.pop()
                out.append(piece)
            continue
        if piece.startswith("<"):
            name = piece[1:].split(">")[0].split(" ")[0]
            stack.append(name)
        out.append(piece)
    out.extend(f"</{name}>" for name in reversed(stack))
    return "".join(out)
