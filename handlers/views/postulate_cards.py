"""Postulate cards and the review screens: /review's queue, a card with the actions allowed
now, /my_postulates, /postulates, and the confirmation showing what the author will get.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import limits
from bot.config import Language
from bot.i18n import Html, Texts
from bot.services import postulates_confirm as confirmations
from bot.services import postulates_review as reviews
from handlers.callbacks import Callback
from handlers.views.postulate_buttons import (
    CODES,
    CONFIRM_CODES,
    AnswerQuestion,
    Attachment,
    Back,
    Confirm,
    FullText,
    MoveTo,
    OpenCard,
    OpenForReview,
    Review,
    SupportCard,
    Take,
    Withdraw,
)
from handlers.views.postulate_notices import (
    DEADLINE_FORMAT,
    alert_text,
    state_name,
    status_text,
)
from handlers.views.publication import visibility_button
from storage.postulates import Postulate

CARD_LIMIT = limits.TEXT_LIMIT
# What a shortened card keeps of each long part, in UTF-16 units: the content, each
# clarification or answer, the supporters' names. 1,500 + 4 x 300 + 400 + the head fit.
SHORT_CONTENT = 1500
SHORT_NOTE = 300
SHORT_NAMES = 400
Rows = list[list[InlineKeyboardButton]]


@dataclass(frozen=True)
class Reader:
    """Who reads a screen: the catalogue, their language and the deployment's zone."""

    texts: Texts
    language: Language
    zone: ZoneInfo

    def t(self, key: str, /, **values: object) -> Html:
        """One message in the reader's language."""
        return self.texts.get(self.language, key, **values)

    def when(self, instant: datetime) -> str:
        """An instant in local time."""
        return instant.astimezone(self.zone).strftime(DEADLINE_FORMAT)

    def button(self, key: str, data: Callback, **values: object) -> list[InlineKeyboardButton]:
        """A row of one button labelled with a message."""
        return [InlineKeyboardButton(self.t(key, **values), callback_data=data.pack())]


def fit(lines: Sequence[str], limit: int = CARD_LIMIT) -> Html:
    """Join lines into one message under Telegram's limit, ending with … when cut."""
    kept: list[str] = []
    size = 0
    for line in lines:
        # UTF-16 units of the HTML source: never less than Telegram's count of its text.
        cost = limits.utf16_len(line) + 1
        if size + cost > limit - 2:
            kept.append("…")
            break
        kept.append(line)
        size += cost
    return Html("\n".join(kept))


def supported(r: Reader, postulate: Postulate) -> Html:
    """The postulate now co-signed, with its count of supports."""
    return r.t(
        "postulates.supported",
        reference=postulate.reference,
        title=postulate.title,
        count=postulate.supports,
    )


def _item(r: Reader, p: Postulate) -> Html:
    return r.t(
        "postulates.mine-item",
        reference=p.reference,
        title=p.title,
        state=state_name(r.texts, r.language, p.state),
        count=p.supports,
    )


def _short(value: str, limit: int = 200) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def mine(r: Reader, cards: Sequence[reviews.Card]) -> tuple[Html, InlineKeyboardMarkup]:
    """/my_postulates: mine with state and the last answer, a button to open each."""
    lines = [r.t("postulates.mine-intro")]
    rows: Rows = []
    for card in cards[:30]:
        p = card.postulate
        lines.append(_item(r, p))
        if p.answer:
            lines.append(r.t("postulates.mine-answer", note=_short(p.answer)))
        rows.append([InlineKeyboardButton(p.reference, callback_data=OpenCard(p.id).pack())])
    return fit(lines), InlineKeyboardMarkup(rows)


def browsed(r: Reader, found: Sequence[Postulate]) -> tuple[Html, InlineKeyboardMarkup]:
    """/postulates: the live postulates of my sectors, a button to open each."""
    lines = [r.t("postulates.browse-intro")]
    rows: Rows = []
    for p in found:
        lines.append(_item(r, p))
        rows.append([InlineKeyboardButton(p.reference, callback_data=OpenCard(p.id).pack())])
    return fit(lines), InlineKeyboardMarkup(rows)


def queue(r: Reader, found: reviews.Queue) -> tuple[Html, InlineKeyboardMarkup | None]:
    """/review: the counts, my sectors' queue and (for admins) the decisions, oldest first."""
    counts = found.counts
    lines = [
        r.t(
            "postulates.queue-counts",
            submitted=counts.get("submitted", 0),
            in_review=counts.get("in_review", 0),
            clarification=counts.get("clarification", 0),
            forwarded=counts.get("forwarded", 0),
        )
    ]
    rows: Rows = []
    listed = list(found.review)
    lines.append(r.t("postulates.queue-review" if found.review else "postulates.queue-empty"))
    for p in found.review:
        lines.append(_queue_item(r, p))
    if found.is_admin:
        lines.append(r.t("postulates.queue-decisions", count=len(found.decisions)))
        listed += found.decisions
        for p in found.decisions:
            lines.append(_queue_item(r, p))
    for p in listed:
        rows.append([InlineKeyboardButton(p.reference, callback_data=OpenForReview(p.id).pack())])
    return fit(lines), InlineKeyboardMarkup(rows) if rows else None


def _queue_item(r: Reader, p: Postulate) -> Html:
    return r.t(
        "postulates.queue-item",
        reference=p.reference,
        title=p.title,
        submitted=r.when(p.created_at),
    )


def _card_body(r: Reader, card: reviews.Card, short: bool) -> Html:
    """The card; `short` cuts every long part so that the whole fits in one message."""
    p = card.postulate

    def cut(value: str, units: int) -> str:
        return limits.plain_prefix(value, units) if short else value

    extra: list[str] = []
    if p.attachment_type:
        kind = r.t(f"postulates.attachment-{p.attachment_type}")
        extra.append(r.t("postulates.card-attachment", kind=kind))
    names = ", ".join(s.organisation_name or "?" for s in card.supports) or "–"
    extra.append(r.t("postulates.card-supports", count=p.supports, names=cut(names, SHORT_NAMES)))
    for entry in card.history:
        if entry.action in ("ask", "answer") and entry.note:
            key = "postulates.card-question" if entry.action == "ask" else "postulates.card-reply"
            extra.append(r.t(key, at=r.when(entry.at), note=cut(entry.note, SHORT_NOTE)))
    if card.duplicate_reference:
        extra.append(r.t("postulates.card-duplicate", reference=card.duplicate_reference))
    if p.answer and p.state in ("rejected", "adopted", "not_adopted"):
        extra.append(r.t("postulates.card-answer", note=cut(p.answer, SHORT_NOTE)))
    if short:
        extra.append(r.t("postulates.card-shortened"))
    head = r.t(
        "postulates.card",
        reference=p.reference,
        state=state_name(r.texts, r.language, p.state),
        sector=card.team.name(r.language),
        behalf=p.organisation_name or r.t("postulates.behalf-self"),
        submitted=r.when(p.created_at),
        title=p.title,
        content=cut(p.content, SHORT_CONTENT),
    )
    return Html("\n\n".join([head, *extra]))


def is_long(r: Reader, card: reviews.Card) -> bool:
    """Whether the whole card is over one message, so it shows shortened with a file."""
    return limits.html_length(_card_body(r, card, short=False)) > CARD_LIMIT


def card_text(r: Reader, card: reviews.Card) -> Html:
    """A postulate with its state, supports, clarifications and last answer; text escaped.

    A card over one message shows every long part shortened; its full text comes as a file
    (the "full text" button), so the action buttons stay on the card.
    """
    if not is_long(r, card):
        return _card_body(r, card, short=False)
    # The short parts are sized to fit; shorten() guarantees it whatever the history holds.
    return Html(limits.shorten(_card_body(r, card, short=True), CARD_LIMIT))


def full_text(r: Reader, card: reviews.Card) -> str:
    """The whole card as plain text, for the .txt file of a long card."""
    return limits.visible_text(_card_body(r, card, short=False))


def card_markup(
    r: Reader, card: reviews.Card, *, moderates: bool = False
) -> InlineKeyboardMarkup | None:
    """Buttons for the actions the viewer may take now (a moderator: also hide or show)."""
    pid = card.postulate.id
    rows: Rows = []
    for action in card.actions:
        data: Callback
        if action == "take":
            data = Take(pid)
        elif action == "withdraw":
            data = Withdraw(pid)
        elif action == "answer":
            data = AnswerQuestion(pid)
        else:
            data = Review(CODES[action], pid)
        rows.append(r.button(f"postulates.action-{action}", data))
    if card.can_support:
        reference = card.postulate.reference
        rows.append(r.button("postulates.button-support", SupportCard(pid), reference=reference))
    if card.postulate.attachment_type:
        rows.append(r.button("postulates.action-file", Attachment(pid)))
    if is_long(r, card):
        rows.append(r.button("postulates.action-full", FullText(pid)))
    if moderates and card.postulate.state != "withdrawn":
        hidden = card.postulate.hidden_at is not None
        rows.append([visibility_button(r.texts, r.language, pid, hidden)])
    return InlineKeyboardMarkup(rows) if rows else None


def move_targets(r: Reader, card: reviews.Card) -> tuple[Html, InlineKeyboardMarkup]:
    """Ask which sector a postulate moves to, one button per sector."""
    pid = card.postulate.id
    rows = [
        [InlineKeyboardButton(team.name(r.language), callback_data=MoveTo(pid, team.id).pack())]
        for team in card.sectors
    ]
    body = r.t("postulates.ask-move", reference=card.postulate.reference)
    return body, InlineKeyboardMarkup(rows)


def confirmation(r: Reader, pending: confirmations.Pending) -> tuple[Html, InlineKeyboardMarkup]:
    """What the action will send, word for word, with Confirm and Back."""
    p = pending.postulate
    parts = [r.t(f"postulates.confirm-{pending.action}", reference=p.reference, title=p.title)]
    if pending.notice is not None:
        parts.append(status_text(pending.notice, r.language, r.texts))
    if pending.alert is not None:
        parts.append(alert_text(pending.alert, r.language, r.texts))
    parts.append(r.t("postulates.confirm-question"))
    code = CONFIRM_CODES[pending.action]
    rows: Rows = [
        r.button("postulates.button-confirm", Confirm(code, p.id))
        + r.button("postulates.button-back", Back(p.id))
    ]
    return Html("\n\n".join(parts)), InlineKeyboardMarkup(rows)


def prompt(
    r: Reader, action: str, postulate: Postulate, problem: str | None = None
) -> tuple[Html, InlineKeyboardMarkup]:
    """Ask for the text an action needs (after a refused text, the reason first), with Back."""
    parts = [problem] if problem else []
    parts.append(r.t(f"postulates.prompt-{action}", reference=postulate.reference))
    rows: Rows = [r.button("postulates.button-back", Back(postulate.id))]
    return Html("\n\n".join(parts)), InlineKeyboardMarkup(rows)


# Errors whose number is a count of characters: its noun takes the count's plural form.
COUNTED_ERRORS = frozenset(
    f"postulates.error-{name}-{end}" for name in ("reason", "question") for end in ("short", "long")
)


def input_error(r: Reader, key: str, values: dict[str, object]) -> Html:
    """A refused text's error, its limit named ("at least 20 characters")."""
    if key in COUNTED_ERRORS:
        limit = values.get("minimum", values.get("maximum"))
        assert isinstance(limit, int)
        return r.texts.plural(r.language, key, limit, **values)
    return r.t(key, **values)
