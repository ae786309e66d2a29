"""How updates arrive: long polling (the default) or Telegram's webhook (`mode = "webhook"`)."""

from __future__ import annotations

import signal

from telegram import Update

from bot.config import Config
from bot.context import App

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def serve(app: App, config: Config) -> None:
    """Run the bot until SIGINT or SIGTERM, fed by polling or by the webhook server."""
    if config.mode == "polling":
        # Polling deletes a webhook left from an earlier webhook deployment first.
        app.run_polling(
            allowed_updates=Update.ALL_TYPES, stop_signals=STOP_SIGNALS, close_loop=False
        )
        return
    webhook = config.webhook
    if webhook.secret_token is None:  # the configuration refuses this; checked again here
        raise ValueError("mode = 'webhook' needs BOT_WEBHOOK_SECRET")
    # PTB's server answers 403 to a request whose X-Telegram-Bot-Api-Secret-Token header is
    # missing or wrong, so only Telegram (which got the secret with setWebhook) can post.
    # On stop the webhook stays set: Telegram keeps the updates until the bot is back.
    app.run_webhook(
        listen=webhook.listen,
        port=webhook.port,
        url_path=webhook.url_path,
        webhook_url=webhook.url,
        secret_token=webhook.secret_token.get_secret_value(),
        allowed_updates=Update.ALL_TYPES,
        stop_signals=STOP_SIGNALS,
        close_loop=False,
    )
