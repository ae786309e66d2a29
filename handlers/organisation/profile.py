"""Organisation: /organisation registers, shows or edits the NGO the user represents.

Each step is the flow's prompt (handlers/prompts.py): a press edits it into the next step (the
card's Edit button turns the card into the first question), a typed answer gets one new message
and the old prompt loses its buttons; an error comes with its question in one message."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from enum import IntEnum
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import Ctx
from bot.errors import ConsentRequired
from bot.i18n import Html
from bot.services import organisations as service
from bot.services.organisations import (
    NAME_MAX,
    NAME_MIN,
    AlreadyRepresenting,
    InvalidOrganisation,
    NotRepresenting,
    OrganisationCard,
    OrganisationDraft,
    RegisterType,
)
from handlers import flow, prompts
from handlers.common import (
    PRIVATE,
    PersonalButton,
    answer_stale,
    is_consented,
    problem,
    reply,
    require_actor,
    require_message,
    require_query,
    text,
)
from handlers.flow import Flow

# Long enough to look a number up in the register, short enough not to surprise the user later.
from handlers.organisation import buttons
from handlers.organisation.membership import button, offer_requests
from storage.models import Organisation

TIMEOUT = timedelta(minutes=30)
TYPE_BUTTONS: tuple[tuple[RegisterType, str], ...] = (
    ("krs", "organisation.button-krs"),
    ("other", "organisation.button-other"),
    ("none", "organisation.button-none"),
)
END = flow.END
Callback = Callable[[Update, Ctx], Coroutine[Any, Any, int]]


class Step(IntEnum):
    NAME = 1
    TYPE = 2
    KRS = 3
    REGISTER = 4
    NIP = 5
    REGON = 6
    CONFIRM = 7


class Draft(prompts.Prompted):
    """The conversation's answers so far; nothing is stored until Save (state: handlers/flow)."""

    editing: bool = False
    # The organisation being edited (the service re-checks that the user may).
    organisation_id: int | None = None
    name: str | None = None
    register_type: RegisterType | None = None
    krs: str | None = None
    register_name: str | None = None
    nip: str | None = None
    regon: str | None = None

    @classmethod
    def of(cls, organisation: Organisation) -> Draft:
        return cls(
            editing=True,
            organisation_id=organisation.id,
            name=organisation.name,
            register_type=organisation.register_type,
            krs=organisation.krs,
            register_name=organisation.register_name,
            nip=organisation.nip,
            regon=organisation.regon,
        )

    def complete(self) -> OrganisationDraft:
        return OrganisationDraft(
            name=self.name or "",
            register_type=self.register_type or "none",
            krs=self.krs,
            register_name=self.register_name,
            nip=self.nip,
            regon=self.regon,
        )


# Text steps: how the typed text is checked and which field of the draft it fills.
CLEANERS: dict[Step, tuple[Callable[[str], str], str]] = {
    Step.NAME: (service.clean_text, "name"),
    Step.KRS: (service.clean_krs, "krs"),
    Step.REGISTER: (service.clean_text, "register_name"),
    Step.NIP: (service.clean_nip, "nip"),
    Step.REGON: (service.clean_regon, "regon"),
}
OPTIONAL = (Step.NIP, Step.REGON)
PROMPTS = {
    Step.NAME: "organisation.ask-name",
    Step.TYPE: "organisation.ask-type",
    Step.KRS: "organisation.ask-krs",
    Step.REGISTER: "organisation.ask-register",
    Step.NIP: "organisation.ask-nip",
    Step.REGON: "organisation.ask-regon",
}


def _draft(context: Ctx) -> Draft:
    return flow.state(context, Draft)


def _set_draft(context: Ctx, draft: Draft | None) -> None:
    # Ending the conversation (END) is what drops the state; a new draft replaces it.
    if draft is not None:
        flow.replace_state(context, draft)


def _details(context: Ctx, details: OrganisationDraft | Organisation) -> Html:
    empty = text(context, "organisation.empty")
    if details.register_type == "krs":
        register = text(context, "organisation.register-krs", krs=details.krs)
    elif details.register_type == "other":
        register = text(context, "organisation.register-other", register=details.register_name)
    else:
        register = text(context, "organisation.register-none")
    return text(
        context,
        "organisation.details",
        name=details.name,
        register=register,
        nip=details.nip or empty,
        regon=details.regon or empty,
    )


def _card_text(context: Ctx, card: OrganisationCard) -> Html:
    actor = require_actor(context)
    if card.state == "pending":
        return text(context, "organisation.pending-card", name=card.organisation.name)
    count = context.deps.texts.plural(
        actor.language, "organisation.representatives", card.representatives
    )
    return Html(
        "\n\n".join(
            [
                text(context, "organisation.card-intro"),
                _details(context, card.organisation),
                count,
            ]
        )
    )


def _card_keyboard(context: Ctx, card: OrganisationCard) -> InlineKeyboardMarkup:
    organisation_id = card.organisation.id
    if card.state == "pending":
        return InlineKeyboardMarkup(
            [button(context, "organisation.button-withdraw", buttons.Leave(organisation_id))]
        )
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    text(context, "organisation.button-edit"), callback_data=buttons.Edit().pack()
                )
            ],
            [
                InlineKeyboardButton(
                    text(context, "organisation.button-leave"),
                    callback_data=buttons.Leave(organisation_id).pack(),
                )
            ],
        ]
    )


def _current(draft: Draft, step: Step) -> str | None:
    if step in CLEANERS:
        value = getattr(draft, CLEANERS[step][1])
        return value if isinstance(value, str) else None
    return None


async def _ask(update: Update, context: Ctx, draft: Draft, step: Step, error: str = "") -> Step:
    """Send the question of a step (after an error, if any) and remember it as the prompt."""
    parts = [error] if error else []
    rows: list[list[InlineKeyboardButton]] = []
    if step == Step.CONFIRM:
        complete = draft.complete().validated()
        parts.append(text(context, "organisation.summary", details=_details(context, complete)))
        if not draft.editing and await service.joins_registered(
            context.deps.db, require_actor(context).user_id, complete
        ):
            parts.append(text(context, "organisation.joining"))
        rows.append(button(context, "organisation.button-save", buttons.Save()))
        rows.append(button(context, "organisation.button-cancel", buttons.Cancel()))
    else:
        parts.append(text(context, PROMPTS[step], min=NAME_MIN, max=NAME_MAX))
        current = _current(draft, step)
        if draft.editing and current is not None:
            parts.append(text(context, "organisation.current", value=current))
            rows.append(button(context, "organisation.button-keep", buttons.Keep()))
        if step == Step.TYPE:
            labels = dict(TYPE_BUTTONS)
            if draft.editing and draft.register_type is not None:
                now = text(context, labels[draft.register_type])
                parts.append(text(context, "organisation.current", value=now))
            rows.extend(
                button(context, key, buttons.RegisterKind(kind)) for kind, key in TYPE_BUTTONS
            )
        if step in OPTIONAL:
            # While editing, skipping a number that is there removes it: say so.
            skip = (
                "organisation.button-remove" if current is not None else "organisation.button-skip"
            )
            rows.append(button(context, skip, buttons.Skip()))
    markup = InlineKeyboardMarkup(rows) if rows else None
    await prompts.show(update, context, draft, prompts.joined(*parts), markup)
    return step


def _next(draft: Draft, step: Step) -> Step:
    if step == Step.NAME:
        return Step.TYPE
    if step == Step.TYPE:
        return {"krs": Step.KRS, "other": Step.REGISTER}.get(draft.register_type or "", Step.NIP)
    if step in (Step.KRS, Step.REGISTER):
        return Step.NIP
    if step == Step.NIP:
        return Step.REGON
    return Step.CONFIRM


async def _lost(update: Update, context: Ctx) -> int:
    """The draft is gone (e.g. the bot restarted): say so and end."""
    await prompts.show(update, context, _draft(context), text(context, "organisation.cancelled"))
    return END


async def _pressed(update: Update, context: Ctx) -> Draft | None:
    """The draft, if the button is on the latest question; else answer it as stale.

    Buttons in a conversation are tracked per user, not per message: a press on an older
    question of this (or an earlier) conversation must not count as an answer to this one.
    """
    query = require_query(update)
    draft = _draft(context)
    message_id = query.message.message_id if query.message is not None else None
    if draft is None or message_id != draft.prompt_id:
        await answer_stale(update, context)
        return None
    await query.answer()
    return draft


async def _start(update: Update, context: Ctx, draft: Draft, intro: str) -> int:
    prompts.adopt(update, draft)  # the card's Edit button: the card becomes the question
    _set_draft(context, draft)
    return await _ask(update, context, draft, Step.NAME, intro)


# Entry points


async def show(update: Update, context: Ctx) -> int:
    """Show my organisation's card, or start registering one."""
    if not is_consented(context):
        await reply(update, text(context, "error.consent-required"))
        return END
    actor = require_actor(context)
    if actor.is_admin:
        await offer_requests(update, context)
    card = await service.my_organisation(context.deps.db, actor.user_id)
    if card is None:
        return await _start(
            update, context, Draft(editing=False), text(context, "organisation.intro")
        )
    _set_draft(context, None)
    await reply(update, _card_text(context, card), _card_keyboard(context, card))
    return END


async def edit(update: Update, context: Ctx) -> int:
    """Start editing the organisation the user represents (the card's Edit button)."""
    query = require_query(update)
    if not is_consented(context):
        await query.answer(text(context, "error.consent-required"), show_alert=True)
        return END
    actor = require_actor(context)
    card = await service.my_organisation(context.deps.db, actor.user_id)
    if card is None or card.state != "accepted":
        await answer_stale(update, context)
        return END
    await query.answer()
    intro = text(context, "organisation.edit-intro", name=card.organisation.name)
    return await _start(update, context, Draft.of(card.organisation), intro)


# Steps


def _on_text(step: Step) -> Callback:
    clean, field = CLEANERS[step]

    async def on_text(update: Update, context: Ctx) -> int:
        draft = _draft(context)
        if draft is None:
            return await _lost(update, context)
        typed = require_message(update).text
        if typed is None:
            return await _ask(update, context, draft, step, text(context, "organisation.send-text"))
        try:
            value = clean(typed)
        except InvalidOrganisation as exc:
            return await _ask(update, context, draft, step, problem(context, exc))
        setattr(draft, field, value)
        return await _ask(update, context, draft, _next(draft, step))

    return on_text


def _on_keep_or_skip(step: Step) -> Callback:
    field = CLEANERS[step][1]

    async def on_keep_or_skip(update: Update, context: Ctx) -> int:
        skip = buttons.Skip.parse(require_query(update).data) is not None
        draft = _draft(context)
        # A Keep without a current value or a Skip on a required step is a forged button.
        if (
            draft is None
            or (skip and step not in OPTIONAL)
            or (not skip and (not draft.editing or _current(draft, step) is None))
        ):
            await answer_stale(update, context)
            return step
        if await _pressed(update, context) is None:
            return step
        if skip:
            setattr(draft, field, None)
        return await _ask(update, context, draft, _next(draft, step))

    return on_keep_or_skip


async def on_type(update: Update, context: Ctx) -> int:
    """Take the register type from its button."""
    press = buttons.RegisterKind.parse(require_query(update).data)
    if press is None:
        await answer_stale(update, context)
        return Step.TYPE
    draft = await _pressed(update, context)
    if draft is None:
        return Step.TYPE
    draft.register_type = press.kind
    return await _ask(update, context, draft, _next(draft, Step.TYPE))


def _use_buttons(step: Step) -> Callback:
    async def use_buttons(update: Update, context: Ctx) -> int:
        draft = _draft(context)
        if draft is None:
            return await _lost(update, context)
        return await _ask(update, context, draft, step, text(context, "organisation.use-buttons"))

    return use_buttons


async def on_save(update: Update, context: Ctx) -> int:
    """Save the draft (the summary's Save button) and show the card."""
    draft = await _pressed(update, context)
    if draft is None:
        return Step.CONFIRM
    _set_draft(context, None)
    actor = require_actor(context)
    deps = context.deps
    try:
        if draft.editing and draft.organisation_id is not None:
            card = await service.edit_organisation(
                deps.db, actor.user_id, draft.organisation_id, draft.complete(), deps.clock()
            )
            done = "organisation.saved"
        else:
            registered = await service.register_organisation(
                deps.db,
                actor.user_id,
                draft.complete(),
                deps.config.privacy.notice_version,
                deps.clock(),
            )
            card = registered.card
            done = "organisation.requested" if registered.joined else "organisation.saved"
    except (ConsentRequired, InvalidOrganisation, NotRepresenting, AlreadyRepresenting) as exc:
        await prompts.show(update, context, draft, problem(context, exc))
        return END
    # The summary becomes the card.
    body = prompts.joined(text(context, done), _card_text(context, card))
    await prompts.show(update, context, draft, body, _card_keyboard(context, card))
    return END


async def on_cancel_button(update: Update, context: Ctx) -> int:
    """The summary's Cancel button: forget the draft."""
    if await _pressed(update, context) is None:
        return Step.CONFIRM
    return await cancel(update, context)


async def cancel(update: Update, context: Ctx) -> int:
    """/cancel at any step: forget the draft, store nothing."""
    await prompts.show(update, context, _draft(context), text(context, "organisation.cancelled"))
    return END


def _text_step(step: Step) -> list[BaseHandler[Update, Ctx, object]]:
    handlers: list[BaseHandler[Update, Ctx, object]] = [
        MessageHandler(filters.UpdateType.MESSAGE & ~filters.COMMAND, _on_text(step)),
        CallbackQueryHandler(_on_keep_or_skip(step), pattern=buttons.Keep.pattern()),
        CallbackQueryHandler(_on_keep_or_skip(step), pattern=buttons.Skip.pattern()),
    ]
    return handlers


def organisation_flow() -> Flow:
    """The /organisation conversation (register or edit)."""
    typed = filters.UpdateType.MESSAGE & ~filters.COMMAND
    return Flow(
        name="organisation",
        model=Draft,
        commands=("organisation",),
        entry_points=[
            CommandHandler("organisation", show, PRIVATE),
            PersonalButton(edit, pattern=buttons.Edit.pattern()),
        ],
        steps={
            Step.NAME: _text_step(Step.NAME),
            Step.TYPE: [
                CallbackQueryHandler(on_type, pattern=buttons.RegisterKind.pattern()),
                MessageHandler(typed, _use_buttons(Step.TYPE)),
            ],
            Step.KRS: _text_step(Step.KRS),
            Step.REGISTER: _text_step(Step.REGISTER),
            Step.NIP: _text_step(Step.NIP),
            Step.REGON: _text_step(Step.REGON),
            Step.CONFIRM: [
                CallbackQueryHandler(on_save, pattern=buttons.Save.pattern()),
                CallbackQueryHandler(on_cancel_button, pattern=buttons.Cancel.pattern()),
                MessageHandler(typed, _use_buttons(Step.CONFIRM)),
            ],
        },
        cancel=cancel,
        timeout=TIMEOUT,
        expired_key="organisation.timed-out",
    )
