"""Export of postulates for the consultation record: CSV (Excel-friendly) and JSON.

Used by /export in the bot and by `ngo-bot export postulates` on the command line (this
module does not import python-telegram-bot, so the CLI stays quick to start). Every
field of a postulate is exported with its supports, its state history and its author's name
as they gave it to Telegram (for the moderators' work); Telegram user ids are not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot import csvfile
from bot.config import Config, Language
from bot.errors import DomainError, NotAllowed
from bot.services import sectors
from bot.services.dates import date_in_year, resolve_local
from storage import postulates as store
from storage.database import Database
from storage.models import Team
from storage.unit import Unit
from storage.users import PersonName

Format = Literal["csv", "json"]
COLUMNS = (
    "reference",
    "state",
    "sector",
    "sector_name_pl",
    "sector_name_en",
    "title",
    "content",
    "on_behalf_of",
    "author",
    "call_id",
    "attachment_type",
    "attachment_file_id",
    "duplicate_of",
    "answer",
    "created_at",
    "updated_at",
    "supports",
    "supporters",
    "history",
)
STATES = (
    "submitted",
    "in_review",
    "clarification",
    "forwarded",
    "adopted",
    "not_adopted",
    "rejected",
    "duplicate",
    "withdrawn",
)


class BadFilter(DomainError):
    """An unknown sector or state in the filters; `key` names the message."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(**values)
        self.key = key


class ExportRequest(BaseModel):
    """What to export: formats and the filters (all optional)."""

    model_config = ConfigDict(frozen=True)

    formats: tuple[Format, ...] = ("csv", "json")
    # As typed: a slug or a sector's Polish or English name (bot/services/sectors.py).
    sector: str | None = None
    # The language an unknown sector's valid names are listed in.
    language: Language = "pl"
    states: tuple[str, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None


def _author(names: dict[int, PersonName], author_id: int | None) -> str:
    name = None if author_id is None else names.get(author_id)
    return (name.label() if name is not None else None) or ""


def _by(actor_id: int | None, author_id: int | None) -> str:
    if actor_id is None:
        return ""
    return "author" if actor_id == author_id else "team"


# Postulates read and rendered at a time. An export never holds more than a page of
# records: holding all 20,000 grew the heap the collector walks on each full collection,
# and every thread (the event loop's too) waited 60-120 ms for each one (issue 12).
PAGE = 500


def collect(
    unit: Unit,
    *,
    team_ids: list[int] | None = None,
    states: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """Every matching postulate as a plain record, oldest first."""
    return [
        record
        for page in pages(unit, team_ids=team_ids, states=states, since=since, until=until)
        for record in page
    ]


def pages(
    unit: Unit,
    *,
    team_ids: list[int] | None = None,
    states: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    size: int | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """The matching postulates as plain records, oldest first, `size` at a time.

    A handful of queries per page whatever its size (not two per postulate: at 20,000
    postulates the per-postulate reads held the database for seconds, issue 12).
    """
    teams = {team.id: team for team in unit.teams.list_teams()}
    ids = unit.postulates.list_postulate_ids(
        team_ids=team_ids, states=states, since=since, until=until
    )
    size = size or PAGE
    for start in range(0, len(ids), size):
        postulates = unit.postulates.list_postulates_by_ids(ids[start : start + size])
        yield _records(unit, teams, postulates)


def _records(
    unit: Unit, teams: dict[int, Team], postulates: list[store.Postulate]
) -> list[dict[str, Any]]:
    ids = [p.id for p in postulates]
    authors = unit.users.list_names(p.author_id for p in postulates if p.author_id is not None)
    references = unit.postulates.list_references(
        sorted({p.duplicate_of for p in postulates if p.duplicate_of})
    )
    supports: dict[int, list[store.Support]] = {}
    for support in unit.postulates.list_supports_of(ids):
        supports.setdefault(support.postulate_id, []).append(support)
    histories: dict[int, list[store.HistoryEntry]] = {}
    for entry in unit.postulates.list_history_of(ids):
        histories.setdefault(entry.postulate_id, []).append(entry)
    records = []
    for p in postulates:
        team = teams[p.team_id]
        records.append(
            {
                "reference": p.reference,
                "state": p.state,
                "sector": team.slug,
                "sector_name_pl": team.name_pl,
                "sector_name_en": team.name_en,
                "title": p.title,
                "content": p.content,
                "on_behalf_of": p.organisation_name or "",
                # The author by their Telegram names (empty once they used /forget).
                "author": _author(authors, p.author_id),
                "call_id": p.call_id,
                "attachment_type": p.attachment_type or "",
                "attachment_file_id": p.attachment_file_id or "",
                "duplicate_of": references.get(p.duplicate_of, "") if p.duplicate_of else "",
                "answer": p.answer or "",
                "created_at": p.created_at.isoformat(),
                "updated_at": p.updated_at.isoformat(),
                "supports": p.supports,
                "supporters": [
                    {"organisation": s.organisation_name or "", "at": s.created_at.isoformat()}
                    for s in supports.get(p.id, ())
                ],
                "history": [
                    {
                        "at": h.at.isoformat(),
                        # Who, without personal ids: the author or the sector/coordinating team.
                        "by": _by(h.actor_id, p.author_id),
                        "action": h.action,
                        "from_state": h.from_state or "",
                        "to_state": h.to_state,
                        "note": h.note or "",
                    }
                    for h in histories.get(p.id, ())
                ],
            }
        )
    return records


class JsonFile:
    """UTF-8 JSON, a list of postulates, written a page of records at a time."""

    def __init__(self) -> None:
        self._items: list[bytes] = []

    def add(self, records: list[dict[str, Any]]) -> None:
        # Each record as json.dumps(records, indent=2) lays out an item of the list (a JSON
        # string holds no raw line break, so indenting every line is exact). Kept encoded:
        # Polish text as str takes two bytes a letter.
        self._items.extend(
            ("  " + json.dumps(record, ensure_ascii=False, indent=2).replace("\n", "\n  ")).encode()
            for record in records
        )

    def bytes(self) -> bytes:
        return b"[\n" + b",\n".join(self._items) + b"\n]" if self._items else b"[]"


class CsvFile:
    """CSV that Excel opens with Polish letters and no live formulas, one row per postulate.

    Supporters are joined with " | "; the history is a JSON list in its cell.
    """

    def __init__(self, delimiter: str) -> None:
        self._writer = csvfile.Writer(COLUMNS, delimiter)

    def add(self, records: list[dict[str, Any]]) -> None:
        self._writer.rows(_row(record) for record in records)

    def bytes(self) -> bytes:
        return self._writer.bytes()


def _row(record: dict[str, Any]) -> list[Any]:
    row = dict(record)
    row["supporters"] = " | ".join(s["organisation"] for s in record["supporters"])
    row["history"] = json.dumps(record["history"], ensure_ascii=False)
    return [row[column] for column in COLUMNS]


def _file(fmt: Format, delimiter: str) -> JsonFile | CsvFile:
    return CsvFile(delimiter) if fmt == "csv" else JsonFile()


def render(records: list[dict[str, Any]], fmt: Format, delimiter: str) -> bytes:
    """The export file's bytes in the given format."""
    file = _file(fmt, delimiter)
    file.add(records)
    return file.bytes()


def render_pages(
    unit: Unit, filters: dict[str, Any], formats: Sequence[Format], delimiter: str
) -> dict[str, tuple[bytes, int]]:
    """Each format's file of the matching postulates and their count, read and rendered a
    page at a time in `unit`'s one transaction (one consistent state of the data)."""
    files = {fmt: _file(fmt, delimiter) for fmt in formats}
    count = 0
    for page in pages(unit, **filters):
        count += len(page)
        for file in files.values():
            file.add(page)
    return {fmt: (file.bytes(), count) for fmt, file in files.items()}


_DATE_KEYS = {"from": "since", "to": "until"}


def parse_request(
    args: Sequence[str], *, now: datetime, zone: ZoneInfo, language: Language
) -> ExportRequest | None:
    """`/export [csv|json] [sector=NAME] [state=STATE] [from=DATE] [to=DATE]`: None when an
    argument is not of that shape (the usage is shown); BadFilter naming a wrong date.

    Dates take /new_meeting's formats and are whole local days: `to=` includes its day."""
    values: dict[str, object] = {"language": language}
    today = now.astimezone(zone).date()
    for arg in args:
        if arg.lower() in ("csv", "json"):
            values["formats"] = (arg.lower(),)
            continue
        key, sep, value = arg.partition("=")
        key = key.lower()
        if not sep or key not in ("sector", "state", "from", "to") or not value:
            return None
        if key in _DATE_KEYS:
            try:
                day = date_in_year(value, today.year)
            except ValueError:
                raise BadFilter("postulates.export-bad-date", name=key, value=value) from None
            if key == "to":
                day += timedelta(days=1)
            values[_DATE_KEYS[key]] = resolve_local(datetime.combine(day, time()), zone)
        elif key == "state":
            values["states"] = tuple(value.lower().split(","))
        else:
            values["sector"] = value
    since, until = values.get("since"), values.get("until")
    if isinstance(since, datetime) and isinstance(until, datetime) and until <= since:
        raise BadFilter("postulates.export-dates-reversed")
    return ExportRequest.model_validate(values)


def _filters(unit: Unit, request: ExportRequest) -> dict[str, Any]:
    team_ids = None
    if request.sector is not None:
        team_ids = [sectors.resolve_sector(unit, request.sector, request.language).id]
    if request.states is not None:
        unknown = [state for state in request.states if state not in STATES]
        if unknown:
            raise BadFilter("postulates.error-export-state", state=", ".join(unknown))
    return {
        "team_ids": team_ids,
        "states": list(request.states) if request.states is not None else None,
        "since": request.since,
        "until": request.until,
    }


async def export_for_user(
    db: Database, user_id: int, request: ExportRequest, delimiter: str
) -> dict[str, tuple[bytes, int]]:
    """The files for /export: admins see every sector, moderators their own sectors.

    Read and rendered a page at a time on the read-only connection, so a large export holds
    neither the writer nor the event loop, nor much memory at once.
    """

    def build(unit: Unit) -> dict[str, tuple[bytes, int]]:
        filters = _filters(unit, request)
        if not unit.roles.is_admin(user_id):
            mine = sorted(unit.roles.list_moderated_team_ids(user_id))
            if not mine:
                raise NotAllowed()
            if filters["team_ids"] is None:
                filters["team_ids"] = mine
            elif not set(filters["team_ids"]) <= set(mine):
                raise NotAllowed()
        return render_pages(unit, filters, request.formats, delimiter)

    return await db.read(build)


async def export_files(config: Config, request: ExportRequest) -> dict[str, tuple[bytes, int]]:
    """Each requested format's file of every matching postulate, from the configured database."""
    db = await Database.open(config.database)
    try:

        def build(unit: Unit) -> dict[str, tuple[bytes, int]]:
            filters = _filters(unit, request)
            return render_pages(unit, filters, request.formats, config.postulates.csv_delimiter)

        return await db.read(build)
    finally:
        await db.close()


def export_to_file(config: Config, fmt: Format, out: Path, request: ExportRequest) -> int:
    """Write every matching postulate to `out`; return how many."""
    only = request.model_copy(update={"formats": (fmt,)})
    data, count = asyncio.run(export_files(config, only))[fmt]
    out.write_bytes(data)
    return count


def add_parser(commands: Any) -> None:
    """Add `export postulates --format csv|json --out FILE [--sector SLUG] [--since DATE]`
    and `export consultation ID --format docx|csv --out FILE` (bot/consultation_report.py)."""
    parser = commands.add_parser("export", help="export data for the consultation record")
    parser.add_argument("what", choices=["postulates", "consultation"])
    parser.add_argument("id", nargs="?", help="the consultation's number (export consultation)")
    parser.add_argument("--format", choices=["csv", "json", "docx"], default=None)
    parser.add_argument("--out", required=True, help="file to write")
    parser.add_argument("--sector", help="only this sector team (its slug or name)")
    parser.add_argument("--since", help="only postulates submitted on or after YYYY-MM-DD")


def run(args: argparse.Namespace, config: Config) -> int:
    """Run the export subcommand; return the exit status."""
    fmt: Format = "json" if args.format == "json" else "csv"
    if args.format == "docx":
        print("ngo-bot: --format docx is for export consultation", file=sys.stderr)
        return 2
    since = None
    if args.since:
        try:
            since = datetime.strptime(args.since, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            print(f"ngo-bot: --since must be YYYY-MM-DD, got {args.since!r}", file=sys.stderr)
            return 2
    request = ExportRequest(sector=args.sector, since=since)
    try:
        count = export_to_file(config, fmt, Path(args.out), request)
    except (BadFilter, sectors.SectorNameUnknown):
        print(f"ngo-bot: unknown sector {args.sector!r}", file=sys.stderr)
        return 2
    print(f"exported {count} postulates to {args.out}")
    return 0
