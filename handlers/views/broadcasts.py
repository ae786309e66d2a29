"""Broadcasts presentation: each part of a broadcast as recipients get it (the first one under
the sectors' header) and the room that header takes, which the service splits the text by."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from bot import limits
from bot.config import LANGUAGES, Language
from bot.engine import DeliveryEngine, Rendered
from bot.i18n import Html, Texts
from bot.services import broadcasts as service
from storage.models import Team


def header(teams: Sequence[Team], language: Language, texts: Texts) -> Html:
    """'From the sector team(s) ...' above the first part."""
    # Everyone's broadcast comes from the coordinating team (its name from the config).
    names = ", ".join(team.name(language) for team in teams)
    return texts.get(language, "broadcasts.header", sectors=names)


def header_room(texts: Texts) -> service.HeaderRoom:
    """The room the header and its blank line take on the first part, in its longest language."""

    def room(teams: Sequence[Team]) -> int:
        return max(limits.html_length(header(teams, lang, texts)) for lang in LANGUAGES) + 2

    return room


def part(notice: service.BroadcastPart, language: Language, texts: Texts) -> Rendered:
    """One part of a broadcast in one language."""
    body = notice.text
    if notice.first:
        top = header(notice.teams, language, texts)
        body = f"{top}\n\n{body}" if body else str(top)
    return Rendered(text=body, photo=notice.photo_file_id, document=notice.document_file_id)


def _part(data: dict[str, Any], language: Language, texts: Texts, zone: ZoneInfo) -> Rendered:
    return part(service.BroadcastPart.model_validate(data), language, texts)


def register(engine: DeliveryEngine) -> None:
    """Render the parts of broadcasts."""
    engine.add_renderer(service.BROADCAST_KIND, _part)
