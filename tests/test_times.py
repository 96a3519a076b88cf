"""The `moment` filter (app.web.times): every time on a page, in the viewer's zone,
relative with the exact local time on hover and for screen readers."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.rules.inputs import InputInvalid, TooLong, parse_time_zone
from app.web.times import exact, moment, relative, viewer_zone, zone_named

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)  # a Friday


def test_a_time_reads_relative_with_the_exact_local_time_as_title_and_hidden_text():
    with viewer_zone("Europe/Berlin", NOW):
        shown = str(moment(NOW - timedelta(hours=3)))
    assert shown == (
        '<time datetime="2026-12-04T06:30:00+00:00" title="Fri 4 Dec 2026, 07:30 CET">'
        '3 h ago<span class="visually-hidden"> (Fri 4 Dec 2026, 07:30 CET)</span></time>')


def test_a_naive_time_is_utc_as_sqlite_gives_it_back():
    with viewer_zone("America/New_York", NOW):
        assert exact(datetime(2026, 12, 4, 9, 30)) == "Fri 4 Dec 2026, 04:30 EST"
        assert exact(datetime(2026, 7, 4, 9, 30)) == "Sat 4 Jul 2026, 05:30 EDT"


def test_the_date_moves_with_the_zone():
    late = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)
    with viewer_zone("Asia/Tokyo", NOW):
        assert exact(late) == "Sat 5 Dec 2026, 08:30 JST"
    with viewer_zone("Asia/Kolkata", NOW):
        assert exact(late) == "Sat 5 Dec 2026, 05:00 IST"


def test_without_a_zone_times_show_in_utc():
    with viewer_zone(None, NOW):
        assert 'title="Fri 4 Dec 2026, 09:30 UTC"' in str(moment(NOW))
    # A name the system no longer knows must not break a page.
    assert zone_named("Mars/Olympus_Mons") is UTC
    assert zone_named("Europe/Berlin") == ZoneInfo("Europe/Berlin")


def test_the_other_forms_show_an_age_or_the_exact_time():
    with viewer_zone("Europe/Lisbon", NOW):
        age = str(moment(NOW - timedelta(days=3, hours=4), "age", "Open since"))
        assert re.fullmatch(r'<time datetime="[^"]+" title="Open since Tue 1 Dec 2026, 05:30 WET">'
                            r'3 d 4 h<span class="visually-hidden"> \(Open since [^)]+\)</span>'
                            r'</time>', age)
        assert str(moment(NOW, "exact")) == (
            '<time datetime="2026-12-04T09:30:00+00:00">Fri 4 Dec 2026, 09:30 WET</time>')
    assert str(moment(None)) == "—"


@pytest.mark.parametrize(("offset", "text"), [
    (timedelta(0), "just now"), (timedelta(seconds=-45), "45 s ago"),
    (timedelta(minutes=-12), "12 min ago"), (timedelta(days=-20), "2 w ago"),
    (timedelta(hours=3), "in 3 h"), (timedelta(days=2, hours=1), "in 2 d 1 h"),
])
def test_relative_times_count_back_and_forward(offset: timedelta, text: str):
    assert relative(NOW + offset, NOW) == text


def test_the_filter_escapes_what_it_shows():
    # A zone's abbreviation is the system's, never typed by anyone; the label is a template's.
    with viewer_zone("UTC", NOW):
        assert "&lt;b&gt;" in str(moment(NOW, "age", "<b>"))


def test_a_time_zone_is_a_name_the_system_knows():
    assert parse_time_zone(" Europe/Berlin ") == "Europe/Berlin"
    assert parse_time_zone("") is None
    for bad in ("Europe/Atlantis", "europe/berlin", "../etc/passwd", "CET; DROP"):
        with pytest.raises(InputInvalid):
            parse_time_zone(bad)
    with pytest.raises(TooLong):
        parse_time_zone("A" * 65)
