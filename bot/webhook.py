"""How updates arrive: long polling (the default) or Telegram's webhook (`mode = "webhook"`).

The webhook is served by the public site's server (bot/web/server.py), not a second one.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update

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
    """PTB's lifecycle (initialise, post_init, start, stop, shutdown) around the web server.

    The webhook is one route of the site's server (started in post_init, see
    bot/web/server.py): PTB's "custom webhook bot" pattern, no `updater.start_webhook`.
    """
    webhook = config.webhook
    if webhook.secret_token is None:  # the configuration refuses this; checked again here
        raise ValueError("mode = 'webhook' needs BOT_WEBHOOK_SECRET")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
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
        log.info("Webhook at /%s on the web server", webhook.url_path)
        await stop.wait()
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
        if app.running:
            await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


def webhook_routes(app: App, config: Config) -> list[Route]:
    """The webhook's route for the web server; none while polling."""
    if config.mode != "webhook" or config.webhook.secret_token is None:
        return []
    secret = config.webhook.secret_token.get_secret_value().encode()

    async def receive(request: Request) -> Response:
        return await _receive(app, secret, request)

    path = "/" + config.webhook.url_path.rstrip("/")
    return [Route(path, receive, methods=["POST"]), Route(path + "/", receive, methods=["POST"])]


async def _receive(app: App, secret: bytes, request: Request) -> Response:
    """One POST from Telegram: secret and size checked before the body, then the update queued.

    A wrong secret is refused (403) and a body over MAX_BODY_BYTES (413) before it is read
    whole, chunked bodies included; an update that cannot be read is answered 200 and
    skipped, logged by its id and keys only (Telegram would resend an error forever).
    """
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret):
        return Response(status_code=403)
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        return Response(status_code=413)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            # The rest is never read: the server closes the connection after answering.
            return Response(status_code=413)
    data: Any = None
    try:
        data = json.loads(body)
        update = Update.de_json(data, app.bot)
    except Exception as exc:
        log.error(
            "Skipped update %s that could not be read (top-level keys: %s): %s",
            update_id_of(data),
            top_keys(data),
            type(exc).__name__,
        )
        return Response()
    await app.update_queue.put(update)
    return Response()
