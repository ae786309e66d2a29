"""Spreadsheet files: the one CSV writer behind every export (postulates, attendees, audit log).

Excel and LibreOffice read a cell that starts with `=`, `+`, `-` or `@` as a formula (and a
leading tab or carriage return can hide one), so every text cell that starts that way gets a
leading apostrophe, as OWASP's "CSV Injection" guidance advises. Our own integers are written
as numbers; text never is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

# UTF-8 with a byte order mark: without it Excel reads the file as the system's code page
# and Polish letters come out garbled.
ENCODING = "utf-8-sig"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | None


def cell(value: Cell) -> str:
    """The text a spreadsheet shows for `value`, never a live formula."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return "'" + value if value.startswith(FORMULA_START) else value


class Writer:
    """A CSV file written a few rows at a time (exports too large to hold as rows at once)."""

    def __init__(self, header: Sequence[str], delimiter: str) -> None:
        # Encoded as it is written: the file is held once, as bytes (a 20,000-postulate
        # export is ~14 MB of them; as text and then encoded it was held three times).
        self._buffer = io.BytesIO()
        self._text = io.TextIOWrapper(self._buffer, encoding=ENCODING, newline="")
        self._writer = csv.writer(self._text, delimiter=delimiter, lineterminator="\r\n")
        self._writer.writerow([cell(name) for name in header])

    def rows(self, rows: Iterable[Sequence[Cell]]) -> None:
        """Append these rows, formula-safe."""
        self._writer.writerows([cell(value) for value in row] for row in rows)

    def bytes(self) -> bytes:
        """The whole file so far: BOM, header, rows, CRLF line ends."""
        self._text.flush()
        return self._buffer.getvalue()


def write(header: Sequence[str], rows: Iterable[Sequence[Cell]], delimiter: str) -> bytes:
    """A whole CSV file: BOM, header, rows, CRLF line ends, formula-safe cells."""
    writer = Writer(header, delimiter)
    writer.rows(rows)
    return writer.bytes()
