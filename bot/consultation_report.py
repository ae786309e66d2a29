"""The consultation report (sprawozdanie z konsultacji) as .docx and CSV, and its CLI export.

Used by /consultation_report in the bot and by `ngo-bot export consultation <id>` (this module
does not import python-telegram-bot). The report is reproducible: the same data gives the same
bytes, so the document's dates come from the consultation, not the clock, and the zip entries
carry one fixed timestamp (python-docx stamps each entry with the time of saving).
"""

from __future__ import annotations

import asyncio
import html
import io
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from bot import csvfile
from bot.config import Config, Language
from bot.i18n import Texts
from bot.services.consultations import Report, report_data
from storage.database import Database

Format = Literal["docx", "csv"]
# The earliest instant a zip entry can hold: every entry gets it.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_ANSWER_KEYS = {
    "accepted": "consultations.answer-accepted",
    "partly": "consultations.answer-partly",
    "rejected": "consultations.answer-rejected",
}


def _plain(texts: Texts, language: Language, key: str, /, **values: object) -> str:
    # Catalogue texts are HTML for Telegram; a document wants the characters themselves.
    return html.unescape(texts.get(language, key, **values))


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%d.%m.%Y %H:%M")


def submitter(texts: Texts, language: Language, organisation_name: str | None) -> str:
    """An organisation's name, or 'osoba prywatna' for a private person."""
    if organisation_name is not None:
        return organisation_name
    return _plain(texts, language, "consultations.private-person")


def answer_label(texts: Texts, language: Language, answer: str | None) -> str:
    """'accepted', 'partly accepted', 'not accepted' or 'no answer' in the language."""
    key = _ANSWER_KEYS.get(answer or "", "consultations.answer-none")
    return _plain(texts, language, key)


def _pinned(document: bytes) -> bytes:
    """The same zip with every entry's timestamp fixed (python-docx writes the current time)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(document)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            entry = zipfile.ZipInfo(item.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(item.filename))
    return out.getvalue()


def to_docx(report: Report, texts: Texts, language: Language, zone: ZoneInfo) -> bytes:
    """The report as a Word document: title, dates, announcement, counts, one table per section."""
    consultation = report.consultation

    def t(key: str, /, **values: object) -> str:
        return _plain(texts, language, key, **values)

    # python-docx (with lxml) costs ~15 MiB resident: loaded when a report is made, not at start.
    from docx import Document

    document = Document()
    stamp = consultation.published_at or consultation.created_at
    properties = document.core_properties
    properties.title = consultation.title
    properties.author = t("consultations.report-author")
    properties.last_modified_by = t("consultations.report-author")
    properties.created = stamp.replace(tzinfo=None)
    properties.modified = stamp.replace(tzinfo=None)
    properties.last_printed = stamp.replace(tzinfo=None)
    properties.revision = 1
    properties.comments = ""
    document.add_heading(t("consultations.report-title", title=consultation.title), level=0)
    document.add_paragraph(
        t(
            "consultations.report-dates",
            opens=_local(consultation.opens_at, zone),
            closes=_local(consultation.closes_at, zone),
        )
    )
    audience = t("consultations.audience-all") if report.all_sectors else ", ".join(report.sectors)
    document.add_paragraph(t("consultations.report-announced", audience=audience))
    document.add_paragraph(
        t(
            "consultations.report-counts",
            organisations=report.organisations,
            individuals=report.individuals,
        )
    )
    document.add_paragraph(t("consultations.report-late", count=report.late))
    headers = (
        t("consultations.report-column-comment"),
        t("consultations.report-column-submitter"),
        t("consultations.report-column-answer"),
        t("consultations.report-column-justification"),
    )
    for section in report.sections:
        document.add_heading(f"{section.number}. {section.title}", level=1)
        if not section.comments:
            document.add_paragraph(t("consultations.report-no-comments"))
            continue
        table = document.add_table(rows=1, cols=len(headers))
        table.style = "Table Grid"
        for cell, header in zip(table.rows[0].cells, headers, strict=True):
            cell.text = header
        for comment in section.comments:
            body = comment.body
            if comment.wording:
                body += "\n" + t("consultations.report-wording", wording=comment.wording)
            values = (
                body,
                submitter(texts, language, comment.organisation_name),
                answer_label(texts, language, comment.answer),
                comment.justification or "",
            )
            for cell, value in zip(table.add_row().cells, values, strict=True):
                cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return _pinned(buffer.getvalue())


CSV_COLUMNS = (
    "section_number",
    "section_title",
    "comment_id",
    "comment",
    "proposed_wording",
    "submitter",
    "answer",
    "justification",
)


def to_csv(report: Report, texts: Texts, language: Language, delimiter: str) -> bytes:
    """The report's table of comments as a formula-safe CSV (bot/csvfile.py)."""
    rows = [
        (
            section.number,
            section.title,
            comment.id,
            comment.body,
            comment.wording,
            submitter(texts, language, comment.organisation_name),
            answer_label(texts, language, comment.answer),
            comment.justification,
        )
        for section in report.sections
        for comment in section.comments
    ]
    return csvfile.write(CSV_COLUMNS, rows, delimiter)


def render(report: Report, fmt: Format, config: Config, texts: Texts) -> bytes:
    """The report in a format, in the deployment's default language."""
    language = config.default_language
    if fmt == "csv":
        return to_csv(report, texts, language, config.postulates.csv_delimiter)
    return to_docx(report, texts, language, config.zone)


async def _read(config: Config, consultation_id: int) -> Report:
    db = await Database.open(config.database)
    try:
        return await report_data(db, consultation_id)
    finally:
        await db.close()


def export_to_file(config: Config, consultation_id: int, fmt: Format, out: Path) -> int:
    """Write a consultation's report to `out`; return how many comments it holds."""
    report = asyncio.run(_read(config, consultation_id))
    out.write_bytes(render(report, fmt, config, Texts()))
    return sum(len(section.comments) for section in report.sections)
