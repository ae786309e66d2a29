"""Postulates presentation: the draft's steps, cards, lists, notices, and every typed button.

Every `pst:` and `rev:` button is a typed callback here; the data shapes are the ones users
already have on their screens (`pst:sector:3`, `rev:fwd:12`, `rev:to:12:4`, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import datefmt, limits
from bot.config import Language
from bot.engine import DeliveryEngine, Rendered
from bot.i18n import Html, Texts, escape
from bot.services import postulates as service
from bot.services import postulates_drafts as drafts
from bot.services import postulates_review as reviews
from handlers.callbacks import Callback, Slug
from handlers.views.publication import visibility_button
from storage.postulates import Postulate

# The deadline of a call as everyone reads it, in the deployment's zone.
DEADLINE_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class OpenForReview(Callback, prefix="rev:open"):
    """Open a postulate's card for review (moderators, the coordinating team)."""

    postulate_id: int


@dataclass(frozen=True)
class AnswerQuestion(Callback, prefix="pst:answer"):
    """The author answers the reviewers' question about their postulate."""

    postulate_id: int


@dataclass(frozen=True)
class SubmitToCall(Callback, prefix="pst:new"):
    """Start a postulate in the sector of an open call (`pst:new:<slug>`)."""

    slug: Slug


# --- the draft's buttons (the author's private chat) ---


@dataclass(frozen=True)
class PickSector(Callback, prefix="pst:sector"):
    """The draft's sector."""

    team_id: int


@dataclass(frozen=True)
class OnBehalf(Callback, prefix="pst:behalf"):
    """Submit for the author's organisation or as themselves."""

    who: Literal["self", "organisation"]


@dataclass(frozen=True)
class EditField(Callback, prefix="pst:edit"):
    """Change one field from the preview."""

    field: Literal["sector", "title", "content", "attachment"]


@dataclass(frozen=True)
class DraftStep(Callback, prefix="pst"):
    """A step without a value: the content is complete, no attachment, go on, drop the draft."""

    step: Literal["done", "skip", "continue", "cancel"]


@dataclass(frozen=True)
class SupportSimilar(Callback, prefix="pst:support"):
    """Co-sign a similar postulate instead of submitting the draft."""

    postulate_id: int


@dataclass(frozen=True)
class Submit(Callback, prefix="pst:submit"):
    """Submit the previewed draft."""

    draft_id: int


# --- buttons on a postulate's card ---


@dataclass(frozen=True)
class Withdraw(Callback, prefix="pst:withdraw"):
    """The author withdraws their postulate."""

    postulate_id: int


@dataclass(frozen=True)
class OpenCard(Callback, prefix="pst:card"):
    """Open a postulate's card from /my_postulates or /postulates."""

    postulate_id: int


@dataclass(frozen=True)
class SupportCard(Callback, prefix="pst:sup"):
    """Co-sign the postulate on its card."""

    postulate_id: int


# Short codes keep `rev:<code>:<id>` well under 64 bytes; the codes are on users' screens.
ReviewCode = Literal["fwd", "rej", "ask", "dup", "mov", "yes", "no"]
ACTIONS: dict[str, reviews.Action] = {
    "fwd": "forward",
    "rej": "reject",
    "ask": "ask",
    "dup": "duplicate",
    "mov": "move",
    "yes": "adopt",
    "no": "not_adopt",
}
CODES: dict[str, ReviewCode] = {
    "forward": "fwd",
    "reject": "rej",
    "ask": "ask",
    "duplicate": "dup",
    "move": "mov",
    "adopt": "yes",
    "not_adopt": "no",
}


@dataclass(frozen=True)
class Review(Callback, prefix="rev"):
    """A reviewer's action on a postulate (forward at once; the others ask for a text)."""

    code: ReviewCode
    postulate_id: int

    @property
    def action(self) -> reviews.Action:
        """The state machine's name of the action."""
        return ACTIONS[self.code]


@dataclass(frozen=True)
class MoveTo(Callback, prefix="rev:to"):
    """Move a postulate to another sector."""

    postulate_id: int
    team_id: int


@dataclass(frozen=True)
class Attachment(Callback, prefix="rev:file"):
    """Send the postulate's attachment."""

    postulate_id: int


@dataclass(frozen=True)
class FullText(Callback, prefix="rev:full"):
    """Send a long card's whole text as a .txt file."""

    postulate_id: int


AUTHOR_BUTTONS = (AnswerQuestion, Withdraw, OpenCard)
DRAFT_BUTTONS = (PickSector, OnBehalf, EditField, DraftStep, SupportSimilar, Submit, SubmitToCall)
REVIEW_BUTTONS = (OpenForReview, Review, MoveTo, Attachment, FullText)


def state_name(texts: Texts, language: Language, state: str) -> str:
    """The translated name of a postulate's state."""
    return texts.get(language, f"postulates.state-{state}")


def deadline_text(notice: service.CallNotice, zone: ZoneInfo) -> str:
    """The call's deadline in local time."""
    return notice.deadline.astimezone(zone).strftime(DEADLINE_FORMAT)


def _button(label: str, data: Callback) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data.pack())]])


def draft_expired(
    data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo
) -> Rendered:
    """The author's idle draft was dropped."""
    service.DraftExpired.model_validate(data)
    return Rendered(text=texts.get(language, "postulates.draft-expired"))


def status(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    """The author's notice: submitted, forwarded, answered, ... with the answer if any."""
    notice = service.StatusNotice.model_validate(data)
    body = texts.get(
        language,
        f"postulates.notice-{notice.event}",
        reference=notice.reference,
        title=notice.title,
        state=state_name(texts, language, notice.state),
        sector=notice.team.name(language),
    )
    if notice.note:
        body = Html(
            body + "\n\n" + texts.get(language, "postulates.notice-answer", note=notice.note)
        )
    markup = None
    if notice.event == "ask":
        markup = _button(
            texts.get(language, "postulates.button-answer"), AnswerQuestion(notice.postulate_id)
        )
    return Rendered(text=body, markup=markup)


def alert(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    """The moderators' alert: a new, answered, withdrawn, forwarded or moved postulate."""
    notice = service.ModeratorAlert.model_validate(data)
    body = texts.get(
        language,
        f"postulates.alert-{notice.event}",
        reference=notice.reference,
        title=notice.title,
        sector=notice.team.name(language),
    )
    button = _button(
        texts.get(language, "postulates.button-open"), OpenForReview(notice.postulate_id)
    )
    return Rendered(text=body, markup=button)


def _call(
    key: str, data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo
) -> Rendered:
    notice = service.CallNotice.model_validate(data)
    body = texts.get(
        language,
        key,
        title=notice.title,
        sector=notice.team.name(language),
        deadline=deadline_text(notice, zone),
    )
    button = _button(
        texts.get(language, "postulates.button-submit-to-call"),
        SubmitToCall(Slug(notice.team.slug)),
    )
    return Rendered(text=body, markup=button)


def call_opened(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    """Subscribers learn of a new call for postulates in their sector."""
    return _call("postulates.call-opened", data, language, texts, zone)


def call_reminder(
    data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo
) -> Rendered:
    """48 hours before a call closes."""
    return _call("postulates.call-reminder", data, language, texts, zone)


def register(engine: DeliveryEngine) -> None:
    """Render the postulates' notices."""
    engine.add_renderer(service.DRAFT_EXPIRED_KIND, draft_expired)
    engine.add_renderer(service.STATUS_KIND, status)
    engine.add_renderer(service.ALERT_KIND, alert)
    engine.add_renderer(service.CALL_OPENED_KIND, call_opened)
    engine.add_renderer(service.CALL_REMINDER_KIND, call_reminder)


# --- screens ---

# The preview shares its message with a problem line when a step was refused.
PREVIEW_LIMIT = limits.TEXT_LIMIT - 500
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


def draft(r: Reader, outcome: drafts.DraftOutcome) -> tuple[Html, InlineKeyboardMarkup | None]:
    """The message for where the draft stands (after a problem, the problem first)."""
    parts: list[str] = []
    if outcome.problem:
        parts.append(r.t(outcome.problem, **outcome.problem_values))
    if outcome.cancelled:
        return r.t("postulates.cancelled"), None
    if outcome.supported is not None:
        return supported(r, outcome.supported), None
    if outcome.submitted is not None:
        return (
            r.t(
                "postulates.submitted",
                reference=outcome.submitted.reference,
                title=outcome.submitted.title,
            ),
            None,
        )
    current = outcome.draft
    if current is None:
        return r.t("error.stale-button"), None
    if outcome.resumed:
        parts.append(r.t("postulates.resumed"))
    rows: Rows = []
    step = current.step
    if step == "sector":
        parts.append(r.t("postulates.ask-sector"))
        names = {team.id: team.name(r.language) for team in outcome.sectors}
        for call in outcome.calls:
            parts.append(
                r.t(
                    "postulates.open-call",
                    sector=names.get(call.team_id, ""),
                    title=call.title,
                    **datefmt.phrases(call.deadline, r.language, r.zone),
                )
            )
        rows += [
            [InlineKeyboardButton(team.name(r.language), callback_data=PickSector(team.id).pack())]
            for team in outcome.sectors
        ]
    elif step == "behalf":
        parts.append(r.t("postulates.ask-behalf"))
        rows.append(
            r.button(
                "postulates.button-organisation",
                OnBehalf("organisation"),
                # A button label is plain text, not HTML: the name goes in unescaped.
                name=Html(outcome.organisation_name or ""),
            )
        )
        rows.append(r.button("postulates.button-self", OnBehalf("self")))
    elif step == "title":
        low, high = service.TITLE_LIMITS
        if outcome.pending_organisation_name:
            parts.append(
                r.t("organisation.pending-submits-as-self", name=outcome.pending_organisation_name)
            )
        parts.append(r.t("postulates.ask-title", minimum=low, maximum=high))
    elif step == "content":
        low, high = service.CONTENT_LIMITS
        if current.content:
            parts.append(
                r.t("postulates.content-so-far", length=len(current.content), maximum=high)
            )
        else:
            parts.append(r.t("postulates.ask-content", minimum=low, maximum=high))
        rows.append(r.button("postulates.button-done", DraftStep("done")))
    elif step == "attachment":
        parts.append(r.t("postulates.ask-attachment"))
        rows.append(r.button("postulates.button-skip", DraftStep("skip")))
    elif step == "similar":
        parts.append(r.t("postulates.similar-intro"))
        for item in outcome.similar:
            parts.append(
                r.t(
                    "postulates.similar-item",
                    reference=item.reference,
                    title=item.title,
                    count=item.supports,
                )
            )
            if current.organisation_id is not None:
                rows.append(
                    r.button(
                        "postulates.button-support",
                        SupportSimilar(item.id),
                        reference=item.reference,
                    )
                )
        rows.append(r.button("postulates.button-continue", DraftStep("continue")))
    else:
        parts.append(_preview(r, outcome))
        rows.append(r.button("postulates.button-submit", Submit(current.id)))
        rows.append(
            r.button("postulates.button-edit-sector", EditField("sector"))
            + r.button("postulates.button-edit-title", EditField("title"))
        )
        rows.append(
            r.button("postulates.button-edit-content", EditField("content"))
            + r.button("postulates.button-edit-attachment", EditField("attachment"))
        )
    rows.append(r.button("postulates.button-cancel", DraftStep("cancel")))
    return Html("\n\n".join(parts)), InlineKeyboardMarkup(rows)


def _preview(r: Reader, outcome: drafts.DraftOutcome) -> str:
    current = outcome.draft
    assert current is not None
    behalf = (
        outcome.organisation_name
        if current.on_behalf == "organisation" and outcome.organisation_name
        else r.t("postulates.behalf-self")
    )
    attachment = (
        r.t(f"postulates.attachment-{current.attachment_type}")
        if current.attachment_type
        else r.t("postulates.attachment-none")
    )

    def preview(content: str) -> str:
        return r.t(
            "postulates.preview",
            sector=outcome.team.name(r.language) if outcome.team else "",
            behalf=behalf,
            title=current.title or "",
            content=content,
            attachment=attachment,
        )

    content = current.content or ""
    # 3,500 characters may be 7,000 UTF-16 units (astral characters count twice): the
    # preview then shows the start; the whole text is still what gets submitted.
    room = PREVIEW_LIMIT - limits.html_length(preview(""))
    if limits.utf16_len(content) <= room:
        return preview(content)
    note = r.t("postulates.preview-shortened")
    cut = limits.plain_prefix(content, room - limits.html_length(note) - 2)
    return preview(Html(escape(cut) + "\n" + note))


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
        if action == "withdraw":
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
