"""Handlers: thin adapters from Telegram updates to services, one module per feature."""

from __future__ import annotations

from bot.context import App
from handlers import (
    audit,
    broadcasts,
    calendar,
    consultations,
    errors,
    fallback,
    flow,
    gatekeeper,
    groups,
    meetings,
    members,
    organisation,
    postulates,
    privacy,
    profile,
    prompts,
    publication,
    roles,
    rsvp,
    schedule,
    sectors,
    settings,
    start,
    stats,
)


def register_all(app: App) -> None:
    """Install every handler; the order matters and is explained per line."""
    # Every multi-step conversation is kept in the database and driven by one interceptor.
    flows = flow.Flows()
    # First: load the actor (user and roles) for every update, in its own negative group.
    gatekeeper.register(app)
    # Features, in group 0: the first matching handler wins, so specific /start deep links
    # (added by later features) must be registered before the generic /start.
    # The sector toggles come first: they are the most frequent update, and each handler
    # before them is one more check per press (bench/updates.py). Nothing else matches them.
    sectors.register(app)  # /sectors, sectors: buttons
    schedule.register(app)  # /start meeting-<id>
    roles.register_invite_link(app)  # /start mod-<token>
    consultations.register(app, flows)  # /start consultation-<id>, /consultation, cons: buttons
    start.register(app)
    profile.register(app)
    privacy.register(app)  # /privacy, /mydata, /forget, priv: buttons
    members.register(app)
    organisation.register(app, flows)
    rsvp.register(app)
    calendar.register(app)
    postulates.register(app)  # /postulate, /review, /export; its draft interceptor is group -10
    meetings.register(app, flows)  # /new_meeting, /edit_meeting, /cancel_meeting, mtg: buttons
    settings.register(app)  # /settings, set: buttons
    stats.register(app)  # /stats
    roles.register(app, flows)  # /grant, /revoke, /team, role: buttons
    audit.register(app)  # /audit, audit: buttons
    broadcasts.register(app, flows)  # /broadcast, /broadcasts, bc: buttons
    publication.register(app, flows)  # pub: buttons (publication answers, hide/show)
    groups.register(app)  # /link_group, /unlink_group; group life in its own group
    # Group -20, between the gatekeeper and the postulate drafts' interceptor: a private
    # message or a press that answers the active conversation's step goes there and stops.
    flows.register(app)
    prompts.register(app)  # an expired conversation's last prompt loses its buttons
    # Last in group 0: whatever no feature took (unknown commands, stale buttons).
    fallback.register(app)
    errors.register(app)
