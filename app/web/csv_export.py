"""CSV downloads of Baton's lists and reports: one writer for all of them.

How to use it, from a route (a sync `def`, after the same access checks as the page):

    rows = (["REQ-1", line.title, line.opened_at] for line in read_in_batches(...))
    return csv_response(rows, header=["Request", "Title", "Opened (UTC)"],
                        name="queue-it")

`rows` is any iterable of sequences of cells, best a generator that reads the database in
keyset-paginated batches, or streams one query (app.reads.task_lines.task_lines): the
response streams, so memory stays the same however long the list is. The generator is
iterated in Starlette's thread pool (it is sync), so its queries never block the event
loop; it may use the request's session, which stays open until the response is sent.

What every file gets, so no caller has to think of it:
- RFC 4180: the csv module's quoting (a cell with a comma, quote or line break is quoted,
  quotes doubled) and CRLF line ends;
- UTF-8 with a byte order mark (see BOM);
- times as UTC ISO 8601, None as an empty cell, True/False as "yes"/"no";
- text that a spreadsheet would run as a formula made inert (see inert);
- `Content-Disposition: attachment` with the file name `<name>-<date>.csv`.
"""

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from fastapi.responses import StreamingResponse

from app.storage.models import utcnow

# Excel opens a CSV without a byte order mark in the machine's legacy code page
# (Windows-1252 and the like), so "Zoë" or "東京" would arrive garbled; with the mark it
# reads UTF-8. LibreOffice, Numbers, Google Sheets and Python's "utf-8-sig" accept it.
BOM = "\ufeff"
# Rows are written to a buffer and sent in chunks of about this size: one message per
# row would cost more in the ASGI server than the row costs to write.
CHUNK_BYTES = 64 * 1024
# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection"): = + - @,
# and a tab or carriage return, after which some programs look again.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NAME_UNSAFE = re.compile(r"[^a-z0-9-]+")


def inert(text: str) -> str:
    """The text, made inert when a spreadsheet would run it as a formula: prefixed
    with a single quote, which spreadsheets show as text, per OWASP's advice. Numbers
    written as numbers (a negative count) are not text and are left alone."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def cell(value: Any) -> str:
    """One value as a CSV cell. (Called for every cell of a download, a million for a
    list of 80,000 tasks: the common types are tested first, by exact type.)"""
    kind = type(value)
    if kind is str:
        return inert(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _utc_text(value)
    if kind is bool:
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return inert(str(value))


def _utc_text(moment: datetime) -> str:
    """`2026-12-03T09:30:05Z`. Stored times are UTC; SQLite gives them back naive."""
    if moment.tzinfo is None:
        return moment.isoformat(timespec="seconds") + "Z"
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")[:-6] + "Z"  # without "+00:00"


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """The file as UTF-8 byte chunks: the mark, the header, then the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180: CRLF
    buffer.write(BOM)
    writer.writerow([cell(name) for name in header])
    for row in rows:
        writer.writerow(map(cell, row))
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def quoted(text: str) -> str:
    """A cell's text (from `cell` or `inert`) as a field of a line, quoted as the csv
    module quotes it: when it holds a comma, a quote (doubled) or a line break."""
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    if "," in text or "\n" in text or "\r" in text:
        return '"' + text + '"'
    return text


class RepeatedFields(dict[str, str]):
    """Texts that repeat down a list (names, step names, kinds, states: a few hundred in
    100,000 rows) as fields of a line, each made inert and quoted once."""

    def __missing__(self, text: str) -> str:
        field = self[text] = quoted(inert(text))
        return field


def csv_line_chunks(header: Sequence[str], lines: Iterable[str]) -> Iterator[bytes]:
    """The file as UTF-8 byte chunks, as csv_chunks makes them, from lines the caller
    made: each its fields (every one from `quoted`, or a number or a moment's text, which
    need no quotes) joined by commas and ended by CRLF. For a download of 100,000 rows
    whose columns are known (app.web.task_csv): the csv module's writer and `cell` cost
    12 us a row, more than reading the row, where a line whose repeated texts are made
    once costs 2."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([cell(name) for name in header])
    parts, size = [BOM, buffer.getvalue()], 0
    for line in lines:
        parts.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield "".join(parts).encode("utf-8")
            parts.clear()
            size = 0
    yield "".join(parts).encode("utf-8")


def file_name(name: str, day: date | None = None) -> str:
    """`queue-it-2026-12-03.csv`: the list's name (made safe for a header and a file
    system) and the day it was taken, in UTC."""
    stem = _NAME_UNSAFE.sub("-", name.lower()).strip("-")[:80] or "export"
    return f"{stem}-{(day or utcnow().date()).isoformat()}.csv"


def csv_response(rows: Iterable[Sequence[Any]], *, header: Sequence[str], name: str
                 ) -> StreamingResponse:
    """A streamed download of `rows` under `header` (see the module for what it does)."""
    return _download(csv_chunks(header, rows), name)


def csv_lines_response(lines: Iterable[str], *, header: Sequence[str], name: str
                       ) -> StreamingResponse:
    """A streamed download of lines the caller made (see csv_line_chunks): the caller
    makes every text cell inert (`inert`, or `cell`) and quotes it (`quoted`)."""
    return _download(csv_line_chunks(header, lines), name)


def _download(chunks: Iterator[bytes], name: str) -> StreamingResponse:
    return StreamingResponse(
        chunks, media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{file_name(name)}"'},
    )
