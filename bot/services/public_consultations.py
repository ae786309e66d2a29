"""The public face's reads of the draft consultations: the list, a consultation's record with
its public comments, and its published report, as domain data only."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.services import consultations
from bot.services.consultations import PublicComment, Report
from bot.services.public import MAX_ID, Reader
from storage.consultations import Consultation
from storage.models import Team
from storage.unit import Unit

# Consultations on the public list, newest first (a city runs a few a year).
CONSULTATIONS_LIMIT = 100


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


Phase = Literal["upcoming", "open", "closed"]


class ConsultationSummary(_Model):
    """A published consultation on the public list, with where its window stands."""

    consultation: Consultation
    phase: Phase
    sections: int
    comments: int


class PublicSection(_Model):
    """One section of a consultation's draft with its public comments and answers."""

    number: int
    title: str
    body: str
    comments: list[PublicComment]


class ConsultationRecord(_Model):
    """A published consultation's public record: its window, sections, comments, report."""

    consultation: Consultation
    phase: Phase
    sectors: list[Team]
    sections: list[PublicSection]
    report_published: bool


def _public_phase(consultation: Consultation, now: datetime) -> Phase | None:
    found = consultations.phase(consultation, now)
    return None if found == "draft" else found


async def consultation_list(reader: Reader, now: datetime) -> list[ConsultationSummary]:
    """Return the published consultations, newest first, with their section and comment counts."""

    def read(unit: Unit) -> list[ConsultationSummary]:
        found = []
        for consultation in unit.consultations.list_consultations(
            published_only=True, limit=CONSULTATIONS_LIMIT
        ):
            phase = _public_phase(consultation, now)
            if phase is None:
                continue
            sections = unit.consultations.list_sections(consultation.id)
            found.append(
                ConsultationSummary(
                    consultation=consultation,
                    phase=phase,
                    sections=len(sections),
                    comments=sum(section.comments for section in sections),
                )
            )
        return found

    return await reader.run(read)


async def consultation_record(
    reader: Reader, consultation_id: int, now: datetime
) -> ConsultationRecord | None:
    """Return a published consultation's record, or None (unknown, or still a draft)."""
    if not 1 <= consultation_id <= MAX_ID:
        return None

    def read(unit: Unit) -> ConsultationRecord | None:
        consultation = unit.consultations.get_consultation(consultation_id)
        if consultation is None:
            return None
        phase = _public_phase(consultation, now)
        if phase is None:
            return None
        teams = {team.id: team for team in unit.teams.list_teams("sector")}
        chosen = unit.consultations.list_team_ids(consultation_id)
        comments = unit.consultations.list_comments(consultation_id)
        return ConsultationRecord(
            consultation=consultation,
            phase=phase,
            sectors=[] if consultation.all_sectors else [teams[i] for i in chosen if i in teams],
            sections=[
                PublicSection(
                    number=section.number,
                    title=section.title,
                    body=section.body,
                    # Only what the report shows: the organisation's name, never a person's.
                    comments=[PublicComment.of(c) for c in comments if c.section_id == section.id],
                )
                for section in unit.consultations.list_section_bodies(consultation_id)
            ],
            report_published=consultation.report_published_at is not None,
        )

    return await reader.run(read)


async def consultation_report(reader: Reader, consultation_id: int) -> Report | None:
    """Return the data of a consultation's report once it is published, else None."""
    if not 1 <= consultation_id <= MAX_ID:
        return None

    def read(unit: Unit) -> Report | None:
        consultation = unit.consultations.get_consultation(consultation_id)
        if consultation is None or consultation.report_published_at is None:
            return None
        # The same data /consultation_report renders, so the download is the same file.
        return consultations.report_of(unit, consultation_id)

    return await reader.run(read)
