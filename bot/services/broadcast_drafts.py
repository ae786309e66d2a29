"""Broadcasts, drafting: the limits, checks and splitting that turn a /broadcast draft into the
parts every recipient gets, and the sectors a moderator may send to (bot/services/broadcasts.py
queues, cancels and lists them)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot import limits
from bot.errors import DomainError, NotAllowed, UnknownSector
from bot.services import dates
from bot.services.users import Actor
from storage.database import Database
from storage.models import Team
from storage.unit import Unit

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
    """A local date and time in the future (at most MAX_AHEAD), as UTC."""
    try:
        # The same formats as /new_meeting (bot/services/dates.py).
        naive = dates.local_datetime(raw, zone, now)
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
