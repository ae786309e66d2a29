"""Telegram presentation: texts, cards, keyboards and typed buttons, one module per feature.

Services return domain data; these modules turn it into what a Telegram user sees, and each
registers the renderers of its notice kinds on the engine (`register(engine)`, called by
bot.engine.build_engine). A web page renders the same data its own way (bot/web).
"""

from handlers.views import (
    audit,
    broadcasts,
    calendar,
    card,
    consultations,
    meetings,
    organisations,
    postulates,
    privacy,
    publication,
    roles,
    rsvp,
    schedule,
    settings,
    stats,
)

__all__ = [
    "audit",
    "broadcasts",
    "calendar",
    "card",
    "consultations",
    "meetings",
    "organisations",
    "postulates",
    "privacy",
    "publication",
    "roles",
    "rsvp",
    "schedule",
    "settings",
    "stats",
]
