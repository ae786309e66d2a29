"""Postulates: /postulate (resumable submission), /my_postulates, /postulates, /support, /call.

The submission is a state machine kept in SQLite (table postulate_drafts, column `step`),
not in ConversationHandler memory: a restarted bot continues the conversation where it
was. One handler in an early group (after the gatekeeper, before the features) looks at
every private message: when the author has an active draft or a review prompt waiting for
text, it takes the message and stops the update there (ApplicationHandlerStop); otherwise
it lets the update through untouched. Any other command pauses the draft, so other
features' conversations get their text; /postulate resumes it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    ApplicationHandlerStop,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import limits
from bot.context import App, Ctx
from bot.errors import ConsentRequired, DomainError, StaleButton
from bot.i18n import Html, escape
from bot.services import postulates as service
from bot.services.postulates import DraftEvent, DraftOutcome, Settings
from handlers import review
from handlers.common import (
    PRIVATE,
    PersonalButton,
    answer_stale,
    is_consented,
    refuse,
    reply,
    require_actor,
    require_message,
    require_query,
    text,
)
from handlers.views import postulates as views

# After the gatekeeper (-100), before every feature (group 0).
GROUP = -10
DEEP_LINK = re.compile(r"postulate-([a-z][a-z0-9-]{0,39})")
BUTTON = re.compile(
    r"pst:(?:(sector|support|submit|answer|withdraw|card|sup):([0-9]{1,9})"
    r"|(behalf):(self|organisation)|(edit):(sector|title|content|attachment)"
    r"|(done|skip|continue|cancel)|(new):([a-z][a-z0-9-]{0,39}))"
)
# The preview shares its message with a problem line when a step was refused.
PREVIEW_LIMIT = limits.TEXT_LIMIT - 500
CALL_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def settings(context: Ctx) -> Settings:
    """The rules' settings from the configuration."""
    config = context.deps.config
    return Settings(
        accept_outside_calls=config.postulates.accept_outside_calls,
        draft_idle_hours=config.postulates.draft_idle_hours,
        notice_version=config.privacy.notice_version,
    )


def _button(context: Ctx, key: str, data: str, **values: object) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text(context, key, **values), callback_data=data)]


def _cancel_row(context: Ctx) -> list[InlineKeyboardButton]:
    return _button(context, "postulates.button-cancel", "pst:cancel")


def render(context: Ctx, outcome: DraftOutcome) -> tuple[Html, InlineKeyboardMarkup | None]:
    """The message for where the draft stands (after a problem, the problem first)."""
    actor = require_actor(context)
    lang = actor.language
    parts: list[str] = []
    if outcome.problem:
        parts.append(text(context, outcome.problem, **outcome.problem_values))
    if outcome.cancelled:
        return text(context, "postulates.cancelled"), None
    if outcome.supported is not None:
        return (
            text(
                context,
                "postulates.supported",
                reference=outcome.supported.reference,
                title=outcome.supported.title,
                count=outcome.supported.supports,
            ),
            None,
        )
    if outcome.submitted is not None:
        return (
            text(
                context,
                "postulates.submitted",
                reference=outcome.submitted.reference,
                title=outcome.submitted.title,
            ),
            None,
        )
    draft = outcome.draft
    if draft is None:
        return text(context, "error.stale-button"), None
    if outcome.resumed:
        parts.append(text(context, "postulates.resumed"))
    rows: list[list[InlineKeyboardButton]] = []
    step = draft.step
    if step == "sector":
        parts.append(text(context, "postulates.ask-sector"))
        names = {team.id: team.name(lang) for team in outcome.sectors}
        zone = context.deps.config.zone
        for call in outcome.calls:
            parts.append(
                text(
                    context,
                    "postulates.open-call",
                    sector=names.get(call.team_id, ""),
                    title=call.title,
                    deadline=call.deadline.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                )
            )
        rows += [
            [InlineKeyboardButton(team.name(lang), callback_data=f"pst:sector:{team.id}")]
            for team in outcome.sectors
        ]
    elif step == "behalf":
        parts.append(text(context, "postulates.ask-behalf"))
        rows.append(
            _button(
                context,
                "postulates.button-organisation",
                "pst:behalf:organisation",
                # A button label is plain text, not HTML: the name goes in unescaped.
                name=Html(outcome.organisation_name or ""),
            )
        )
        rows.append(_button(context, "postulates.button-self", "pst:behalf:self"))
    elif step == "title":
        low, high = service.TITLE_LIMITS
        if outcome.pending_organisation_name:
            parts.append(
                text(
                    context,
                    "organisation.pending-submits-as-self",
                    name=outcome.pending_organisation_name,
                )
            )
        parts.append(text(context, "postulates.ask-title", minimum=low, maximum=high))
    elif step == "content":
        low, high = service.CONTENT_LIMITS
        if draft.content:
            parts.append(
                text(context, "postulates.content-so-far", length=len(draft.content), maximum=high)
            )
        else:
            parts.append(text(context, "postulates.ask-content", minimum=low, maximum=high))
        rows.append(_button(context, "postulates.button-done", "pst:done"))
    elif step == "attachment":
        parts.append(text(context, "postulates.ask-attachment"))
        rows.append(_button(context, "postulates.button-skip", "pst:skip"))
    elif step == "similar":
        parts.append(text(context, "postulates.similar-intro"))
        for item in outcome.similar:
            parts.append(
                text(
                    context,
                    "postulates.similar-item",
                    reference=item.reference,
                    title=item.title,
                    count=item.supports,
                )
            )
            if draft.organisation_id is not None:
                rows.append(
                    _button(
                        context,
                        "postulates.button-support",
                        f"pst:support:{item.id}",
                        reference=item.reference,
                    )
                )
        rows.append(_button(context, "postulates.button-continue", "pst:continue"))
    else:
        parts.append(_preview(context, outcome))
        rows.append(_button(context, "postulates.button-submit", f"pst:submit:{draft.id}"))
        rows.append(
            _button(context, "postulates.button-edit-sector", "pst:edit:sector")
            + _button(context, "postulates.button-edit-title", "pst:edit:title")
        )
        rows.append(
            _button(context, "postulates.button-edit-content", "pst:edit:content")
            + _button(context, "postulates.button-edit-attachment", "pst:edit:attachment")
        )
    rows.append(_cancel_row(context))
    return Html("\n\n".join(parts)), InlineKeyboardMarkup(rows)


def _preview(context: Ctx, outcome: DraftOutcome) -> str:
    draft = outcome.draft
    assert draft is not None
    lang = require_actor(context).language
    behalf = (
        outcome.organisation_name
        if draft.on_behalf == "organisation" and outcome.organisation_name
        else text(context, "postulates.behalf-self")
    )
    attachment = (
        text(context, f"postulates.attachment-{draft.attachment_type}")
        if draft.attachment_type
        else text(context, "postulates.attachment-none")
    )

    def preview(content: str) -> str:
        return text(
            context,
            "postulates.preview",
            sector=outcome.team.name(lang) if outcome.team else "",
            behalf=behalf,
            title=draft.title or "",
            content=content,
            attachment=attachment,
        )

    content = draft.content or ""
    # 3,500 characters may be 7,000 UTF-16 units (astral characters count twice): the
    # preview then shows the start; the whole text is still what gets submitted.
    room = PREVIEW_LIMIT - limits.html_length(preview(""))
    if limits.utf16_len(content) <= room:
        return preview(content)
    note = text(context, "postulates.preview-shortened")
    cut = limits.plain_prefix(content, room - limits.html_length(note) - 2)
    return preview(Html(escape(cut) + "\n" + note))


async def _show(update: Update, context: Ctx, outcome: DraftOutcome) -> None:
    body, markup = render(context, outcome)
    await reply(update, body, markup)


async def _run(update: Update, context: Ctx, event: DraftEvent) -> DraftOutcome | None:
    actor = require_actor(context)
    deps = context.deps
    try:
        return await service.draft_step(
            deps.db, actor.user_id, event, settings(context), deps.clock()
        )
    except (
        ConsentRequired,
        service.SubmissionsClosed,
        service.CannotSupport,
        service.NotRepresentative,
    ) as exc:
        body = text(context, exc.key)
    except StaleButton:
        if update.callback_query is not None:
            await answer_stale(update, context)
            return None
        body = text(context, "error.stale-button")
    if update.callback_query is not None:
        await update.callback_query.answer(review.plain(body), show_alert=True)
    else:
        await reply(update, body)
    return None


def _event_of(message: Message) -> DraftEvent:
    if message.text is not None:
        return DraftEvent(name="text", text=message.text)
    if message.document is not None:
        return DraftEvent(name="attachment", kind="document", text=message.document.file_id)
    if message.photo:
        return DraftEvent(name="attachment", kind="photo", text=message.photo[-1].file_id)
    if message.voice is not None:
        return DraftEvent(name="attachment", kind="voice", text=message.voice.file_id)
    return DraftEvent(name="unsupported")


def _command(message: Message) -> tuple[str, list[str]] | None:
    if not message.text or not message.text.startswith("/"):
        return None
    words = message.text.split()
    return words[0][1:].split("@")[0].lower(), words[1:]


async def intercept(update: Update, context: Ctx) -> None:
    """Route a private message to the active draft or review prompt, else let it through."""
    message = require_message(update)
    if context.actor is None or not is_consented(context):
        return
    actor = require_actor(context)
    deps = context.deps
    command = _command(message)
    if command is not None and command[0] == "start" and command[1]:
        match = DEEP_LINK.fullmatch(command[1][0])
        if match is not None:
            outcome = await _run(update, context, DraftEvent(name="start", slug=match.group(1)))
            if outcome is not None:
                await _show(update, context, outcome)
            raise ApplicationHandlerStop
    caught = await service.capture(
        deps.db,
        actor.user_id,
        command[0] if command is not None else None,
        settings(context),
        deps.clock(),
    )
    if command is not None:
        if command[0] == "cancel" and (caught.draft or caught.prompt):
            await reply(update, text(context, "postulates.cancelled"))
            raise ApplicationHandlerStop
        return
    if caught.prompt is not None:
        await review.on_prompt_text(update, context, caught.prompt)
        raise ApplicationHandlerStop
    if caught.draft is not None:
        outcome = await _run(update, context, _event_of(message))
        if outcome is not None:
            await _show(update, context, outcome)
        raise ApplicationHandlerStop


async def new_postulate(update: Update, context: Ctx) -> None:
    """/postulate: start a draft, or continue the one under way."""
    if not is_consented(context):
        await reply(update, text(context, "error.consent-required"))
        return
    outcome = await _run(update, context, DraftEvent(name="start"))
    if outcome is not None:
        await _show(update, context, outcome)


async def on_button(update: Update, context: Ctx) -> None:
    """Every pst: button: draft steps, support, withdraw, answer, a postulate's card."""
    query = require_query(update)
    match = BUTTON.fullmatch(query.data or "")
    if match is None:
        await answer_stale(update, context)
        return
    groups = [g for g in match.groups() if g is not None]
    name, value = groups[0], groups[1] if len(groups) > 1 else ""
    if name in ("withdraw", "answer", "card"):
        await review.author_button(update, context, name, int(value))
        return
    if name == "sup":
        await _support_button(update, context, int(value))
        return
    if name == "new":
        event = DraftEvent(name="start", slug=value)
    elif name in ("sector", "support", "submit"):
        event = DraftEvent(name=name, number=int(value))
    elif name in ("behalf", "edit"):
        event = DraftEvent(name=name, kind=value)
    else:
        event = DraftEvent(name=name)
    outcome = await _run(update, context, event)
    if outcome is None:
        return
    await query.answer()
    await query.edit_message_reply_markup(reply_markup=None)
    body, markup = render(context, outcome)
    await context.bot.send_message(require_actor(context).user_id, body, reply_markup=markup)


async def my_postulates(update: Update, context: Ctx) -> None:
    """/my_postulates: mine with state and the last answer, buttons to open each."""
    if not is_consented(context):
        await reply(update, text(context, "error.consent-required"))
        return
    actor = require_actor(context)
    cards = await service.my_postulates(context.deps.db, actor.user_id)
    if not cards:
        await reply(update, text(context, "postulates.mine-empty"))
        return
    lines = [text(context, "postulates.mine-intro")]
    rows = []
    for card in cards[:30]:
        p = card.postulate
        lines.append(
            text(
                context,
                "postulates.mine-item",
                reference=p.reference,
                title=p.title,
                state=views.state_name(context.deps.texts, actor.language, p.state),
                count=p.supports,
            )
        )
        if p.answer:
            lines.append(text(context, "postulates.mine-answer", note=_short(p.answer)))
        rows.append([InlineKeyboardButton(p.reference, callback_data=f"pst:card:{p.id}")])
    await reply(update, review.fit(lines), InlineKeyboardMarkup(rows))


def _short(value: str, limit: int = 200) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


async def support_command(update: Update, context: Ctx) -> None:
    """/support P-2026-0042: co-sign a postulate for my organisation."""
    if not is_consented(context):
        await reply(update, text(context, "error.consent-required"))
        return
    args = context.args or []
    if len(args) != 1:
        await reply(update, text(context, "postulates.support-usage"))
        return
    actor = require_actor(context)
    deps = context.deps
    try:
        postulate = await service.support_by_reference(
            deps.db, actor.user_id, args[0], settings(context), deps.clock()
        )
    except DomainError as exc:
        await reply(update, text(context, exc.key, **exc.values))
        return
    await reply(
        update,
        text(
            context,
            "postulates.supported",
            reference=postulate.reference,
            title=postulate.title,
            count=postulate.supports,
        ),
    )


async def _support_button(update: Update, context: Ctx, postulate_id: int) -> None:
    query = require_query(update)
    actor = require_actor(context)
    deps = context.deps
    try:
        postulate = await service.support(
            deps.db, actor.user_id, postulate_id, settings(context), deps.clock()
        )
    except StaleButton:
        await answer_stale(update, context)
        return
    except DomainError as exc:
        await query.answer(review.plain(text(context, exc.key, **exc.values)), show_alert=True)
        return
    body = text(
        context,
        "postulates.supported",
        reference=postulate.reference,
        title=postulate.title,
        count=postulate.supports,
    )
    await query.answer(review.plain(body), show_alert=True)
    await query.edit_message_reply_markup(reply_markup=None)


async def browse(update: Update, context: Ctx) -> None:
    """/postulates: live postulates of the sectors I follow, to read and co-sign."""
    if not is_consented(context):
        await reply(update, text(context, "error.consent-required"))
        return
    actor = require_actor(context)
    found = await service.browse(context.deps.db, actor.user_id)
    if not found:
        await reply(update, text(context, "postulates.browse-empty"))
        return
    lines = [text(context, "postulates.browse-intro")]
    rows = []
    for p in found:
        lines.append(
            text(
                context,
                "postulates.mine-item",
                reference=p.reference,
                title=p.title,
                state=views.state_name(context.deps.texts, actor.language, p.state),
                count=p.supports,
            )
        )
        rows.append([InlineKeyboardButton(p.reference, callback_data=f"pst:card:{p.id}")])
    await reply(update, review.fit(lines), InlineKeyboardMarkup(rows))


def parse_deadline(value: str, context: Ctx) -> tuple[datetime, str] | None:
    """A date YYYY-MM-DD: the deadline is the end of that day in the deployment's zone."""
    match = CALL_DATE.fullmatch(value)
    if match is None:
        return None
    try:
        local = datetime(
            int(match[1]), int(match[2]), int(match[3]), 23, 59, tzinfo=context.deps.config.zone
        )
    except ValueError:
        return None
    return local.astimezone(UTC), local.strftime("%Y-%m-%d %H:%M")


async def call_command(update: Update, context: Ctx) -> None:
    """/call <sector> <YYYY-MM-DD> <title>: open a call for postulates (moderators)."""
    actor = require_actor(context)
    if not actor.is_moderator:
        await reply(update, text(context, "error.not-allowed"))
        return
    args = context.args or []
    parsed = parse_deadline(args[1], context) if len(args) >= 3 else None
    if parsed is None:
        await reply(update, text(context, "postulates.call-usage"))
        return
    deadline, shown = parsed
    deps = context.deps
    try:
        call = await service.open_call(
            deps.db,
            actor.user_id,
            args[0],
            " ".join(args[2:]),
            deadline,
            deps.clock(),
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    await reply(
        update, text(context, "postulates.call-opened-ok", title=call.title, deadline=shown)
    )


def register(app: App) -> None:
    """Install the draft interceptor, the postulate commands and buttons, and /review."""
    app.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE, intercept),
        group=GROUP,
    )
    app.add_handler(CommandHandler("postulate", new_postulate, PRIVATE))
    app.add_handler(CommandHandler("my_postulates", my_postulates, PRIVATE))
    app.add_handler(CommandHandler("postulates", browse, PRIVATE))
    app.add_handler(CommandHandler("support", support_command, PRIVATE))
    app.add_handler(CommandHandler("call", call_command, PRIVATE))
    app.add_handler(PersonalButton(on_button, pattern=r"^pst:"))
    review.register(app)
