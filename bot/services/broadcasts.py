"""Broadcasts: a moderator's message to the subscribers of one or several of their sectors
(admins: to every subscriber), with an optional photo or document, sent now or later.

A broadcast is one `broadcasts` row plus one announcement per message part (kind
'broadcast', audience 'broadcast' with the row's id, subject 'broadcast:<id>'), so a person
subscribed to several chosen sectors gets it once and cancelling is `cancel_pending`. The
moderator's formatting arrives as Telegram entities; the handler turns them into HTML with
every text and attribute escaped, and only that HTML is split, at paragraph boundaries
outside any tag. Every part is checked the way Telegram checks it (`bot.limits`) before
anything is stored, so a broadcast Telegram would refuse is refused at the preview.
Drafting and splitting are in bot/services/broadcast_drafts.py; this module queues, cancels
and lists broadcasts.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from bot.config import Language
from bot.errors import DomainError, NotAllowed, StaleButton
from bot.services import audit, delivery
from bot.services.broadcast_drafts import (
    _TAGS,
    BROADCAST_KIND,
    CAPTION_LIMIT,
    DOCUMENT_MAX_BYTES,
    MAX_AHEAD,
    MAX_PARTS,
    PHOTO_MAX_BYTES,
    TEXT_LIMIT,
    Audience,
    BadTime,
    BroadcastPart,
    Draft,
    EmptyMessage,
    HeaderRoom,
    NoAudience,
    ParagraphTooLong,
    Prepared,
    TooLarge,
    TooLong,
    Unsendable,
    _chosen,
    _parts,
    check_attachment,
    check_sector,
    paragraphs,
    parse_when,
    prepare,
    sectors,
    split,
    visible_length,
)
from bot.services.delivery import DeliveryCounts
from bot.services.users import Actor
from storage import broadcasts as storage
from storage.broadcasts import Broadcast
from storage.database import Database
from storage.timefmt import db_time
from storage.unit import Unit

# Drafting lives in bot/services/broadcast_drafts.py; its names stay importable from here.
__all__ = [
    "BROADCAST_KIND",
    "CAPTION_LIMIT",
    "DOCUMENT_MAX_BYTES",
    "HISTORY_LIMIT",
    "MAX_AHEAD",
    "MAX_PARTS",
    "PHOTO_MAX_BYTES",
    "PROGRESS_EVERY",
    "SUMMARY_LENGTH",
    "TEXT_LIMIT",
    "Audience",
    "BadTime",
    "BroadcastPart",
    "Draft",
    "EmptyMessage",
    "HeaderRoom",
    "NoAudience",
    "NotCancellable",
    "ParagraphTooLong",
    "Prepared",
    "Progress",
    "Status",
    "TooLarge",
    "TooLong",
    "Unsendable",
    "cancel",
    "cancel_unauthorised",
    "check_attachment",
    "check_sector",
    "create",
    "due_progress",
    "history",
    "paragraphs",
    "parse_when",
    "prepare",
    "progress_edited",
    "register",
    "sectors",
    "split",
    "visible_length",
]


def _author_may_send(unit: Unit, broadcast: Broadcast) -> bool:
    """Whether the author still holds a role that lets them send to the broadcast's audience."""
    if unit.roles.is_admin(broadcast.created_by):
        return True
    if broadcast.team_ids is None:
        return False
    return set(broadcast.team_ids) <= unit.roles.list_moderated_team_ids(broadcast.created_by)


def _recipients(unit: Unit, broadcast_id: int) -> list[storage.Recipient]:
    """The 'broadcast' audience, re-checked when a part falls due.

    A role can go without /revoke (admins removed from the config, /forget), so an author who
    no longer may send to those sectors sends nothing, and the broadcast shows as cancelled.
    """
    found = unit.broadcasts.get_broadcast(broadcast_id)
    if found is not None and found.state != "cancelled" and not _author_may_send(unit, found):
        unit.broadcasts.update_cancelled(broadcast_id)
        return []
    return unit.broadcasts.list_broadcast_recipients(broadcast_id)


def _recipients_page(
    unit: Unit, broadcast_id: int, after: int, limit: int
) -> list[storage.Recipient]:
    """One page of the 'broadcast' audience, with the same checks as `_recipients`."""
    found = unit.broadcasts.get_broadcast(broadcast_id)
    if found is None or found.state == "cancelled":
        return []
    if not _author_may_send(unit, found):
        unit.broadcasts.update_cancelled(broadcast_id)
        return []
    return unit.broadcasts.list_recipients_page(found.team_ids, after, limit)


def register(registry: delivery.Registry) -> None:
    """Broadcasts' audiences (chosen sectors, everyone) and notice kind for the engine."""
    registry.add_audience("broadcast", _recipients, paged=_recipients_page)
    registry.add_audience(
        "all",
        lambda unit, key: unit.broadcasts.list_all_recipients(key),
        paged=lambda unit, key, after, limit: unit.broadcasts.list_recipients_page(
            None, after, limit
        ),
    )
    registry.add_kinds("news", BROADCAST_KIND)


# Progress messages are edited at most this often.
PROGRESS_EVERY = timedelta(seconds=3)
HISTORY_LIMIT = 10
SUMMARY_LENGTH = 60


class NotCancellable(DomainError):
    key = "broadcasts.not-cancellable"


class Status(BaseModel):
    model_config = ConfigDict(frozen=True)

    broadcast: Broadcast
    counts: DeliveryCounts
    # scheduled | sending | done | cancelled
    phase: str


# ---------------------------------------------------------------- send, cancel, history


async def create(
    db: Database,
    actor: Actor,
    draft: Draft,
    *,
    header_room: HeaderRoom,
    now: datetime,
    progress_chat_id: int | None,
    progress_message_id: int | None,
) -> Broadcast:
    """Queue the broadcast (all its parts) in one transaction, audited."""

    def inner(unit: Unit) -> Broadcast:
        teams = _chosen(unit, actor, draft)
        parts = _parts(draft, teams, header_room)
        if draft.due_at is not None and draft.due_at <= now:
            raise BadTime(zone="UTC")
        due = draft.due_at or now
        plain = html.unescape(_TAGS.sub("", draft.body)).strip().replace("\n", " ")
        summary = plain[:SUMMARY_LENGTH] + ("…" if len(plain) > SUMMARY_LENGTH else "")
        broadcast_id = unit.broadcasts.add_broadcast(
            created_by=actor.user_id,
            team_ids=None if draft.everyone else [team.id for team in teams],
            summary=summary,
            due_at=due,
            progress_chat_id=progress_chat_id,
            progress_message_id=progress_message_id,
            now=now,
        )
        for part in parts:
            delivery.announce(
                unit,
                kind=BROADCAST_KIND,
                audience="broadcast",
                audience_id=broadcast_id,
                data=part,
                now=now,
                due_at=due,
                subject=storage.subject(broadcast_id),
                created_by=actor.user_id,
            )
        audit.record(
            unit,
            actor_id=actor.user_id,
            action="broadcast.send",
            target=storage.subject(broadcast_id),
            details={
                "sectors": "all" if draft.everyone else [team.slug for team in teams],
                "due_at": db_time(due),
                "parts": len(parts),
                "attachment": "photo"
                if draft.photo_file_id
                else "document"
                if draft.document_file_id
                else None,
                "summary": summary,
            },
            now=now,
        )
        found = unit.broadcasts.get_broadcast(broadcast_id)
        assert found is not None
        return found

    return await db.run(inner)


def _status(unit: Unit, broadcast: Broadcast) -> Status:
    parts = unit.broadcasts.list_part_states(broadcast.id)
    # Everyone gets every part, so the first part's copies count the people.
    counts = delivery.get_counts(unit, parts[0][0]) if parts else DeliveryCounts()
    if broadcast.state == "cancelled":
        phase = "cancelled"
    elif any(state == "scheduled" for _, state in parts):
        phase = "scheduled"
    elif (
        counts.pending
        or counts.sending
        or any(
            delivery.get_counts(unit, part_id).pending + delivery.get_counts(unit, part_id).sending
            for part_id, _ in parts[1:]
        )
    ):
        phase = "sending"
    else:
        phase = "done"
    return Status(broadcast=broadcast, counts=counts, phase=phase)


def _may_manage(actor: Actor, broadcast: Broadcast) -> bool:
    if actor.is_admin:
        return True
    if broadcast.team_ids is None:
        return False
    return all(actor.moderates(team_id) for team_id in broadcast.team_ids)


async def history(db: Database, actor: Actor) -> list[tuple[Status, bool]]:
    """The latest broadcasts the actor may see, newest first, with whether they may cancel."""

    def inner(unit: Unit) -> list[tuple[Status, bool]]:
        found = unit.broadcasts.list_broadcasts(
            team_ids=None if actor.is_admin else actor.moderated_team_ids,
            user_id=actor.user_id,
            limit=HISTORY_LIMIT,
        )
        result = []
        for broadcast in found:
            status = _status(unit, broadcast)
            cancellable = status.phase in ("scheduled", "sending") and _may_manage(actor, broadcast)
            result.append((status, cancellable))
        return result

    return await db.run(inner)


def cancel_unauthorised(unit: Unit, *, author_id: int, actor_id: int, now: datetime) -> int:
    """In the caller's transaction (a revoke): cancel the author's scheduled broadcasts they
    may no longer send; return how many. Audited as cancelled by `actor_id`."""
    cancelled = 0
    for broadcast in unit.broadcasts.list_scheduled_by(author_id):
        if _author_may_send(unit, broadcast):
            continue
        delivery.cancel_pending(unit, subject=storage.subject(broadcast.id), now=now)
        unit.broadcasts.update_cancelled(broadcast.id)
        audit.record(
            unit,
            actor_id=actor_id,
            action="broadcast.cancel",
            target=storage.subject(broadcast.id),
            details={"reason": "role.revoke", "author": author_id},
            now=now,
        )
        cancelled += 1
    return cancelled


async def cancel(db: Database, actor: Actor, broadcast_id: int, now: datetime) -> Status:
    """Cancel a scheduled or running broadcast: its waiting copies expire. Audited."""

    def inner(unit: Unit) -> Status:
        broadcast = unit.broadcasts.get_broadcast(broadcast_id)
        if broadcast is None:
            raise StaleButton()
        if not _may_manage(actor, broadcast):
            raise NotAllowed()
        if _status(unit, broadcast).phase not in ("scheduled", "sending"):
            raise NotCancellable()
        delivery.cancel_pending(unit, subject=storage.subject(broadcast_id), now=now)
        unit.broadcasts.update_cancelled(broadcast_id)
        audit.record(
            unit,
            actor_id=actor.user_id,
            action="broadcast.cancel",
            target=storage.subject(broadcast_id),
            now=now,
        )
        updated = unit.broadcasts.get_broadcast(broadcast_id)
        assert updated is not None
        return _status(unit, updated)

    return await db.run(inner)


# ---------------------------------------------------------------- progress messages


class Progress(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Status
    language: Language
    final: bool


async def due_progress(db: Database, now: datetime) -> list[Progress]:
    """Progress messages to edit now: started broadcasts, each at most every PROGRESS_EVERY."""

    def inner(unit: Unit) -> list[Progress]:
        result = []
        for broadcast, language in unit.broadcasts.list_open_progress():
            if broadcast.progress_at is not None and now - broadcast.progress_at < PROGRESS_EVERY:
                continue
            status = _status(unit, broadcast)
            if status.phase == "scheduled":
                continue
            final = status.phase in ("done", "cancelled") and not (
                status.counts.pending or status.counts.sending
            )
            lang: Language = "en" if language == "en" else "pl"
            result.append(Progress(status=status, language=lang, final=final))
        return result

    return await db.run(inner)


async def progress_edited(db: Database, items: list[tuple[int, bool]], now: datetime) -> None:
    """Record the edits (and which broadcasts need no more)."""
    if items:
        await db.run(lambda unit: unit.broadcasts.update_progress(items, now))
