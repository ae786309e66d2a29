"""How updates arrive: long polling (the default) or Telegram's webhook (`mode = "webhook"`)."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from typing import Any

import tornado.web
from telegram import Update
from tornado.httpserver import HTTPServer

from bot.config import Config
from bot.context import App
from bot.redact import top_keys, update_id_of

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# The largest update body taken. Telegram's updates are a few KiB (a 4,096-character text
# with entities, a reply, a keyboard); anything near a MiB is not an update.
MAX_BODY_BYTES = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def serve(app: App, config: Config) -> None:
    """Run the bot until SIGINT or SIGTERM, fed by polling or by the webhook server."""
    if config.mode == "polling":
        # Polling deletes a webhook left from an earlier webhook deployment first.
        app.run_polling(
            allowed_updates=Update.ALL_TYPES, stop_signals=STOP_SIGNALS, close_loop=False
        )
        return
    asyncio.get_event_loop().run_until_complete(_run_webhook(app, config))


async def _run_webhook(app: App, config: Config) -> None:
    """PTB's lifecycle (initialise, post_init, start, stop, shutdown) around our own server.

    PTB's built-in webhook server reads a body whole (up to tornado's 100 MB) before looking
    at it and logs an update it cannot parse with all its content; this one refuses a wrong
    secret (403) and an oversized body (413) before reading it, and logs ids and keys only.
    The pattern is PTB's "custom webhook bot" example.
    """
    webhook = config.webhook
    if webhook.secret_token is None:  # the configuration refuses this; checked again here
        raise ValueError("mode = 'webhook' needs BOT_WEBHOOK_SECRET")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    server: HTTPServer | None = None
    try:
        await app.initialize()
        if app.post_init is not None:
            await app.post_init(app)
        # Only Telegram (which gets the secret here) can post: every request must repeat it.
        # On stop the webhook stays set: Telegram keeps the updates until the bot is back.
        await app.bot.set_webhook(
            url=webhook.url,
            secret_token=webhook.secret_token.get_secret_value(),
            allowed_updates=Update.ALL_TYPES,
        )
        await app.start()
        routes = [
            (
                rf"/{webhook.url_path}/?",
                UpdateHandler,
                {"app": app, "secret": webhook.secret_token.get_secret_value()},
            )
        ]
        # Tornado's own limit is only the backstop (it answers 400): the handler answers 413
        # at MAX_BODY_BYTES, for chunked bodies too.
        server = HTTPServer(_Quiet(routes), max_body_size=2 * MAX_BODY_BYTES)
        server.listen(webhook.port, address=webhook.listen)
        log.info("Webhook server listening on %s:%d", webhook.listen, webhook.port)
        await stop.wait()
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
        if server is not None:
            server.stop()
            await server.close_all_connections()
        if app.running:
            await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


class _Quiet(tornado.web.Application):
    """No access log: request lines would add nothing the bot's own log does not say."""

    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        """Log nothing per request."""


@tornado.web.stream_request_body
class UpdateHandler(tornado.web.RequestHandler):
    """One POST from Telegram: secret and size checked first, then the update is queued."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, app: App, secret: str) -> None:
        """Tornado's per-request set-up."""
        self.app = app
        self.secret = secret
        self.body = bytearray()
        self.too_large = False

    def prepare(self) -> None:
        """Refuse before the body is read: a wrong secret (403), a body too large (413)."""
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            raise tornado.web.HTTPError(403)
        length = self.request.headers.get("Content-Length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            raise tornado.web.HTTPError(413)

    def data_received(self, chunk: bytes) -> None:
        """Collect the body, keeping nothing past the limit (a chunked body has no length)."""
        # Raising here would drop the connection without an answer; post() answers 413.
        if self.too_large or len(self.body) + len(chunk) > MAX_BODY_BYTES:
            self.too_large = True
            self.body.clear()
            return
        self.body.extend(chunk)

    async def post(self) -> None:
        """Queue the update; one that cannot be read is answered 200 and skipped, never retried."""
        if self.too_large:
            raise tornado.web.HTTPError(413)
        data: Any = None
        try:
            data = json.loads(self.body)
            update = Update.de_json(data, self.app.bot)
        except Exception as exc:
            # Telegram would resend an update answered with an error, forever: skip it like
            # the polling guard does, and log its id and keys, never its content.
            log.error(
                "Skipped update %s that could not be read (top-level keys: %s): %s",
                update_id_of(data),
                top_keys(data),
                type(exc).__name__,
            )
            return
        await self.app.update_queue.put(update)

    def log_exception(self, *args: object) -> None:
        """The 403 and 413 answers say all there is; no traceback for them."""
