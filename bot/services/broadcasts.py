"""Broadcasts: a moderator's message to the subscribers of one or several of their sectors
(admins: to every subscriber), with an optional photo or document, sent now or later.

A broadcast is one `broadcasts` row plus one announcement per message part (kind
'broadcast', audience 'broadcast' with the row's id, subject 'broadcast:<id>'), so a person
subscribed to several chosen sectors gets it once and cancelling is `cancel_pending`. The
moderator's formatting arrives as Telegram entities; the handler turns them into HTML with
every text and attribute escaped, and only that HTML is split, at paragraph boundaries
outside any tag. Every part is checked the way Telegram checks it (`bot.limits`) before
anything is stored, so a broadcast Telegram would refuse is refused at the preview.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot import limits
from bot.config import Language
from bot.errors import DomainError, NotAllowed, StaleButton, UnknownSector
from bot.services import audit, delivery
from bot.services.delivery import DeliveryCounts
from bot.services.users import Actor
from storage import broadcasts as storage
from storage.broadcasts import Broadcast
from storage.database import Database
from storage.models import Team
from storage.timefmt import db_time
from storage.unit import Unit


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


# The notice kind of every part; each face registers its renderer (handlers/views/broadcasts.py).
BROADCAST_KIND = "broadcast"
# The room (UTF-16 units) a face's header takes above the first part, for these sectors.
HeaderRoom = Callable[[Sequence[Team]], int]


# Telegram's limits (UTF-16 code units after the entities are parsed).
TEXT_LIMIT = limits.TEXT_LIMIT
CAPTION_LIMIT = limits.CAPTION_LIMIT
# A longer text is refused rather than sent as a flood of messages.
MAX_PARTS = 4
# What the Bot API accepts for sending: photos up to 10 MB, other files up to 50 MB.
PHOTO_MAX_BYTES = 10 * 1024 * 1024
DOCUMENT_MAX_BYTES = 50 * 1024 * 1024
# How far ahead a broadcast may be scheduled.
MAX_AHEAD = timedelta(days=90)
# Progress messages are edited at most this often.
PROGRESS_EVERY = timedelta(seconds=3)
HISTORY_LIMIT = 10
SUMMARY_LENGTH = 60

_TOKEN = re.compile(r"(<[^>]*>)|(\n{2,})")
_TAGS = re.compile(r"<[^>]*>")


class ParagraphTooLong(DomainError):
    key = "broadcasts.paragraph-too-long"


class Unsendable(DomainError):
    key = "broadcasts.unsendable"


class TooLong(DomainError):
    key = "broadcasts.too-long"


class TooLarge(DomainError):
    key = "broadcasts.too-large"


class EmptyMessage(DomainError):
    key = "broadcasts.empty"


class NoAudience(DomainError):
    key = "broadcasts.no-audience"


class BadTime(DomainError):
    key = "broadcasts.bad-time"


class NotCancellable(DomainError):
    key = "broadcasts.not-cancellable"


class Draft(BaseModel):
    """What the /broadcast conversation has gathered so far."""

    team_ids: list[int] = []
    everyone: bool = False
    body: str = ""  # Telegram HTML, escaped by PTB
    photo_file_id: str | None = None
    document_file_id: str | None = None
    due_at: datetime | None = None  # None: now


class Audience(BaseModel):
    model_config = ConfigDict(frozen=True)

    people: int
    groups: int


class BroadcastPart(BaseModel):
    """Notice data: one part of a broadcast; the first carries the sectors' header."""

    model_config = ConfigDict(frozen=True)

    teams: tuple[Team, ...]
    first: bool
    text: str  # Telegram HTML, as the author formatted it
    photo_file_id: str | None = None
    document_file_id: str | None = None


class Prepared(BaseModel):
    """The parts as every recipient gets them, and who they reach."""

    model_config = ConfigDict(frozen=True)

    parts: list[BroadcastPart]
    audience: Audience


class Status(BaseModel):
    model_config = ConfigDict(frozen=True)

    broadcast: Broadcast
    counts: DeliveryCounts
    # scheduled | sending | done | cancelled
    phase: str


# ---------------------------------------------------------------- text handling


def visible_length(body: str) -> int:
    """Length of HTML as Telegram counts it: tags removed, entities decoded, UTF-16 units."""
    try:
        return limits.html_length(body)
    except limits.InvalidHtml as exc:
        raise Unsendable(reason=str(exc)) from exc


def _check(part: BroadcastPart, header_room: int) -> BroadcastPart:
    """Refuse a part Telegram would refuse: HTML it cannot parse, over the length limit."""
    media = part.photo_file_id is not None or part.document_file_id is not None
    limit = CAPTION_LIMIT if media else TEXT_LIMIT
    length = visible_length(part.text)
    if part.first:
        length = header_room - 2 + (length + 2 if part.text else 0)
    if length > limit:
        raise TooLong(parts=MAX_PARTS, limit=TEXT_LIMIT)
    return part


def paragraphs(body: str) -> list[str]:
    """Split HTML at blank lines outside any tag (a bold or a code block stays whole)."""
    pieces: list[str] = []
    depth = 0
    start = 0
    for match in _TOKEN.finditer(body):
        tag = match.group(1)
        if tag is not None:
            if tag.startswith("</"):
                depth = max(depth - 1, 0)
            elif not tag.endswith("/>"):
                depth += 1
        elif depth == 0:
            pieces.append(body[start : match.start()])
            start = match.end()
    pieces.append(body[start:])
    return [piece for piece in pieces if piece.strip()]


def split(body: str, first_limit: int, limit: int) -> list[str]:
    """Pack paragraphs into parts of at most `limit` (the first: `first_limit`)."""
    parts: list[str] = []
    current = ""
    for piece in paragraphs(body):
        room = first_limit if not parts else limit
        if visible_length(piece) > min(room, limit):
            raise ParagraphTooLong(limit=min(room, limit))
        joined = f"{current}\n\n{piece}" if current else piece
        if visible_length(joined) <= room:
            current = joined
            continue
        parts.append(current)
        current = piece
    if current:
        parts.append(current)
    return parts


def check_attachment(kind: str, size: int | None) -> None:
    """Refuse a photo or document Telegram would not let the bot send."""
    limit = PHOTO_MAX_BYTES if kind == "photo" else DOCUMENT_MAX_BYTES
    if size is not None and size > limit:
        raise TooLarge(limit_mb=limit // (1024 * 1024))


def _parts(draft: Draft, teams: list[Team], header_room: HeaderRoom) -> list[BroadcastPart]:
    room = header_room(teams)
    body = draft.body.strip()
    visible_length(body)  # HTML Telegram cannot parse is refused before any splitting
    media = draft.photo_file_id is not None or draft.document_file_id is not None
    if not body and not media:
        raise EmptyMessage()
    pieces: list[str]
    with_caption = False
    if media and visible_length(body) + room <= CAPTION_LIMIT:
        pieces, with_caption = [body], True
    elif media:
        pieces = split(body, TEXT_LIMIT, TEXT_LIMIT)
    else:
        pieces = split(body, TEXT_LIMIT - room, TEXT_LIMIT)
    total = len(pieces) + (0 if with_caption or not media else 1)
    if total > MAX_PARTS:
        raise TooLong(parts=MAX_PARTS, limit=TEXT_LIMIT)

    result: list[BroadcastPart] = []
    if media:
        result.append(
            BroadcastPart(
                teams=tuple(teams),
                first=True,
                text=pieces.pop(0) if with_caption else "",
                photo_file_id=draft.photo_file_id,
                document_file_id=draft.document_file_id,
            )
        )
    for text in pieces:
        result.append(BroadcastPart(teams=tuple(teams), first=not result, text=text))
    return [_check(part, room) for part in result]


def parse_when(raw: str, zone: ZoneInfo, now: datetime) -> datetime:
    """A local 'YYYY-MM-DD HH:MM' in the future (at most MAX_AHEAD), as UTC."""
    try:
        naive = datetime.strptime(raw.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise BadTime(zone=zone.key) from None
    local = naive.replace(tzinfo=zone)
    if local.astimezone(ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None) != naive:
        raise BadTime(zone=zone.key)  # a time skipped by the change to summer time
    instant = local.astimezone(ZoneInfo("UTC"))
    if instant <= now:
        raise BadTime(zone=zone.key)
    if instant > now + MAX_AHEAD:
        raise BadTime(zone=zone.key)
    return instant


# ---------------------------------------------------------------- audience


def _sectors(unit: Unit, actor: Actor) -> list[Team]:
    return [t for t in unit.teams.list_teams("sector") if actor.moderates(t.id)]


async def sectors(db: Database, actor: Actor) -> list[Team]:
    """The sector teams the actor may broadcast to (admins: all of them)."""
    return await db.run(_sectors, actor)


def _chosen(unit: Unit, actor: Actor, draft: Draft) -> list[Team]:
    """The draft's sectors, each re-checked (buttons may be forged, roles revoked)."""
    if draft.everyone:
        if not actor.is_admin:
            raise NotAllowed()
        return unit.teams.list_teams("coordination")
    if not draft.team_ids:
        raise NoAudience()
    teams: list[Team] = []
    for team_id in draft.team_ids:
        team = unit.teams.get_team(team_id)
        if team is None or team.kind != "sector":
            raise UnknownSector()
        if not actor.moderates(team.id):
            raise NotAllowed()
        teams.append(team)
    return teams


async def check_sector(db: Database, actor: Actor, team_id: int) -> Team:
    """A sector button: the actor must moderate that sector."""

    def inner(unit: Unit) -> Team:
        return _chosen(unit, actor, Draft(team_ids=[team_id]))[0]

    return await db.run(inner)


def _audience(unit: Unit, draft: Draft) -> Audience:
    people, groups = unit.broadcasts.count_recipients(None if draft.everyone else draft.team_ids)
    return Audience(people=people, groups=groups)


async def prepare(db: Database, actor: Actor, draft: Draft, header_room: HeaderRoom) -> Prepared:
    """Check the draft and split it exactly as it will be sent; count who it reaches."""

    def inner(unit: Unit) -> list[BroadcastPart]:
        return _parts(draft, _chosen(unit, actor, draft), header_room)

    parts = await db.run(inner)
    # Counting 50,000 recipients is a long read: the read-only connection, not the writer.
    return Prepared(parts=parts, audience=await db.read(_audience, draft))


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
