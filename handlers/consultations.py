"""Consultations of the draft programme: /consultation (admins: New, answers), the deep link
consultation-<id>, sections and Comment, /my_comments and /consultation_report <id>."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import IntEnum

from pydantic import BaseModel
from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.consultation_report import to_docx
from bot.context import App, Ctx
from bot.errors import DomainError
from bot.services import consultation_documents as documents
from bot.services import consultations as service
from bot.services.consultations import CommentDraft, NewConsultation
from handlers import flow
from handlers import start as start_handlers
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
from handlers.flow import Flow, Flows
from handlers.views import consultations as views
from handlers.views.consultations import button
from storage.consultations import Answer

END = flow.END
TIMEOUT = timedelta(hours=2)
LINK = re.compile(r"consultation-([0-9]{1,9})")
Handler = BaseHandler[Update, Ctx, object]


class NewStep(IntEnum):
    TITLE = 1
    OPENS = 2
    CLOSES = 3
    AUDIENCE = 4
    DOCUMENT = 5
    PREVIEW = 6


class CommentStep(IntEnum):
    BODY = 1
    WORDING = 2
    BEHALF = 3
    PREVIEW = 4


class AnswerStep(IntEnum):
    JUSTIFICATION = 1


def _language(context: Ctx) -> str:
    return require_actor(context).language


async def _say(update: Update, body: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Reply to a message or, after a button press, write below the pressed message."""
    if update.callback_query is not None:
        chat = update.effective_chat
        if chat is not None:
            await chat.send_message(body, reply_markup=markup)
        return
    await reply(update, body, markup)


async def _edit(update: Update, body: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Show the new state in the message the press came from."""
    query = require_query(update)
    await query.answer()
    await query.edit_message_text(body, reply_markup=markup)


# ---------------------------------------------------------------- reading and the deep link


async def _show_contents(update: Update, context: Ctx, consultation_id: int, page: int) -> None:
    deps = context.deps
    actor = require_actor(context)
    try:
        view = await service.contents(deps.db, actor, consultation_id, deps.clock())
    except DomainError as error:
        await refuse(update, context, error)
        return
    body, markup = views.contents(deps.texts, actor.language, deps.config.zone, view, page)
    if update.callback_query is not None:
        await _edit(update, body, markup)
    else:
        await reply(update, body, markup)


async def start_link(update: Update, context: Ctx) -> None:
    """/start consultation-<id>: greet (and ask consent) if new, then the table of contents."""
    match = LINK.fullmatch((context.args or [""])[0])
    if match is None or not is_consented(context):
        await start_handlers.start(update, context)
    if match is not None:
        await _show_contents(update, context, int(match.group(1)), 0)


async def on_contents(update: Update, context: Ctx) -> None:
    """A table-of-contents page (the notice's Read and comment, ◀ ▶, back from a section)."""
    press = views.Contents.parse(require_query(update).data)
    if press is None:
        await answer_stale(update, context)
        return
    await _show_contents(update, context, press.consultation_id, press.page)


async def on_section(update: Update, context: Ctx) -> None:
    """A section's page, edited in place."""
    press = views.Read.parse(require_query(update).data)
    if press is None:
        await answer_stale(update, context)
        return
    deps = context.deps
    actor = require_actor(context)
    try:
        view = await service.section(deps.db, actor, press.section_id, deps.clock())
    except DomainError as error:
        await refuse(update, context, error)
        return
    body, markup = views.section(deps.texts, actor.language, deps.config.zone, view, press.page)
    await _edit(update, body, markup)


async def show_list(update: Update, context: Ctx) -> None:
    """/consultation: the consultations; admins also get New and each one's answers."""
    deps = context.deps
    actor = require_actor(context)
    found = await service.list_consultations(deps.db, actor)
    rows = []
    for consultation in found[:20]:
        label = f"{consultation.id}. {consultation.title[:50]}"
        if actor.is_admin:
            rows.append([button(label, views.Manage(consultation.id))])
        elif consultation.state == "published":
            rows.append([button(label, views.Contents(consultation.id, 0))])
    if actor.is_admin:
        rows.append([button(text(context, "consultations.button-new"), views.New())])
    key = "consultations.list" if rows else "consultations.list-empty"
    await reply(update, text(context, key), InlineKeyboardMarkup(rows) if rows else None)


async def on_manage(update: Update, context: Ctx) -> None:
    """An admin's view of one consultation: its contents and the answers still to give."""
    press = views.Manage.parse(require_query(update).data)
    actor = require_actor(context)
    if press is None or not actor.is_admin:
        await answer_stale(update, context)
        return
    deps = context.deps
    try:
        view = await service.contents(deps.db, actor, press.consultation_id, deps.clock())
        waiting = await service.queue(deps.db, actor, press.consultation_id)
    except DomainError as error:
        await refuse(update, context, error)
        return
    body, markup = views.contents(deps.texts, actor.language, deps.config.zone, view, 0)
    rows = [list(row) for row in markup.inline_keyboard]
    if view.phase == "draft":
        rows.append(
            [
                button(
                    text(context, "consultations.button-publish"),
                    views.Publish(view.consultation.id),
                )
            ]
        )
    else:
        label = text(context, "consultations.button-queue", count=len(waiting.comments))
        rows.append([button(label, views.AnswerQueue(view.consultation.id))])
    await _edit(update, body, InlineKeyboardMarkup(rows))


async def on_queue(update: Update, context: Ctx) -> None:
    """The comments waiting for an answer, one card each with the three answers."""
    press = views.AnswerQueue.parse(require_query(update).data)
    actor = require_actor(context)
    if press is None or not actor.is_admin:
        await answer_stale(update, context)
        return
    deps = context.deps
    try:
        waiting = await service.queue(deps.db, actor, press.consultation_id)
    except DomainError as error:
        await refuse(update, context, error)
        return
    await require_query(update).answer()
    if not waiting.comments:
        await _say(update, text(context, "consultations.queue-empty"))
        return
    await _say(update, text(context, "consultations.queue", count=len(waiting.comments)))
    for comment in waiting.comments:
        body, markup = views.comment_card(deps.texts, actor.language, comment, for_admin=True)
        await _say(update, body, markup)


async def on_publish(update: Update, context: Ctx) -> None:
    """Publish a draft shown in an admin's view (outside the New conversation)."""
    await _publish(update, context)


async def _publish(update: Update, context: Ctx) -> int:
    press = views.Publish.parse(require_query(update).data)
    if press is None:
        await answer_stale(update, context)
        return END
    deps = context.deps
    try:
        published = await service.publish(
            deps.db, require_actor(context), press.consultation_id, deps.clock()
        )
    except DomainError as error:
        await refuse(update, context, error)
        return END
    deps.engine.wake()  # the notice leaves now, not at the next interval
    link = f"https://t.me/{context.bot.username}?start=consultation-{published.id}"
    await _edit(update, text(context, "consultations.published", title=published.title, link=link))
    return END


async def my_comments(update: Update, context: Ctx) -> None:
    """/my_comments: my comments with their answers."""
    deps = context.deps
    actor = require_actor(context)
    mine = await service.my_comments(deps.db, actor)
    if not mine:
        await reply(update, text(context, "consultations.my-empty"))
        return
    await reply(update, text(context, "consultations.my", count=len(mine)))
    for comment in mine[-20:]:
        body, _ = views.comment_card(deps.texts, actor.language, comment, for_admin=False)
        await reply(update, body)


async def report(update: Update, context: Ctx) -> None:
    """/consultation_report <id>: publish the report and send it as a .docx."""
    deps = context.deps
    args = context.args or []
    if len(args) != 1 or not re.fullmatch(r"[0-9]{1,9}", args[0]):
        await reply(update, text(context, "consultations.report-usage"))
        return
    try:
        data = await service.publish_report(
            deps.db, require_actor(context), int(args[0]), deps.clock()
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    document = to_docx(data, deps.texts, deps.config.default_language, deps.config.zone)
    await require_message(update).reply_document(
        InputFile(document, filename=f"konsultacje-{data.consultation.id}.docx"),
        caption=text(context, "consultations.report-caption", title=data.consultation.title),
        do_quote=False,
    )


# ---------------------------------------------------------------- New (admins)


def _new(context: Ctx) -> NewConsultation:
    return flow.state(context, NewConsultation)


async def new_start(update: Update, context: Ctx) -> int:
    """New: ask the title."""
    query = require_query(update)
    if not require_actor(context).is_admin or views.New.parse(query.data) is None:
        await answer_stale(update, context)
        return END
    await query.answer()
    await _say(update, text(context, "consultations.ask-title"))
    return NewStep.TITLE


async def on_title(update: Update, context: Ctx) -> int:
    """The title; then when the window opens."""
    try:
        title = service.check_title(require_message(update).text or "")
    except DomainError as error:
        await refuse(update, context, error)
        return NewStep.TITLE
    _new(context).title = title
    markup = InlineKeyboardMarkup(
        [[button(text(context, "consultations.button-now"), views.OpensNow())]]
    )
    await reply(update, text(context, "consultations.ask-opens"), markup)
    return NewStep.OPENS


async def _ask_closes(update: Update, context: Ctx) -> int:
    days = context.deps.config.consultations.min_days
    await _say(update, text(context, "consultations.ask-closes", days=days))
    return NewStep.CLOSES


async def on_opens_now(update: Update, context: Ctx) -> int:
    """Opens now."""
    draft = _new(context)
    draft.opens_at = context.deps.clock()
    await _edit(update, text(context, "consultations.opens-now"))
    return await _ask_closes(update, context)


async def on_opens_date(update: Update, context: Ctx) -> int:
    """Opens on a typed date (at the start of that local day)."""
    deps = context.deps
    try:
        day = service.parse_date(require_message(update).text or "", deps.config.zone, deps.clock())
    except DomainError as error:
        await refuse(update, context, error)
        return NewStep.OPENS
    _new(context).opens_at = max(service.start_of(day, deps.config.zone), deps.clock())
    return await _ask_closes(update, context)


def _audience_markup(context: Ctx, teams: list[tuple[int, str, str]]) -> InlineKeyboardMarkup:
    draft = _new(context)
    language = _language(context)
    mark = "✅ " if draft.all_sectors else ""
    rows = [[button(mark + text(context, "consultations.audience-all"), views.Audience(0))]]
    for team_id, name_pl, name_en in teams:
        chosen = not draft.all_sectors and team_id in draft.team_ids
        name = name_pl if language == "pl" else name_en
        rows.append([button(("✅ " if chosen else "") + name, views.Audience(team_id))])
    rows.append([button(text(context, "consultations.button-next"), views.AudienceDone())])
    return InlineKeyboardMarkup(rows)


async def on_closes(update: Update, context: Ctx) -> int:
    """The closing date: at least min_days after opening; then the audience."""
    deps = context.deps
    draft = _new(context)
    try:
        day = service.parse_date(require_message(update).text or "", deps.config.zone, deps.clock())
        assert draft.opens_at is not None
        draft.closes_at = service.closing(
            day, deps.config.zone, draft.opens_at, deps.config.consultations.min_days
        )
    except DomainError as error:
        await refuse(update, context, error)
        return NewStep.CLOSES
    teams = await service.sectors(deps.db, require_actor(context))
    await reply(
        update, text(context, "consultations.ask-audience"), _audience_markup(context, teams)
    )
    return NewStep.AUDIENCE


async def on_audience(update: Update, context: Ctx) -> int:
    """Toggle every sector or one sector, shown in place."""
    press = views.Audience.parse(require_query(update).data)
    deps = context.deps
    teams = await service.sectors(deps.db, require_actor(context))
    draft = _new(context)
    if press is None or (press.team_id != 0 and press.team_id not in {t[0] for t in teams}):
        await answer_stale(update, context)
        return NewStep.AUDIENCE
    if press.team_id == 0:
        draft.all_sectors, draft.team_ids = True, []
    else:
        if draft.all_sectors:
            draft.all_sectors, draft.team_ids = False, []
        if press.team_id in draft.team_ids:
            draft.team_ids = [t for t in draft.team_ids if t != press.team_id]
        else:
            draft.team_ids = [*draft.team_ids, press.team_id]
    await require_query(update).answer()
    await require_query(update).edit_message_reply_markup(_audience_markup(context, teams))
    return NewStep.AUDIENCE


async def on_audience_done(update: Update, context: Ctx) -> int:
    """Next: at least one sector; then the document."""
    draft = _new(context)
    if not draft.all_sectors and not draft.team_ids:
        await refuse(update, context, service.NoAudience())
        return NewStep.AUDIENCE
    megabytes = context.deps.config.consultations.max_file_mb
    await _edit(update, text(context, "consultations.audience-chosen"))
    await _say(
        update,
        text(
            context,
            "consultations.ask-document",
            megabytes=megabytes,
            sections=documents.MAX_SECTIONS,
        ),
    )
    return NewStep.DOCUMENT


async def on_document(update: Update, context: Ctx) -> int:
    """The draft as a document: downloaded, split into sections, stored unpublished, previewed."""
    deps = context.deps
    message = require_message(update)
    max_bytes = deps.config.consultations.max_file_mb * 1024 * 1024
    try:
        if message.document is None:
            raise documents.NotADocument()
        documents.check_size(message.document.file_size, max_bytes)
        file = await message.document.get_file()
        data = bytes(await file.download_as_bytearray())
        name = message.document.file_name or ""
        sections = documents.parse(data, name, max_bytes)
        view = await service.create_draft(
            deps.db, require_actor(context), _new(context), name, sections, deps.clock()
        )
    except DomainError as error:
        await refuse(update, context, error)
        return NewStep.DOCUMENT
    _new(context).consultation_id = view.consultation.id
    body, markup = views.draft_preview(
        deps.texts, require_actor(context).language, deps.config.zone, view
    )
    await reply(update, body, markup)
    return NewStep.PREVIEW


async def on_discard(update: Update, context: Ctx) -> int:
    """Discard the unpublished draft."""
    press = views.Discard.parse(require_query(update).data)
    if press is None:
        await answer_stale(update, context)
        return NewStep.PREVIEW
    await service.discard(context.deps.db, require_actor(context), press.consultation_id)
    await _edit(update, text(context, "consultations.discarded"))
    return END


async def new_cancel(update: Update, context: Ctx) -> int:
    """/cancel: an uploaded, unpublished draft goes too."""
    draft = _new(context)
    if draft.consultation_id is not None:
        await service.discard(context.deps.db, require_actor(context), draft.consultation_id)
    await _say(update, text(context, "consultations.new-cancelled"))
    return END


async def use_buttons(update: Update, context: Ctx) -> int | None:
    await reply(update, text(context, "consultations.use-buttons"))
    return None


def new_flow() -> Flow:
    """The New conversation: title, window, audience, document, preview, Publish."""
    typed = filters.UpdateType.MESSAGE & ~filters.COMMAND
    steps: dict[int, list[Handler]] = {
        NewStep.TITLE: [MessageHandler(typed & filters.TEXT, on_title)],
        NewStep.OPENS: [
            PersonalButton(on_opens_now, pattern=views.OpensNow.pattern()),
            MessageHandler(typed & filters.TEXT, on_opens_date),
        ],
        NewStep.CLOSES: [MessageHandler(typed & filters.TEXT, on_closes)],
        NewStep.AUDIENCE: [
            PersonalButton(on_audience_done, pattern=views.AudienceDone.pattern()),
            PersonalButton(on_audience, pattern=views.Audience.pattern()),
            MessageHandler(typed, use_buttons),
        ],
        NewStep.DOCUMENT: [MessageHandler(typed, on_document)],
        NewStep.PREVIEW: [
            PersonalButton(_publish, pattern=views.Publish.pattern()),
            PersonalButton(on_discard, pattern=views.Discard.pattern()),
            MessageHandler(typed, use_buttons),
        ],
    }
    return Flow(
        name="consultation-new",
        model=NewConsultation,
        commands=(),
        entry_points=[PersonalButton(new_start, pattern=views.New.pattern())],
        steps=steps,
        cancel=new_cancel,
        timeout=TIMEOUT,
        expired_key="consultations.timeout",
    )


# ---------------------------------------------------------------- Comment (members)


def _comment(context: Ctx) -> CommentDraft:
    return flow.state(context, CommentDraft)


async def comment_start(update: Update, context: Ctx) -> int:
    """Comment on a section: checked (consent, the window), then ask the text."""
    query = require_query(update)
    press = views.StartComment.parse(query.data)
    if press is None:
        await answer_stale(update, context)
        return END
    deps = context.deps
    try:
        section = await service.start_comment(
            deps.db,
            require_actor(context),
            press.section_id,
            deps.config.privacy.notice_version,
            deps.clock(),
        )
    except DomainError as error:
        await refuse(update, context, error)
        return END
    _comment(context).section_id = section.id
    await query.answer()
    low, high = service.COMMENT_LIMITS
    await _say(
        update,
        text(
            context,
            "consultations.ask-comment",
            number=section.number,
            section=section.title[:120],
            min=low,
            max=high,
        ),
    )
    return CommentStep.BODY


async def _still_open(update: Update, context: Ctx) -> bool:
    deps = context.deps
    try:
        await service.start_comment(
            deps.db,
            require_actor(context),
            _comment(context).section_id,
            deps.config.privacy.notice_version,
            deps.clock(),
        )
    except DomainError as error:
        await refuse(update, context, error)
        return False
    return True


async def on_body(update: Update, context: Ctx) -> int:
    """The comment's text; then the optional proposed wording."""
    if not await _still_open(update, context):
        return END
    try:
        body = service.check_comment(require_message(update).text or "")
    except DomainError as error:
        await refuse(update, context, error)
        return CommentStep.BODY
    _comment(context).body = body
    markup = InlineKeyboardMarkup(
        [[button(text(context, "consultations.button-skip"), views.SkipWording())]]
    )
    await reply(update, text(context, "consultations.ask-wording"), markup)
    return CommentStep.WORDING


async def _after_wording(update: Update, context: Ctx) -> int:
    organisation = await service.representing(context.deps.db, require_actor(context))
    if organisation is None:
        _comment(context).organisation_id = None
        return await _preview(update, context)
    markup = InlineKeyboardMarkup(
        [
            [button(organisation[1][:60], views.Behalf("org"))],
            [button(text(context, "consultations.behalf-me"), views.Behalf("me"))],
        ]
    )
    await _say(update, text(context, "consultations.ask-behalf"), markup)
    return CommentStep.BEHALF


async def on_wording(update: Update, context: Ctx) -> int:
    """A proposed wording."""
    if not await _still_open(update, context):
        return END
    try:
        wording = service.check_wording(require_message(update).text or "")
    except DomainError as error:
        await refuse(update, context, error)
        return CommentStep.WORDING
    _comment(context).wording = wording
    return await _after_wording(update, context)


async def on_skip(update: Update, context: Ctx) -> int:
    """No proposed wording."""
    _comment(context).wording = None
    await _edit(update, text(context, "consultations.wording-skipped"))
    return await _after_wording(update, context)


async def on_behalf(update: Update, context: Ctx) -> int:
    """For my organisation or for myself."""
    press = views.Behalf.parse(require_query(update).data)
    if press is None:
        await answer_stale(update, context)
        return CommentStep.BEHALF
    draft = _comment(context)
    if press.who == "org":
        organisation = await service.representing(context.deps.db, require_actor(context))
        if organisation is None:
            await refuse(update, context, service.NotRepresentative())
            return CommentStep.BEHALF
        draft.organisation_id = organisation[0]
        chosen = organisation[1]
    else:
        draft.organisation_id = None
        chosen = text(context, "consultations.behalf-me-short")
    await _edit(update, text(context, "consultations.behalf-chosen", who=chosen))
    return await _preview(update, context)


async def _preview(update: Update, context: Ctx) -> int:
    deps = context.deps
    actor = require_actor(context)
    try:
        checked = await service.preview(deps.db, actor, _comment(context), deps.clock())
    except DomainError as error:
        await refuse(update, context, error)
        return END
    body, markup = views.comment_preview(deps.texts, actor.language, checked)
    await _say(update, body, markup)
    return CommentStep.PREVIEW


async def on_send(update: Update, context: Ctx) -> int:
    """Send: stored if the window is still open; the preview shows it was sent."""
    deps = context.deps
    try:
        stored = await service.submit(
            deps.db,
            require_actor(context),
            _comment(context),
            deps.config.privacy.notice_version,
            deps.clock(),
        )
    except DomainError as error:
        await refuse(update, context, error)
        await require_query(update).edit_message_reply_markup(None)
        return END
    await _edit(
        update,
        text(context, "consultations.sent", number=stored.section_number, id=stored.id),
        InlineKeyboardMarkup(
            [
                [
                    button(
                        text(context, "consultations.button-contents"),
                        views.Contents(stored.consultation_id, 0),
                    )
                ]
            ]
        ),
    )
    return END


async def comment_abort(update: Update, context: Ctx) -> int:
    """/cancel or the Cancel button: nothing is stored."""
    if update.callback_query is not None:
        await _edit(update, text(context, "consultations.comment-cancelled"))
    else:
        await reply(update, text(context, "consultations.comment-cancelled"))
    return END


def comment_flow() -> Flow:
    """The Comment conversation: text, optional wording, on whose behalf, preview, Send."""
    typed = filters.UpdateType.MESSAGE & ~filters.COMMAND
    steps: dict[int, list[Handler]] = {
        CommentStep.BODY: [MessageHandler(typed & filters.TEXT, on_body)],
        CommentStep.WORDING: [
            PersonalButton(on_skip, pattern=views.SkipWording.pattern()),
            MessageHandler(typed & filters.TEXT, on_wording),
        ],
        CommentStep.BEHALF: [
            PersonalButton(on_behalf, pattern=views.Behalf.pattern()),
            MessageHandler(typed, use_buttons),
        ],
        CommentStep.PREVIEW: [
            PersonalButton(on_send, pattern=views.Send.pattern()),
            MessageHandler(typed, use_buttons),
        ],
    }
    for handlers in steps.values():
        handlers.insert(0, PersonalButton(comment_abort, pattern=views.Abort.pattern()))
    return Flow(
        name="consultation-comment",
        model=CommentDraft,
        commands=(),
        entry_points=[PersonalButton(comment_start, pattern=views.StartComment.pattern())],
        steps=steps,
        cancel=comment_abort,
        timeout=TIMEOUT,
        expired_key="consultations.timeout",
    )


# ---------------------------------------------------------------- answers (admins)


class AnswerState(BaseModel):
    """The answer conversation's state: which comment, which answer."""

    comment_id: int = 0
    answer: Answer = "accepted"


async def answer_start(update: Update, context: Ctx) -> int:
    """An answer button on a comment: the card shows the choice, then ask the justification."""
    query = require_query(update)
    press = views.Verdict.parse(query.data)
    actor = require_actor(context)
    if press is None or not actor.is_admin:
        await answer_stale(update, context)
        return END
    try:
        found = await service.comment(context.deps.db, actor, press.comment_id)
    except DomainError as error:
        await refuse(update, context, error)
        return END
    state = flow.state(context, AnswerState)
    state.comment_id, state.answer = found.id, press.answer
    body, _ = views.comment_card(context.deps.texts, actor.language, found, for_admin=False)
    chosen = text(
        context,
        "consultations.answer-chosen",
        answer=views.answer_label(context.deps.texts, actor.language, press.answer),
    )
    await _edit(update, f"{body}\n\n{chosen}")
    low, high = service.JUSTIFICATION_LIMITS
    await _say(update, text(context, "consultations.ask-justification", min=low, max=high))
    return AnswerStep.JUSTIFICATION


async def on_justification(update: Update, context: Ctx) -> int:
    """The justification: the answer is saved, audited and its author told."""
    deps = context.deps
    actor = require_actor(context)
    state = flow.state(context, AnswerState)
    try:
        answered = await service.answer(
            deps.db,
            actor,
            state.comment_id,
            state.answer,
            require_message(update).text or "",
            deps.clock(),
        )
    except service.InvalidJustification as error:
        await refuse(update, context, error)
        return AnswerStep.JUSTIFICATION
    except DomainError as error:
        await refuse(update, context, error)
        return END
    deps.engine.wake()  # the author hears now, not at the next interval
    body, markup = views.comment_card(deps.texts, actor.language, answered, for_admin=True)
    await reply(update, f"{text(context, 'consultations.answered')}\n\n{body}", markup)
    return END


async def answer_cancel(update: Update, context: Ctx) -> int:
    """/cancel: the answer is not changed."""
    await reply(update, text(context, "consultations.answer-cancelled"))
    return END


def answer_flow() -> Flow:
    """The answer conversation: a verdict button, then the typed justification."""
    typed = filters.UpdateType.MESSAGE & ~filters.COMMAND
    return Flow(
        name="consultation-answer",
        model=AnswerState,
        commands=(),
        entry_points=[PersonalButton(answer_start, pattern=views.Verdict.pattern())],
        steps={AnswerStep.JUSTIFICATION: [MessageHandler(typed & filters.TEXT, on_justification)]},
        cancel=answer_cancel,
        timeout=TIMEOUT,
        expired_key="consultations.timeout",
    )


def register(app: App, flows: Flows) -> None:
    """Install /consultation, /my_comments, /consultation_report, the deep link, the buttons.

    Must run before handlers.start: the deep link is a /start with a `consultation-<id>` payload.
    """
    link = filters.Regex(r"^/start(@\w+)?\s+consultation-[0-9]{1,9}\s*$")
    app.add_handler(CommandHandler("start", start_link, filters=link & PRIVATE))
    app.add_handler(CommandHandler("consultation", show_list, PRIVATE))
    app.add_handler(CommandHandler("my_comments", my_comments, PRIVATE))
    app.add_handler(CommandHandler("consultation_report", report, PRIVATE))
    app.add_handler(PersonalButton(on_contents, pattern=views.Contents.pattern()))
    app.add_handler(PersonalButton(on_section, pattern=views.Read.pattern()))
    app.add_handler(PersonalButton(on_manage, pattern=views.Manage.pattern()))
    app.add_handler(PersonalButton(on_queue, pattern=views.AnswerQueue.pattern()))
    app.add_handler(PersonalButton(on_publish, pattern=views.Publish.pattern()))
    flows.add(app, new_flow())
    flows.add(app, comment_flow())
    flows.add(app, answer_flow())
