"""Lines a caller makes itself (app.web.csv_export.quoted and csv_line_chunks, used by
the task lists' CSV): quoted exactly as the csv module quotes, sent in chunks."""

import csv
import io
from itertools import product

from app.web import csv_export
from app.web.csv_export import csv_chunks, csv_line_chunks, inert, quoted

# Every character the csv module or a spreadsheet treats specially, and a plain one.
_ALPHABET = ["a", ",", '"', "\r", "\n", " ", "=", "'", "\t", "ë"]


def test_a_field_is_quoted_as_the_csv_module_quotes_it():
    for length in range(4):
        for letters in product(_ALPHABET, repeat=length):
            text = "".join(letters)
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\r\n").writerow([text, "z"])
            assert f"{quoted(text)},z\r\n" == buffer.getvalue(), repr(text)


def test_made_lines_make_the_file_the_generic_writer_makes():
    rows = [["=1+1", 'a "b", c'], ["line\nbreak", "Zoë"], ["-", ""]]
    lines = (",".join(quoted(inert(text)) for text in row) + "\r\n" for row in rows)
    assert b"".join(csv_line_chunks(["A", "B"], lines)) == b"".join(
        csv_chunks(["A", "B"], rows))


def test_made_lines_are_sent_in_chunks_not_all_at_once(monkeypatch):
    monkeypatch.setattr(csv_export, "CHUNK_BYTES", 100)
    made = []

    def lines():  # type: ignore[no-untyped-def]
        for number in range(50):
            made.append(number)
            yield f"row {number},{'x' * 20}\r\n"

    chunks = csv_line_chunks(["A", "B"], lines())
    first = next(chunks)
    assert 0 < len(made) < 10 and first.startswith(b"\xef\xbb\xbfA,B\r\n")
    assert (first + b"".join(chunks)).count(b"\r\n") == 51
