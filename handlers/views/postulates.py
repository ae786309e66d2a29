"""Postulates presentation, the submission: each step of the draft and its preview.

The typed buttons are in postulate_buttons.py, the notices in postulate_notices.py, cards and
the review's screens in postulate_cards.py.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import datefmt, limits
from bot.engine import DeliveryEngine
from bot.i18n import Html, escape
from bot.services import postulates as service
from bot.services import postulates_drafts as drafts
from handlers.views import postulate_notices as notices
from handlers.views.postulate_buttons import (
    DraftStep,
    EditField,
    OnBehalf,
    PickSector,
    Submit,
    SupportSimilar,
)
from handlers.views.postulate_cards import Reader, Rows, supported

# The preview shares its message with a problem line when a step was refused.
PREVIEW_LIMIT = limits.TEXT_LIMIT - 500


def register(engine: DeliveryEngine) -> None:
    """Render the postulates' notices."""
    notices.register(engine)


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
        if current.organisation_id is None and outcome.similar:
            parts.append(r.t("postulates.similar-needs-organisation"))
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
