"""Conversations kept in the database: one mechanism for every multi-step flow.

A flow (/new_meeting, /edit_meeting, /broadcast, /organisation, /grant) is declared like a
ConversationHandler, entry points and a list of PTB handlers per step, plus a pydantic
model of its state. Its state and step live in the `conversations` table (storage/
conversations.py), never only in memory, so a restart or a kill -9 changes nothing.

The rules are the same for every flow:
- one interceptor in an early group routes a private message or a button press to the
  active conversation's current step, and stops the update there;
- `/cancel` ends it through the flow's own cancel callback (which says what was dropped),
  and the last prompt's buttons are removed (handlers/prompts.py);
- any other command pauses it and goes on to its feature; the flow's own command resumes
  it (a flow without `resume` starts afresh instead);
- an idle conversation expires after the flow's timeout: the housekeeping job deletes it
  and tells the user (bot/housekeeping.py); an expired one is never resumed.

Step callbacks keep ConversationHandler's contract: they return the next step, None to stay,
or END. They read and change the state through `state(context, Model)`; the mechanism loads
it before the callback and stores it after, in one transaction each.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from telegram import Chat, Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot.context import App, Ctx
from bot.services import conversations as store
from handlers import prompts
from handlers.common import require_actor
from storage.conversations import Conversation

# After the gatekeeper (-100), before the postulate drafts' interceptor (-10) and every
# feature (0): a typed answer belongs to the conversation under way, whatever else matches.
GROUP = -20
END = -1
_STATE = "flow-state"

M = TypeVar("M", bound=BaseModel)
Callback = Callable[[Update, Ctx], Coroutine[Any, Any, object]]
Handler = BaseHandler[Update, Ctx, object]


@dataclass
class Flow:
    """One multi-step conversation: how it starts, its steps, and what its state is."""

    name: str
    model: type[BaseModel]
    commands: tuple[str, ...]
    entry_points: Sequence[Handler]
    steps: Mapping[int, Sequence[Handler]]
    cancel: Callback
    timeout: timedelta
    expired_key: str
    # Asks the current step's question again; None: the flow's command starts afresh.
    resume: Callable[[Update, Ctx, int], Coroutine[Any, Any, object]] | None = None


def state(context: Ctx, model: type[M]) -> M:
    """The state of the conversation this update belongs to (a fresh one at its start)."""
    data = context.user_data
    if data is None:
        raise RuntimeError("a flow step ran for an update without a user")
    current = data.get(_STATE)
    if not isinstance(current, model):
        current = model()
        data[_STATE] = current
    return current


def replace_state(context: Ctx, model: BaseModel) -> None:
    """Start the conversation's state afresh from a prepared model (e.g. an edit's values)."""
    if context.user_data is None:
        raise RuntimeError("a flow step ran for an update without a user")
    context.user_data[_STATE] = model


async def _clear_prompt(update: Update, context: Ctx) -> None:
    """After /cancel: the last prompt's buttons go too, whatever the flow's cancel said."""
    held = (context.user_data or {}).get(_STATE)
    chat = update.effective_chat
    if isinstance(held, prompts.Prompted) and chat is not None:
        await prompts.clear(context, chat.id, held)


def _command(update: Update) -> str | None:
    message = update.message
    if message is None or not message.text or not message.text.startswith("/"):
        return None
    return message.text.split()[0][1:].split("@")[0].lower()


def _private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == Chat.PRIVATE


class Flows:
    """Every flow of the application, and the one interceptor that drives them."""

    def __init__(self) -> None:
        self.flows: dict[str, Flow] = {}
        self.app: App | None = None

    def _app(self) -> App:
        if self.app is None:
            raise RuntimeError("Flows.register was not called")
        return self.app

    def add(self, app: App, flow: Flow) -> None:
        """Register a flow: its entry points in group 0, its steps behind the interceptor."""
        if flow.name in self.flows:
            raise ValueError(f"flow {flow.name!r} is registered twice")
        self.flows[flow.name] = flow
        for handler in flow.entry_points:
            handler.callback = self._entry(flow, handler.callback)
            app.add_handler(handler)

    def _entry(self, flow: Flow, callback: Callback) -> Callback:
        async def run(update: Update, context: Ctx) -> None:
            deps = context.deps
            user_id = require_actor(context).user_id
            if flow.resume is not None and _command(update) in flow.commands:
                saved = await deps.db.run(store.get, user_id, flow.name, deps.clock())
                if saved is not None:
                    await self._step(flow, saved, update, context, flow.resume, int(saved.step))
                    return
            self._load(context, None, flow)
            await self._settle(flow, update, context, await callback(update, context), None)

        return run

    def _load(self, context: Ctx, saved: Conversation | None, flow: Flow) -> None:
        if context.user_data is None:
            raise RuntimeError("a flow ran for an update without a user")
        context.user_data[_STATE] = (
            flow.model() if saved is None else flow.model.model_validate_json(saved.state)
        )

    async def _step(
        self,
        flow: Flow,
        saved: Conversation,
        update: Update,
        context: Ctx,
        callback: Callable[..., Coroutine[Any, Any, object]],
        *args: object,
    ) -> None:
        self._load(context, saved, flow)
        result = await callback(update, context, *args)
        await self._settle(flow, update, context, result, int(saved.step))

    async def _settle(
        self, flow: Flow, update: Update, context: Ctx, result: object, current: int | None
    ) -> None:
        """Store where the flow stands after a callback (or end it)."""
        deps = context.deps
        user_id = require_actor(context).user_id
        data = context.user_data if context.user_data is not None else {}
        model = data.pop(_STATE, None)
        step = current if result is None else result
        if not isinstance(step, int) or step == END:
            await deps.db.run(store.end, user_id, flow.name)
            return
        now = deps.clock()
        payload = (model if isinstance(model, flow.model) else flow.model()).model_dump_json()
        await deps.db.run(
            store.save,
            user_id=user_id,
            flow=flow.name,
            step=str(int(step)),
            state=payload,
            expired_key=flow.expired_key,
            now=now,
            expires_at=now + flow.timeout,
        )

    async def intercept(self, update: Update, context: Ctx) -> None:
        """Route a private update to the active conversation's step; else let it through."""
        if context.actor is None or not _private(update):
            return
        # The admission query already said whether a conversation is active: most updates
        # (a toggle, a /meetings) are not in one and cost no second read.
        if not context.actor.in_conversation:
            return
        if update.message is None and update.callback_query is None:
            return
        deps = context.deps
        now: datetime = deps.clock()
        saved = await deps.db.run(store.get_active, context.actor.user_id, now)
        if saved is None:
            return
        flow = self.flows.get(saved.flow)
        if flow is None:  # a flow this version no longer has: forget it quietly
            await deps.db.run(store.end, saved.user_id, saved.flow)
            return
        command = _command(update)
        if command == "cancel":
            self._load(context, saved, flow)
            try:
                await flow.cancel(update, context)
                await _clear_prompt(update, context)
            finally:
                await deps.db.run(store.end, saved.user_id, saved.flow)
                if context.user_data is not None:
                    context.user_data.pop(_STATE, None)
            raise ApplicationHandlerStop
        if command is not None:
            # Another command pauses the conversation; the flow's own entry handler
            # resumes or restarts it.
            await deps.db.run(store.pause_all, saved.user_id)
            return
        if any(self._is_entry(update)):
            return  # a flow's start button (e.g. Edit on a card): group 0 starts that flow
        for handler in flow.steps.get(int(saved.step), ()):
            check = handler.check_update(update)
            if check is None or check is False:
                continue
            self._load(context, saved, flow)
            result = await handler.handle_update(update, self._app(), check, context)
            await self._settle(flow, update, context, result, int(saved.step))
            raise ApplicationHandlerStop
        # Nothing of this step: group 0 answers it (a stale button, an unknown text), and
        # the conversation waits where it was.

    def _is_entry(self, update: Update) -> Iterator[bool]:
        for flow in self.flows.values():
            for handler in flow.entry_points:
                check = handler.check_update(update)
                yield check is not None and check is not False

    def register(self, app: App) -> None:
        """Install the interceptor (call once, after the flows are added)."""
        self.app = app
        app.add_handler(TypeHandler(Update, self.intercept), group=GROUP)
