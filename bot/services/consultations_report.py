"""Consultations, the report: its data once the window closed (rendered by
bot/consultation_report.py) and its audited publication. Part of bot/services/consultations.py."""

from __future__ import annotations

from datetime import datetime

from bot.services import audit
from bot.services.consultation_rules import (
    QUEUE_LIMIT,
    PublicComment,
    Report,
    ReportSection,
    StillOpen,
    Unanswered,
    UnknownConsultation,
    _require_admin,
    phase,
)
from bot.services.users import Actor
from storage.database import Database
from storage.unit import Unit


def _report(unit: Unit, consultation_id: int) -> Report:
    consultation = unit.consultations.get_consultation(consultation_id)
    if consultation is None or consultation.state != "published":
        raise UnknownConsultation()
    names = {team.id: team.name_pl for team in unit.teams.list_teams("sector")}
    organisations, individuals = unit.consultations.count_commenters(consultation_id)
    comments = unit.consultations.list_comments(consultation_id)
    sections = [
        ReportSection(
            number=s.number,
            title=s.title,
            comments=[PublicComment.of(c) for c in comments if c.section_id == s.id],
        )
        for s in unit.consultations.list_section_bodies(consultation_id)
    ]
    return Report(
        consultation=consultation,
        all_sectors=consultation.all_sectors,
        sectors=[names[i] for i in unit.consultations.list_team_ids(consultation_id) if i in names],
        organisations=organisations,
        individuals=individuals,
        # Comments after the window are refused when they are sent, so none were accepted late.
        late=0,
        sections=sections,
    )


def report_of(unit: Unit, consultation_id: int) -> Report:
    """The report's data inside a unit of work (the public site reads it on its own)."""
    return _report(unit, consultation_id)


async def report_data(db: Database, consultation_id: int) -> Report:
    """The report's data (the CLI's export; no publishing)."""
    return await db.read(_report, consultation_id)


def _publish_report(unit: Unit, actor: Actor, consultation_id: int, now: datetime) -> Report:
    _require_admin(actor)
    consultation = unit.consultations.get_consultation(consultation_id)
    if consultation is None or consultation.state != "published":
        raise UnknownConsultation()
    if phase(consultation, now) != "closed":
        raise StillOpen()
    waiting = len(unit.consultations.list_unanswered(consultation_id, QUEUE_LIMIT))
    if waiting:
        raise Unanswered(count=waiting)
    if consultation.report_published_at is None:
        unit.consultations.update_report_published(consultation_id, now)
        audit.record(
            unit,
            actor_id=actor.user_id,
            action="consultation.report",
            target=f"consultation:{consultation_id}",
            now=now,
        )
    return _report(unit, consultation_id)


async def publish_report(db: Database, actor: Actor, consultation_id: int, now: datetime) -> Report:
    """Publish the report once the window closed and every comment is answered."""
    return await db.run(_publish_report, actor, consultation_id, now)
