"""Runs the public site (and the webhook) inside the bot's process and loop (uvicorn beside PTB)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp

from bot.config import Config
from bot.context import App, engine_of
from bot.deps import utcnow
from bot.i18n import Texts
from bot.web.site import build_site
from storage.database import ReadOnlyDatabase

log = logging.getLogger(__name__)

Hook = Callable[[App], Coroutine[Any, Any, None]]


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves SIGINT and SIGTERM to PTB, which stops both."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class SiteRunner:
    """Starts the site after the bot has initialised (its username is known) and stops it."""

    def __init__(self, config: Config, routes: Sequence[Route] = ()) -> None:
        self.config = config
        self.routes = routes
        self.reader = ReadOnlyDatabase(config.database)
        self.server: _EmbeddedServer | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self, app: App) -> None:
        """Build the site over a read-only connection and start listening."""
        texts = app.bot_data.get("texts")
        site: ASGIApp = Starlette(routes=list(self.routes))
        if self.config.web.enabled:
            site = build_site(
                self.config,
                self.reader,
                texts if isinstance(texts, Texts) else Texts(),
                app.bot.username,
                app.bot_data.get("clock", utcnow),
                lambda: engine_of(app).last_run_at,
                routes=self.routes,
            )
        web = self.config.web
        self.server = _EmbeddedServer(
            uvicorn.Config(
                site,
                host=web.host,
                port=web.port,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
        )
        self.task = asyncio.create_task(self.server.serve())
        # A taken port must stop the start, not leave a bot without its site.
        while not self.server.started:
            if self.task.done():
                self.task.result()
                raise RuntimeError(f"the public site could not listen on {web.host}:{web.port}")
            await asyncio.sleep(0.01)
        if self.config.web.enabled:
            log.info("Public site at http://%s:%s/", web.host, web.port)

    async def stop(self) -> None:
        """Stop listening and close the read-only connection."""
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await self.task
        await self.reader.close()


def attach(app: App, config: Config, routes: Sequence[Route] = ()) -> None:
    """Run the site with the bot: started after PTB's post_init, stopped before its shutdown.

    `routes` (the webhook's) are served by the same server, even with the site turned off.
    """
    if not config.web.enabled and not routes:
        return
    runner = SiteRunner(config, routes)
    post_init: Hook | None = app.post_init
    post_shutdown: Hook | None = app.post_shutdown

    async def start(application: App) -> None:
        if post_init is not None:
            await post_init(application)
        await runner.start(application)

    async def stop(application: App) -> None:
        await runner.stop()
        if post_shutdown is not None:
            await post_shutdown(application)

    app.post_init = start
    app.post_shutdown = stop
