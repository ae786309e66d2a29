"""Consultations, New (admins): title, window, audience and the draft document, then a preview.

Each step is the flow's prompt (handlers/prompts.py): a press edits it into the next step, a
typed answer gets one new message, a wrong one the error and the question together."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import MessageHandler, filters

from bot.context import Ctx
from bot.errors import DomainError
from bot.services import consultation_documents as documents
from bot.services import consultations as service
from bot.services.consultations import Contents, NewConsultation
from handlers import flow
from handlers.common import (
    PersonalButton,
    answer_stale,
    problem,
    refuse,
    require_actor,
    require_message,
    require_query,
    text,
)
from handlers.consultations.reading import _publish
from handlers.consultations.steps import (
    END,
    TIMEOUT,
    Handler,
    NewStep,
    _language,
)
from handlers.flow import Flow
from handlers.prompts import Prompted, adopt, joined, show
from handlers.views import consultations as views
from handlers.views.consultations import button

# ---------------------------------------------------------------- New (admins)


class NewState(NewConsultation, Prompted):
    """The New flow's state: the service's draft and the prompt the next step edits."""


def _new(context: Ctx) -> NewState:
    return flow.state(context, NewState)


async def _ask(
    update: Update,
    context: Ctx,
    question: str,
    markup: InlineKeyboardMarkup | None = None,
    before: str = "",
) -> None:
    """Show a step's question as the prompt, after `before` (an error, or what was chosen)."""
    await show(update, context, _new(context), joined(before, question), markup)


def _opens_markup(context: Ctx) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(text(context, "consultations.button-now"), views.OpensNow())]]
    )


def _closes_question(context: Ctx) -> str:
    days = context.deps.config.consultations.min_days
    return text(context, "consultations.ask-closes", days=days)


def _document_question(context: Ctx) -> str:
    megabytes = context.deps.config.consultations.max_file_mb
    return text(
        context, "consultations.ask-document", megabytes=megabytes, sections=documents.MAX_SECTIONS
    )


async def new_start(update: Update, context: Ctx) -> int:
    """New: the menu becomes the title question."""
    query = require_query(update)
    if not require_actor(context).is_admin or views.New.parse(query.data) is None:
        await answer_stale(update, context)
        return END
    await query.answer()
    adopt(update, _new(context))
    await _ask(update, context, text(context, "consultations.ask-title"))
    return NewStep.TITLE


async def on_title(update: Update, context: Ctx) -> int:
    """The title; then when the window opens."""
    question = text(context, "consultations.ask-title")
    try:
        title = service.check_title(require_message(update).text or "")
    except DomainError as error:
        await _ask(update, context, question, before=problem(context, error))
        return NewStep.TITLE
    _new(context).title = title
    await _ask(update, context, text(context, "consultations.ask-opens"), _opens_markup(context))
    return NewStep.OPENS


async def on_opens_now(update: Update, context: Ctx) -> int:
    """Opens now: the question becomes the next one."""
    draft = _new(context)
    draft.opens_at = context.deps.clock()
    await require_query(update).answer()
    opens_now = text(context, "consultations.opens-now")
    await _ask(update, context, _closes_question(context), before=opens_now)
    return NewStep.CLOSES


async def on_opens_date(update: Update, context: Ctx) -> int:
    """Opens on a typed date (at the start of that local day)."""
    deps = context.deps
    try:
        day = service.parse_date(require_message(update).text or "", deps.config.zone, deps.clock())
    except DomainError as error:
        question = text(context, "consultations.ask-opens")
        await _ask(update, context, question, _opens_markup(context), problem(context, error))
        return NewStep.OPENS
    _new(context).opens_at = max(service.start_of(day, deps.config.zone), deps.clock())
    await _ask(update, context, _closes_question(context))
    return NewStep.CLOSES


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


async def _ask_audience(update: Update, context: Ctx, before: str = "") -> None:
    teams = await service.sectors(context.deps.db, require_actor(context))
    question = text(context, "consultations.ask-audience")
    await _ask(update, context, question, _audience_markup(context, teams), before)


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
        await _ask(update, context, _closes_question(context), before=problem(context, error))
        return NewStep.CLOSES
    await _ask_audience(update, context)
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
    """Next: at least one sector; then the document, in place of the audience question."""
    draft = _new(context)
    if not draft.all_sectors and not draft.team_ids:
        await refuse(update, context, service.NoAudience())
        return NewStep.AUDIENCE
    await require_query(update).answer()
    chosen = text(context, "consultations.audience-chosen")
    await _ask(update, context, _document_question(context), before=chosen)
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
        await _ask(update, context, _document_question(context), before=problem(context, error))
        return NewStep.DOCUMENT
    _new(context).consultation_id = view.consultation.id
    await _ask_preview(update, context, view)
    return NewStep.PREVIEW


async def _ask_preview(update: Update, context: Ctx, view: Contents, before: str = "") -> None:
    deps = context.deps
    body, markup = views.draft_preview(
        deps.texts, require_actor(context).language, deps.config.zone, view
    )
    await _ask(update, context, body, markup, before)


async def audience_use_buttons(update: Update, context: Ctx) -> int:
    """Text where the audience buttons are expected: say so, with the question again."""
    await _ask_audience(update, context, text(context, "consultations.use-buttons"))
    return NewStep.AUDIENCE


async def preview_use_buttons(update: Update, context: Ctx) -> int:
    """Text where Publish or Discard is expected: say so, with the preview again."""
    deps = context.deps
    draft_id = _new(context).consultation_id
    try:
        assert draft_id is not None
        view = await service.contents(deps.db, require_actor(context), draft_id, deps.clock())
    except DomainError as error:
        await refuse(update, context, error)
        return END
    await _ask_preview(update, context, view, text(context, "consultations.use-buttons"))
    return NewStep.PREVIEW


async def on_discard(update: Update, context: Ctx) -> int:
    """Discard the unpublished draft."""
    press = views.Discard.parse(require_query(update).data)
    if press is None:
        await answer_stale(update, context)
        return NewStep.PREVIEW
    await service.discard(context.deps.db, require_actor(context), press.consultation_id)
    await require_query(update).answer()
    await _ask(update, context, text(context, "consultations.discarded"))
    return END


async def new_cancel(update: Update, context: Ctx) -> int:
    """/cancel: an uploaded, unpublished draft goes too."""
    draft = _new(context)
    if draft.consultation_id is not None:
        await service.discard(context.deps.db, require_actor(context), draft.consultation_id)
    await _ask(update, context, text(context, "consultations.new-cancelled"))
    return END


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
            MessageHandler(typed, audience_use_buttons),
        ],
        NewStep.DOCUMENT: [MessageHandler(typed, on_document)],
        NewStep.PREVIEW: [
            PersonalButton(_publish, pattern=views.Publish.pattern()),
            PersonalButton(on_discard, pattern=views.Discard.pattern()),
            MessageHandler(typed, preview_use_buttons),
        ],
    }
    return Flow(
        name="consultation-new",
        model=NewState,
        commands=(),
        entry_points=[PersonalButton(new_start, pattern=views.New.pattern())],
        steps=steps,
        cancel=new_cancel,
        timeout=TIMEOUT,
        expired_key="consultations.timeout",
    )
