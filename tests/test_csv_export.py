"""The one CSV writer of every download (app.web.csv_export): RFC 4180, UTF-8 with its
byte order mark, UTC times, and no cell a spreadsheet would run as a formula."""

import csv
import io
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from app.web import csv_export
from app.web.csv_export import cell, csv_chunks, file_name, inert


def written(header, rows) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(csv_chunks(header, rows))


def parsed(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_the_file_starts_with_the_utf8_byte_order_mark_and_keeps_any_script():
    data = written(["Name"], [["Zoë 東京"]])
    assert data.startswith(b"\xef\xbb\xbf")
    assert parsed(data) == [["Name"], ["Zoë 東京"]]


def test_lines_end_with_crlf_and_commas_quotes_and_line_breaks_are_quoted():
    data = written(["A", "B"], [["one, two", 'say "hi"'], ["line\nbreak", "cr\r\nlf"]])
    assert data.decode("utf-8-sig") == (
        'A,B\r\n"one, two","say ""hi"""\r\n"line\nbreak","cr\r\nlf"\r\n')
    assert parsed(data)[1:] == [["one, two", 'say "hi"'], ["line\nbreak", "cr\r\nlf"]]


@pytest.mark.parametrize("text", [
    "=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1",
])
def test_text_a_spreadsheet_would_run_as_a_formula_is_made_inert(text):
    assert inert(text) == "'" + text
    assert parsed(written(["x"], [[text]]))[1] == ["'" + text]


@pytest.mark.parametrize("text", ["Laptop", "REQ-12", "a=b", "", "1-2"])
def test_other_text_is_left_as_it_is(text):
    assert inert(text) == text


def test_numbers_times_and_empty_values_are_written_plainly():
    naive = datetime(2026, 12, 3, 9, 30, 5)  # SQLite gives stored UTC times back naive
    berlin = datetime(2026, 12, 3, 10, 30, 5, tzinfo=timezone(timedelta(hours=1)))
    assert [cell(v) for v in (-3, 2.5, None, True, False, naive, berlin, date(2026, 1, 2))] == [
        "-3", "2.5", "", "yes", "no", "2026-12-03T09:30:05Z", "2026-12-03T09:30:05Z",
        "2026-01-02"]
    assert cell(datetime(2026, 12, 3, 9, 30, tzinfo=UTC)) == "2026-12-03T09:30:00Z"


def test_rows_are_sent_in_chunks_not_all_at_once(monkeypatch):
    monkeypatch.setattr(csv_export, "CHUNK_BYTES", 100)
    rows_read = []

    def rows():  # type: ignore[no-untyped-def]
        for number in range(50):
            rows_read.append(number)
            yield [f"row {number}", "x" * 20]

    chunks = csv_chunks(["A", "B"], rows())
    first = next(chunks)
    # The first chunk went out after a few rows, before the rest were read.
    assert 0 < len(rows_read) < 10 and first.startswith(b"\xef\xbb\xbfA,B\r\n")
    rest = b"".join(chunks)
    assert len(parsed(first + rest)) == 51


def test_the_file_name_is_the_lists_name_and_the_day_made_safe():
    assert file_name("queue-it", date(2026, 12, 3)) == "queue-it-2026-12-03.csv"
    assert file_name('Queue "IT"/..\r\nX', date(2026, 12, 3)) == "queue-it-x-2026-12-03.csv"
    assert file_name("", date(2026, 12, 3)) == "export-2026-12-03.csv"
