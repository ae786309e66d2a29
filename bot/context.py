"""The callback context: typed access to the dependencies and the actor of the update."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.deps import Deps
from bot.engine import DeliveryEngine
from bot.services.users import Actor

DEPS_KEY = "deps"
ENGINE_KEY = "engine"


class Ctx(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[str, Any]]):
    """One per update; the gatekeeper sets `actor` before any feature handler runs."""

    actor: Actor | None = None

    @property
    def deps(self) -> Deps:
        deps = self.application.bot_data[DEPS_KEY]
        if not isinstance(deps, Deps):
            raise RuntimeError("the application was not built by bot.app.build_application")
        return deps


App = Application[ExtBot[None], Ctx, dict[Any, Any], dict[Any, Any], dict[str, Any], JobQueue[Ctx]]


def engine_of(app: App) -> DeliveryEngine:
    """The application's delivery engine (built by bot.app.build_application)."""
    engine = app.bot_data[ENGINE_KEY]
    if not isinstance(engine, DeliveryEngine):
        raise RuntimeError("the application was not built by bot.app.build_application")
    return engine
