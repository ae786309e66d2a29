"""Secrets never printed or stored: the token (whole, its secret half, URL-quoted) and the
webhook secret, replaced wherever a text may carry them (logs, stored error reasons); and
updates that cannot be read are logged by id and top-level keys only, never their content."""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Iterable
from typing import Any

from bot.config import Config

REDACTED = "[redacted]"


def secrets_of(config: Config) -> tuple[str, ...]:
    """What must never be printed: the token, its secret half, URL-quoted, the webhook secret."""
    found: set[str] = set()
    if config.webhook.secret_token is not None:
        found.add(config.webhook.secret_token.get_secret_value())
    if config.token is not None:
        token = config.token.get_secret_value()
        found |= {token, urllib.parse.quote(token, safe="")}
        _, _, secret = token.partition(":")
        if len(secret) >= 8:  # shorter halves would redact ordinary words
            found.add(secret)
    # Longest first, so a token is replaced whole before its half is looked for.
    return tuple(sorted((s for s in found if s), key=len, reverse=True))


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in `text`."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def update_id_of(item: Any) -> int | None:
    """The update_id of a raw update, if it has a proper one."""
    update_id = item.get("update_id") if isinstance(item, dict) else None
    return update_id if isinstance(update_id, int) and not isinstance(update_id, bool) else None


def top_keys(item: Any) -> str:
    """The top-level keys of a raw update (names of fields, never their values)."""
    if not isinstance(item, dict):
        return f"none, a {type(item).__name__}"
    return ", ".join(sorted(str(key)[:40] for key in item)[:20])


def describe_update(item: Any) -> str:
    """An update as logs may show it: its id and top-level keys, never names or texts."""
    return f"{update_id_of(item)} (top-level keys: {top_keys(item)})"


class UnreadableUpdateFilter(logging.Filter):
    """Rewrites PTB's "Received data was %r" records to ids and top-level keys only.

    PTB logs a batch (or a webhook body) it cannot parse whole, names and texts included,
    before the polling guard in bot/cli.py gets a chance; a log must hold no personal content.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("telegram") or "Received data was" not in str(record.msg):
            return True
        error = record.exc_info[1] if record.exc_info else None
        reason = type(error).__name__ if error is not None else "unknown error"
        if isinstance(record.args, tuple) and record.args:
            data = record.args[0]
            items = data if isinstance(data, list) else [data]
            record.msg = "Could not read update(s) %s: %s"
            record.args = ("; ".join(describe_update(item) for item in items[:20]), reason)
        else:  # PTB's Updater repeating the failure, without the data
            record.msg = "Could not read the update(s) received: %s"
            record.args = (reason,)
        # The traceback's exception messages may quote the data too.
        record.exc_info = None
        record.exc_text = None
        return True
