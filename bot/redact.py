"""Secrets never printed or stored: the token (whole, its secret half, URL-quoted) and the
webhook secret, replaced wherever a text may carry them (logs, stored error reasons)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable

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
