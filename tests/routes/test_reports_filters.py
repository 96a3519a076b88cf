"""The typed-answer report's filters over HTTP: the examples its page shows work as
shown, dates may be quoted, the submitted and completed ranges (the names other pages
link with), and no filter however wrong gets anything but the page with a message."""

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from app.format.conditions import evaluate, parse
from app.reads.report_filters import MAX_CONDITION_LENGTH
from app.rules.inputs import raw_limit
from app.storage.clock import frozen_at
from app.storage.models import ServiceWeek, utcnow
from tests.web import text_of, with_statements

THIS_YEAR = utcnow().year
FIELDS = [
    {"key": "cost", "label": "Cost", "type": "number", "min": 0, "max": 100_000},
    {"key": "unit", "label": "Unit", "type": "select", "options": ["Ops \"North\"", "Sales"]},
    {"key": "begins", "label": "Begins", "type": "date"},
    {"key": "rush", "label": "Rush", "type": "checkbox"},
    {"key": "kit", "label": "Kit", "type": "multi_select", "options": ["Laptop", "Phone"]},
    {"key": "vendor", "label": "Vendor", "type": "text"},
]


def request_ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(number) for number in re.findall(r'<tr id="request-(\d+)"', response.text)]


def example_links(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Each example the page shows, with the address its link goes to."""
    return {html.unescape(text): html.unescape(href) for href, text in re.findall(
        r'<a href="([^"]+)"><code class="example">(.*?)</code></a>', response.text)}


def shown_examples(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [html.unescape(text) for text in
            re.findall(r'<code class="example">(.*?)</code>', response.text)]


@pytest.fixture
def desk(make):  # type: ignore[no-untyped-def]
    service = make.service(slug="kit", name="Kit", fields=FIELDS, steps=[("ops", "task")])
    rita = make.user("Rita")
    answers = [
        {"cost": "9000", "unit": 'Ops "North"', "begins": f"{THIS_YEAR}-03-01", "rush": "on",
         "kit": ["Laptop"], "vendor": "Acme"},
        {"cost": "4000", "unit": "Sales", "begins": f"{THIS_YEAR - 1}-12-31",
         "kit": ["Phone"]},
        {"cost": "5001", "unit": "Sales", "begins": f"{THIS_YEAR}-12-31",
         "kit": ["Laptop", "Phone"]},
        {"cost": "6000", "unit": 'Ops "North"'},
        {"unit": "Sales", "vendor": "Globex"},
    ]

    class Desk:
        requests = [make.request(service, rita, given) for given in answers]
        manager = make.user("Mona", manager=True)
    return Desk


def test_every_example_the_page_shows_runs_and_finds_the_right_requests(web, desk):
    client = web.login(desk.manager)
    page = client.get("/reports/kit")
    examples = shown_examples(page)
    # Made from this form's own fields and options, one for each kind a filter can test.
    assert examples == ["cost > 5000", 'unit == "Ops \\"North\\""',
                        'unit in ["Ops \\"North\\"", "Sales"]',
                        f"begins >= {THIS_YEAR}-01-01 and begins <= {THIS_YEAR}-12-31",
                        "rush is true", 'kit includes "Laptop"',
                        'cost > 5000 and unit == "Ops \\"North\\""']
    newest_first = sorted(desk.requests, key=lambda r: r.id, reverse=True)
    for example in examples:
        expected = [r.id for r in newest_first if evaluate(parse(example), r.answers)]
        assert expected, f"{example} finds nothing in the fixture: a weak test"
        typed = client.get("/reports/kit", params={"where": example})
        assert typed.status_code == 200, example
        assert request_ids(typed) == expected, example
        # And as its link on the page has it.
        assert request_ids(client.get(example_links(page)[example])) == expected, example


@pytest.mark.parametrize(("fields", "expected"), [
    ([{"key": "hours", "label": "Hours", "type": "number", "min": 1, "max": 40}],
     ["hours > 20"]),
    ([{"key": "team", "label": "Team", "type": "select", "options": ["Ops"]}],
     ['team == "Ops"']),
    ([{"key": "note", "label": "Note", "type": "text"}], []),
])
def test_the_examples_use_the_forms_own_names_options_and_bounds(web, make, fields,
                                                                 expected):
    make.service(slug="other", fields=fields)
    response = web.login(make.user("Mona", manager=True)).get("/reports/other")
    assert shown_examples(response) == expected
    if not expected:
        assert "For example" not in response.text


def test_a_form_with_nothing_to_test_says_so(web, make):
    make.service(slug="plain", fields=[{"key": "quote", "label": "Quote", "type": "file"}])
    response = web.login(make.user("Mona", manager=True)).get("/reports/plain")
    assert "This service's form has no field a filter can test." in text_of(response)


@pytest.mark.parametrize("where", [
    f'begins >= "{THIS_YEAR}-01-01" and begins <= "{THIS_YEAR}-12-31"',
    f'begins >= {THIS_YEAR}-01-01 and begins <= "{THIS_YEAR}-12-31"',
    f"begins >= {THIS_YEAR}-01-01 and begins <= {THIS_YEAR}-12-31",
])
def test_a_date_may_be_written_in_quotes_or_without(web, desk, where):
    response = web.login(desk.manager).get("/reports/kit", params={"where": where})
    assert response.status_code == 200
    assert request_ids(response) == [desk.requests[2].id, desk.requests[0].id]


@pytest.mark.parametrize(("where", "message"), [
    ('begins >= "2026-13-01"', "'begins' is a date field: \"2026-13-01\" is not a date"),
    ('begins >= "soon"', "write one as YYYY-MM-DD, e.g. begins >= 2026-01-01"),
    ("begins >= 2026-02-30", "2026-02-30 is not a real date"),
    ('vendor == "a\x00b"', None),  # a control character cannot be in an answer: no match
])
def test_a_wrong_date_is_explained_next_to_the_filter(web, desk, where, message):
    response = web.login(desk.manager).get("/reports/kit", params={"where": where})
    if message is None:
        assert response.status_code == 200
        assert request_ids(response) == []
        return
    assert response.status_code == 422
    error = re.search(r'<p class="field-error" id="r-where-error">(.*?)</p>', response.text)
    assert error is not None
    assert message in html.unescape(error.group(1))


def test_a_filter_too_long_for_the_box_is_explained_next_to_it(web, desk):
    typed = "cost > 1 and " * 400 + "cost > 1"
    assert len(typed) > raw_limit(MAX_CONDITION_LENGTH)
    response = web.login(desk.manager).get("/reports/kit", params={"where": typed})
    assert response.status_code == 422
    assert f"a filter is at most {MAX_CONDITION_LENGTH} characters" in text_of(response)
    assert 'id="r-where-error"' in response.text


# --- the submitted and completed ranges ---------------------------------------------------


@pytest.fixture
def onboarding(make):  # type: ignore[no-untyped-def]
    """Three requests filed on Monday 2026-11-02 09:00 UTC, completed 1, 2 and 3 days
    and 4 hours later (Tuesday to Thursday), one more filed the next Monday and left
    open, and one filed that Monday and cancelled."""
    from app.rules.requests import cancel_request

    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    service, done = make.onboarding_history(start)
    rita = make.user("Rita")
    with frozen_at(start + timedelta(days=7)):
        still_open = make.request(service, rita)
        cancelled = make.request(service, rita)
        cancel_request(make.session, service_request=cancelled, by=rita, reason="No need")

    class Onboarding:
        pass
    Onboarding.service = service  # type: ignore[attr-defined]
    Onboarding.done = done  # type: ignore[attr-defined]
    Onboarding.open = still_open  # type: ignore[attr-defined]
    Onboarding.cancelled = cancelled  # type: ignore[attr-defined]
    Onboarding.manager = make.user("Mona", manager=True)  # type: ignore[attr-defined]
    return Onboarding


@pytest.mark.parametrize(("params", "expected"), [
    # As the insights' throughput bar of week 2026-11-02 links to its completed requests.
    ({"state": "completed", "completed_from": "2026-11-02", "completed_to": "2026-11-08"},
     [2, 1, 0]),
    ({"completed_from": "2026-11-04", "completed_to": "2026-11-04"}, [1]),
    ({"completed_to": "2026-11-03"}, [0]),
    ({"completed_from": "2026-11-09"}, []),  # the cancelled one was closed, not completed
    ({"submitted_from": "2026-11-09", "submitted_to": "2026-11-15"}, ["cancelled", "open"]),
    ({"submitted_from": "2026-11-02", "submitted_to": "2026-11-02"}, [2, 1, 0]),
    ({"submitted_to": "2026-11-08", "completed_from": "2026-11-04"}, [2, 1]),
    ({"state": "open", "completed_from": "2026-11-02"}, []),
])
def test_requests_are_found_by_when_they_were_submitted_and_completed(web, onboarding, params,
                                                                      expected):
    names = {"open": onboarding.open, "cancelled": onboarding.cancelled}
    wanted = [(names[name] if isinstance(name, str) else onboarding.done[name]).id
              for name in expected]
    client = web.login(onboarding.manager)
    response = client.get("/reports/onboarding", params=params)
    assert response.status_code == 200
    assert request_ids(response) == sorted(wanted, reverse=True)
    for name, value in params.items():
        assert f'name="{name}" value="{value}"' in response.text or name == "state"
    download = client.get("/reports/onboarding.csv", params=params)
    numbers = [line.split(",", 1)[0] for line in download.text.splitlines()[1:]]
    assert numbers == [f"REQ-{i}" for i in sorted(wanted, reverse=True)]


def test_a_link_with_the_submitted_ranges_old_names_still_filters(web, onboarding):
    client = web.login(onboarding.manager)
    old = client.get("/reports/onboarding", params={"from": "2026-11-09", "to": "2026-11-15"})
    assert old.status_code == 200
    assert request_ids(old) == sorted([onboarding.open.id, onboarding.cancelled.id],
                                      reverse=True)
    assert 'name="submitted_from" value="2026-11-09"' in old.text


def test_the_completed_range_finds_what_the_weekly_figures_count(web, onboarding, session):
    week = session.exec(select(ServiceWeek).where(
        ServiceWeek.service_id == onboarding.service.id,
        ServiceWeek.week == date(2026, 11, 2))).one()
    response = web.login(onboarding.manager).get("/reports/onboarding", params={
        "state": "completed", "completed_from": "2026-11-02", "completed_to": "2026-11-08"})
    assert f"{week.completed_count} requests" in text_of(response)
    assert len(request_ids(response)) == week.completed_count == 3


def test_the_pages_and_the_csv_links_keep_every_filter(web, onboarding, monkeypatch):
    from app.reads import answer_report as report_module

    monkeypatch.setattr(report_module, "PAGE_SIZE", 1)
    response = web.login(onboarding.manager).get("/reports/onboarding", params={
        "state": "completed", "submitted_from": "2026-11-01", "submitted_to": "2026-11-30",
        "completed_from": "2026-11-02", "completed_to": "2026-11-08"})
    kept = ("submitted_from=2026-11-01&amp;submitted_to=2026-11-30&amp;"
            "completed_from=2026-11-02&amp;completed_to=2026-11-08&amp;state=completed")
    assert f'href="/reports/onboarding.csv?{kept}"' in response.text
    assert f'href="/reports/onboarding?{kept}&amp;page=2"' in response.text


@pytest.mark.parametrize(("params", "name", "message"), [
    ({"completed_from": "2026-11-09", "completed_to": "2026-11-02"}, "completed_to",
     "The end of the range comes before its start."),
    ({"completed_from": "next week"}, "completed_from", "Enter a real date"),
    ({"submitted_to": "2026-02-30"}, "submitted_to", "Enter a real date"),
])
def test_a_wrong_date_range_is_explained_next_to_its_input(web, onboarding, params, name,
                                                           message):
    response = web.login(onboarding.manager).get("/reports/onboarding", params=params)
    assert response.status_code == 422
    error = re.search(rf'<p class="field-error" id="r-{name}-error">(.*?)</p>', response.text)
    assert error is not None and message in error.group(1)
    assert f'aria-describedby="r-{name}-error"' in response.text


# --- no filter breaks the page ------------------------------------------------------------

WORDS = ["cost", "unit", "begins", "rush", "kit", "vendor", "nope", "and", "or", "not", "in",
         "includes", "is", "true", "false", "==", "!=", "<", "<=", ">", ">=", "(", ")", "[",
         "]", ",", "5000", "-1e308", "1e999", "0.5", "2026-01-01", "2026-02-30", '"Sales"',
         '"Ops \\"North\\""', '"2026-03-01"', '"x\\"', '"\\\\"', '""', '"Laptop"', "'a'", "%",
         "\x00", "é", "\u202e"]
# A sentence of the language's own words (most of them parse, many are checked and run)
# or any text at all, up to what the box accepts.
FILTERS = st.one_of(
    st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join),
    st.text(max_size=raw_limit(MAX_CONDITION_LENGTH) + 10),
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(where=FILTERS, day=st.text(max_size=30))
def test_no_filter_gets_anything_but_the_page_quickly(web, session, desk, where, day):
    client = web.login(desk.manager)
    plain = with_statements(session, lambda: client.get("/reports/kit"))[1]
    response, sent = with_statements(
        session, lambda: client.get("/reports/kit", params={"where": where,
                                                            "completed_from": day}))
    assert response.status_code in (200, 422), (where, response.text[-500:])
    assert '<form method="get" action="/reports/kit"' in response.text
    if response.status_code == 422:
        assert 'class="field-error"' in response.text
    # A hostile filter costs no more than a page: the length bound and the nesting bound
    # keep the work small. Counted, not timed (a busy machine made a second too short):
    # no more statements than the plain page, none of them grown past what a filter of
    # the longest accepted length can add.
    assert len(sent) <= len(plain), (where, sent)
    longest = max(map(len, plain))
    assert all(len(statement) <= longest + 40 * MAX_CONDITION_LENGTH for statement in sent)


