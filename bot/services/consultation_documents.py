"""Consultations: reading the draft programme's document (.docx, Markdown, .txt) into sections."""

from __future__ import annotations

import io
import re
import zipfile

from pydantic import BaseModel, ConfigDict

from bot.errors import DomainError

MAX_SECTIONS = 200
TITLE_MAX = 300
# Heading styles python-docx reports: English names, and a Polish Word's own ("Nagłówek 1").
_HEADING_STYLE = re.compile(r"^(heading|nagłówek)\s*[1-9]$", re.IGNORECASE)
_MARKDOWN_HEADING = re.compile(r"^#{1,6}[ \t]+(\S.*?)[ \t#]*$")
_TEXT_SUFFIXES = (".md", ".markdown", ".txt")


class NotADocument(DomainError):
    key = "consultations.error-not-document"


class NoHeadings(DomainError):
    key = "consultations.error-no-headings"


class FileTooLarge(DomainError):
    key = "consultations.error-file-too-large"


class TooManySections(DomainError):
    key = "consultations.error-too-many-sections"


class ParsedSection(BaseModel):
    """One section of the draft: its heading and its text, as uploaded."""

    model_config = ConfigDict(frozen=True)

    title: str
    body: str


def check_size(size: int | None, max_bytes: int) -> None:
    """Refuse a file over the limit before it is downloaded."""
    if size is not None and size > max_bytes:
        raise FileTooLarge(megabytes=max_bytes // (1024 * 1024))


def _section(title: str, lines: list[str]) -> ParsedSection:
    body = "\n".join(lines).strip()
    return ParsedSection(title=title.strip()[:TITLE_MAX], body=body)


def _docx(data: bytes) -> list[ParsedSection]:
    # python-docx (with lxml) costs ~15 MiB resident: loaded when a draft is read, not at start.
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise NotADocument() from exc
    sections: list[ParsedSection] = []
    title: str | None = None
    lines: list[str] = []
    for paragraph in document.paragraphs:
        style = paragraph.style.name if paragraph.style is not None else ""
        if _HEADING_STYLE.match(style or "") and paragraph.text.strip():
            if title is not None:
                sections.append(_section(title, lines))
            title, lines = paragraph.text, []
        elif title is not None:
            lines.append(paragraph.text)
        # Text before the first heading (the document's title, a note) belongs to no section.
    if title is not None:
        sections.append(_section(title, lines))
    return sections


def _markdown(data: bytes) -> list[ParsedSection]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotADocument() from exc
    if "\x00" in text:
        raise NotADocument()
    sections: list[ParsedSection] = []
    title: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        match = _MARKDOWN_HEADING.match(line)
        if match is not None:
            if title is not None:
                sections.append(_section(title, lines))
            title, lines = match.group(1), []
        elif title is not None:
            lines.append(line.rstrip())
    if title is not None:
        sections.append(_section(title, lines))
    return sections


def parse(data: bytes, file_name: str, max_bytes: int) -> list[ParsedSection]:
    """Split a draft into sections at its headings, or refuse it with the reason."""
    check_size(len(data), max_bytes)
    name = file_name.lower()
    if name.endswith(".docx"):
        sections = _docx(data)
    elif name.endswith(_TEXT_SUFFIXES):
        sections = _markdown(data)
    else:
        raise NotADocument()
    if not sections:
        raise NoHeadings()
    if len(sections) > MAX_SECTIONS:
        raise TooManySections(count=len(sections), limit=MAX_SECTIONS)
    return sections
