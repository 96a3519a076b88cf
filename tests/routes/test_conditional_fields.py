"""Conditional intake fields on the service page: each carries its condition as JSON for
the browser's script; without the script every field is shown; a form that comes back
with errors starts with the fields whose condition is false hidden."""

import html
import json
import re
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session

from app.format.conditions import And, Compare, Not, Or, parse
from app.format.conditions import to_data as condition_data
from app.rules.catalog import current_version, definition_of
from app.storage.models import Service, User
from app.web.render import condition_json
from app.web.routes.catalog import hidden_fields
from tests.factories import Factory
from tests.test_due import define
from tests.web import WebClient, text_of

FIELDS: list[dict[str, Any]] = [
    {"key": "summary", "label": "Summary", "type": "text", "required": True},
    {"key": "equipment", "label": "Equipment", "type": "multi_select",
     "options": ["Laptop", "Monitor", "Phone"]},
    {"key": "monitor_size", "label": "Monitor size", "type": "select", "required": True,
     "options": ["24 inch", "27 inch"], "show_if": 'equipment includes "Monitor"'},
    {"key": "curved", "label": "Curved screen", "type": "checkbox",
     "show_if": 'monitor_size == "27 inch"'},
    {"key": "amount", "label": "Amount", "type": "number", "max": 100000},
    {"key": "quote", "label": "Quote number", "type": "text", "required": True,
     "show_if": "amount > 5000 or (amount >= 1000 and not equipment includes \"Phone\")"},
    {"key": "start", "label": "Start", "type": "date"},
    {"key": "early_reason", "label": "Why so early?", "type": "long_text",
     "show_if": "start < 2030-01-01"},
]


@pytest.fixture
def service(make: Factory) -> Service:
    return define(make, slug="kit", fields=FIELDS, steps=[{"name": "Deliver", "team": "it"}])


@pytest.fixture
def employee(make: Factory, web: WebClient) -> User:
    user = make.user("Erin Employee")
    web.login(user)
    return user


def wrapper(page: str, key: str) -> str:
    """The opening tag of a field's wrapper."""
    match = re.search(rf'<div class="field[^>]*id="f-{key}-wrap"[^>]*>', page)
    assert match is not None, key
    return match.group(0)


def show_if_of(page: str, key: str) -> Any:
    match = re.search(r'data-show-if="([^"]*)"', wrapper(page, key))
    return json.loads(html.unescape(match.group(1))) if match else None


def submit(web: WebClient, service: Service, session: Session, answers: dict[str, Any]):  # type: ignore[no-untyped-def]
    form = {"version_id": str(current_version(session, service).id), **answers}
    return web.post(f"/services/{service.slug}/requests", form,
                    files=[("unused", ("", b"", "application/octet-stream"))])


# --- the condition as data ---------------------------------------------------------------


def test_a_condition_becomes_json_data_with_dates_tagged():
    assert condition_data(parse('equipment includes "Monitor"')) == {
        "field": "equipment", "op": "includes", "value": "Monitor"}
    assert condition_data(parse("start >= 2026-01-31")) == {
        "field": "start", "op": ">=", "value": {"date": "2026-01-31"}}
    assert condition_data(parse('not (remote is true or country in ["DE", "FR"])'
                                " and amount > 5000.5")) == {"and": [
        {"not": {"or": [
            {"field": "remote", "op": "is", "value": True},
            {"field": "country", "op": "in", "value": ["DE", "FR"]},
        ]}},
        {"field": "amount", "op": ">", "value": 5000.5},
    ]}


def test_every_kind_of_node_survives_the_trip_through_json():
    tree = Or((And((Compare("a", "==", "x"), Not(Compare("b", "<", date(2026, 1, 2))))),
               Compare("c", "in", ("p", "q")), Compare("d", "is", False)))
    data = json.loads(condition_json("a == \"x\" and not b < 2026-01-02 or c in [\"p\", \"q\"]"
                                     " or d is false"))
    assert data == condition_data(tree)


def test_a_condition_that_does_not_parse_gives_no_json():
    assert condition_json("amount >") == ""
    assert condition_json(None) == ""


# --- the page -------------------------------------------------------------------------------


def test_the_service_page_renders_each_fields_condition_for_the_browser(
    web, service, employee
):
    response = web.get("/services/kit")
    assert response.status_code == 200
    page = response.text
    for field in FIELDS:
        expected = condition_data(parse(field["show_if"])) if "show_if" in field else None
        assert show_if_of(page, field["key"]) == expected, field["key"]
        assert f'data-key="{field["key"]}" data-type="{field["type"]}"' in wrapper(
            page, field["key"])
    assert "data-required" in wrapper(page, "monitor_size")
    assert "data-required" not in wrapper(page, "curved")
    # Without JavaScript every question is there to answer; the script hides them.
    assert not any(" hidden" in wrapper(page, f["key"]) for f in FIELDS)
    assert "<noscript><style>.intake .field[hidden] { display: block !important; }" in page
    assert '<script src="/static/baton.js" defer></script>' in page


def test_the_json_in_the_attribute_is_escaped(web, make, employee):
    define(make, slug="quotes", steps=[{"name": "Do", "team": "it"}], fields=[
        {"key": "kind", "label": "Kind", "type": "select", "options": ['A "quoted" <b>']},
        {"key": "more", "label": "More", "type": "text", "show_if": 'kind == "A \\"quoted\\" <b>"'},
    ])
    page = web.get("/services/quotes").text
    assert "<b>" not in wrapper(page, "more")
    assert show_if_of(page, "more") == {"field": "kind", "op": "==", "value": 'A "quoted" <b>'}


def test_a_form_back_with_errors_starts_with_false_conditions_hidden(
    web, session, service, employee
):
    response = submit(web, service, session, {
        "summary": "", "equipment": ["Laptop", "Phone"], "monitor_size": "27 inch",
        "amount": "2000", "start": "2031-05-01", "early_reason": "stray",
    })
    assert response.status_code == 422
    page = response.text
    assert "This answer is required." in text_of(response)  # the summary
    # No monitor: its size (and what depends on the size) is hidden, typed values kept.
    assert " hidden" in wrapper(page, "monitor_size")
    assert " hidden" in wrapper(page, "curved")
    assert '<option value="27 inch" selected>' in page
    # 2,000 with a phone: no quote needed. 2031 is not early.
    assert " hidden" in wrapper(page, "quote")
    assert " hidden" in wrapper(page, "early_reason")
    assert " hidden" not in wrapper(page, "equipment")
    # Hidden is never disabled by the server: without the script the noscript rule shows
    # them, and they must still be answerable.
    block = page.split('id="f-monitor_size-wrap"')[1].split('<div class="field')[0]
    assert "disabled" not in block


def test_a_form_back_with_errors_shows_fields_whose_condition_holds(
    web, session, service, employee
):
    response = submit(web, service, session, {
        "summary": "Kit", "equipment": ["Monitor"], "monitor_size": "27 inch",
        "amount": "6000", "start": "2029-12-31", "early_reason": "",
    })
    assert response.status_code == 422
    page = response.text
    # The quote is required now that the amount is over 5,000: that is the error.
    assert '<a href="#f-quote">Quote number</a>: This answer is required.' in page
    for key in ("monitor_size", "curved", "quote", "early_reason"):
        assert " hidden" not in wrapper(page, key), key


def test_a_hidden_answer_does_not_count_for_a_later_condition(session, service):
    definition = definition_of(current_version(session, service))
    # The size is typed but hidden (no monitor): "curved" depends on it, so hidden too.
    assert hidden_fields(session, definition, {
        "equipment": ["Laptop"], "monitor_size": ["27 inch"],
    }) == {"monitor_size", "curved", "quote", "early_reason"}
    assert hidden_fields(session, definition, {
        "equipment": ["Monitor"], "monitor_size": ["27 inch"], "amount": ["1 500"],
        "start": ["2029-06-01"],
    }) == set()


def test_an_answer_that_fails_its_checks_counts_as_not_given(session, service):
    definition = definition_of(current_version(session, service))
    hidden = hidden_fields(session, definition, {
        "equipment": ["Monitor"], "monitor_size": ["30 inch"],  # not an option
        "amount": ["200000"],  # over the field's maximum
        "start": ["2029-02-30"],  # not a real date
    })
    assert hidden == {"curved", "quote", "early_reason"}


def test_the_server_drops_a_hidden_fields_stray_answer_and_files_the_request(
    web, session, service, employee
):
    response = submit(web, service, session, {
        "summary": "Kit", "equipment": ["Laptop"], "monitor_size": "27 inch", "curved": "on",
        "amount": "10",
    })
    assert response.status_code == 303
    request_id = int(response.headers["location"].split("/")[2].split("?")[0])
    page = text_of(web.get(f"/requests/{request_id}"))
    assert "Monitor size —" in page and "27 inch" not in page
