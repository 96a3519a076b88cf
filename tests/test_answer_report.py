"""Reports on typed answers: each operator and field type as SQL over the JSON answers,
on the database under test, with the meaning conditions.evaluate gives them."""

from datetime import UTC, datetime

import pytest

from app.reads import answer_report as report_module
from app.reads.answer_report import answer_report
from app.reads.report_filters import ReportInvalid, read_query
from app.rules.catalog import current_version, definition_of
from app.rules.requests import cancel_request
from app.storage.clock import frozen_at

OLD_FIELDS = [
    # In the first version the amount was free text: a report on the number must not
    # read it (nor fail on it).
    {"key": "amount", "label": "Amount", "type": "text"},
    {"key": "department", "label": "Department", "type": "select",
     "options": ["Finance", "IT", "HR"]},
    {"key": "vendor", "label": "Vendor", "type": "text"},
]
FIELDS = [
    {"key": "amount", "label": "Amount", "type": "number"},
    {"key": "department", "label": "Department", "type": "select",
     "options": ["Finance", "IT", "HR"]},
    {"key": "vendor", "label": "Vendor", "type": "text"},
    {"key": "start_date", "label": "Start date", "type": "date"},
    {"key": "urgent", "label": "Urgent", "type": "checkbox"},
    {"key": "equipment", "label": "Equipment", "type": "multi_select",
     "options": ["Monitor", "Dock"]},
]


@pytest.fixture
def purchases(session, make):  # type: ignore[no-untyped-def]
    """One request under the old form, four under the current one, filed a day apart."""
    rita = make.user("Rita")

    def filed(day: int, answers):  # type: ignore[no-untyped-def]
        with frozen_at(datetime(2026, 1, day, 9, 0, tzinfo=UTC)):
            return make.request(service, rita, answers)

    service = make.service(slug="purchase", fields=OLD_FIELDS)

    class Purchases:
        old = filed(5, {"amount": "9000 EUR", "department": "Finance", "vendor": "Acme"})
    make.service(slug="purchase", fields=FIELDS)
    Purchases.r1 = filed(6, {"amount": "6000", "department": "Finance", "vendor": "Acme",  # type: ignore[attr-defined]
                             "start_date": "2026-02-01", "urgent": "on",
                             "equipment": ["Monitor"]})
    Purchases.r2 = filed(7, {"amount": "5000", "department": "IT", "vendor": "Globex",  # type: ignore[attr-defined]
                             "start_date": "2026-03-15", "equipment": ["Monitor", "Dock"]})
    Purchases.r3 = filed(8, {"amount": "120.5", "department": "HR", "vendor": "Acme",  # type: ignore[attr-defined]
                             "start_date": "2025-12-31"})
    Purchases.r4 = filed(9, {"department": "Finance", "vendor": "Initech"})  # type: ignore[attr-defined]
    cancel_request(session, service_request=Purchases.r3, by=rita,  # type: ignore[attr-defined]
                   reason="Bought elsewhere")
    Purchases.service = service  # type: ignore[attr-defined]
    make.service(slug="other", fields=FIELDS)  # its requests never show in this report
    make.request(make.service(slug="other", fields=FIELDS), rita,
                 {"amount": "7000", "department": "Finance", "vendor": "Acme"})
    return Purchases


def found(session, purchases, where: str = "", **inputs) -> list[str]:  # type: ignore[no-untyped-def]
    """The names (old, r1 … r4) of the requests the report lists, in its order."""
    definition = definition_of(current_version(session, purchases.service))
    query = read_query(definition, where=where, **inputs)
    page = answer_report(session, service=purchases.service, definition=definition, query=query)
    names = {getattr(purchases, name).id: name for name in ("old", "r1", "r2", "r3", "r4")}
    assert page.total == len(page.rows)
    return [names[row.request.id] for row in page.rows]


def test_with_no_filter_every_version_is_listed_newest_first(session, purchases):
    assert found(session, purchases) == ["r4", "r3", "r2", "r1", "old"]


@pytest.mark.parametrize(("where", "expected"), [
    ("amount > 5000", ["r1"]),
    ("amount >= 5000", ["r2", "r1"]),
    ("amount < 5000", ["r3"]),
    ("amount <= 120.5", ["r3"]),
    ("amount == 5000", ["r2"]),
    ("amount != 5000", ["r3", "r1"]),
    # A missing answer (r4) and a text answer of an older form (old) match no comparison,
    # so `not` of one matches them.
    ("not amount > 5000", ["r4", "r3", "r2", "old"]),
])
def test_a_number_field_is_compared_as_a_number(session, purchases, where, expected):
    assert found(session, purchases, where) == expected


@pytest.mark.parametrize(("where", "expected"), [
    ('vendor == "Acme"', ["r3", "r1", "old"]),
    ('vendor != "Acme"', ["r4", "r2"]),
    ('vendor in ["Globex", "Initech"]', ["r4", "r2"]),
    ('vendor == "acme"', []),
    ('department == "Finance"', ["r4", "r1", "old"]),
    ('department in ["IT", "HR"]', ["r3", "r2"]),
])
def test_text_and_select_fields_match_exactly_in_every_version(session, purchases, where,
                                                               expected):
    assert found(session, purchases, where) == expected


@pytest.mark.parametrize(("where", "expected"), [
    ("start_date >= 2026-01-01 and start_date <= 2026-02-28", ["r1"]),
    ("start_date < 2026-01-01", ["r3"]),
    ("start_date == 2026-03-15", ["r2"]),
    ("start_date > 2026-01-01", ["r2", "r1"]),
])
def test_a_date_field_is_compared_as_a_date(session, purchases, where, expected):
    assert found(session, purchases, where) == expected


@pytest.mark.parametrize(("where", "expected"), [
    ("urgent is true", ["r1"]),
    ("urgent is false", ["r4", "r3", "r2"]),
    ("urgent != true", ["r4", "r3", "r2"]),
    ('equipment includes "Dock"', ["r2"]),
    ('equipment includes "Monitor"', ["r2", "r1"]),
    ('not equipment includes "Monitor"', ["r4", "r3", "old"]),
])
def test_checkbox_and_multi_select_fields(session, purchases, where, expected):
    assert found(session, purchases, where) == expected


@pytest.mark.parametrize(("where", "expected"), [
    ('amount > 5000 and department == "Finance"', ["r1"]),
    ('amount > 5000 or department == "HR"', ["r3", "r1"]),
    ('(department == "Finance" or department == "IT") and not urgent is true',
     ["r4", "r2", "old"]),
])
def test_conditions_combine_with_and_or_not(session, purchases, where, expected):
    assert found(session, purchases, where) == expected


def test_the_state_and_the_submitted_range_filter_too(session, purchases):
    assert found(session, purchases, states=["cancelled"]) == ["r3"]
    assert found(session, purchases, states=["open", "rejected"]) == ["r4", "r2", "r1", "old"]
    assert found(session, purchases, submitted_from="2026-01-06",
                 submitted_to="2026-01-08") == ["r3", "r2", "r1"]
    assert found(session, purchases, 'vendor == "Acme"', states=["open"],
                 submitted_to="2026-01-06") == ["r1", "old"]


def test_a_field_sorts_the_report_with_missing_answers_last(session, purchases):
    assert found(session, purchases, sort="amount") == ["r3", "r2", "r1", "r4", "old"]
    assert found(session, purchases, sort="-amount") == ["r1", "r2", "r3", "r4", "old"]
    assert found(session, purchases, sort="start_date") == ["r3", "r1", "r2", "r4", "old"]
    assert found(session, purchases, sort="submitted") == ["old", "r1", "r2", "r3", "r4"]


def test_pages_are_counted_exactly(session, purchases, monkeypatch):
    monkeypatch.setattr(report_module, "PAGE_SIZE", 2)
    definition = definition_of(current_version(session, purchases.service))
    pages = [answer_report(session, service=purchases.service, definition=definition,
                           query=read_query(definition, page=number)) for number in (1, 2, 3)]
    assert [(page.total, page.pages) for page in pages] == [(5, 3)] * 3
    assert [[row.request.id for row in page.rows] for page in pages] == [
        [purchases.r4.id, purchases.r3.id], [purchases.r2.id, purchases.r1.id],
        [purchases.old.id],
    ]


def test_an_answer_of_another_type_in_an_older_version_is_not_shown(session, purchases):
    definition = definition_of(current_version(session, purchases.service))
    page = answer_report(session, service=purchases.service, definition=definition,
                         query=read_query(definition, sort="submitted"))
    old, r1 = page.rows[0], page.rows[1]
    assert [line.value for line in old.answers] == [None, "Finance", "Acme", None, None, None]
    assert [line.value for line in r1.answers] == [6000, "Finance", "Acme", "2026-02-01",
                                                   True, ["Monitor"]]


@pytest.mark.parametrize(("inputs", "problem"), [
    ({"where": 'amount > "a lot"'}, "'amount' is a number field"),
    ({"where": "budget > 5"}, "there is no field 'budget'"),
    ({"where": "amount >"}, "the condition ends too early"),
    ({"where": 'department == "Sales"'}, '"Sales" is not one of its options'),
    ({"where": "amount > 1" + " and amount > 1" * 100}, "at most 1000 characters"),
    ({"states": ["lost"]}, "Choose states from the list"),
    ({"submitted_from": "2026-02-30"}, "Enter a real date"),
    ({"submitted_from": "2026-02-02", "submitted_to": "2026-02-01"}, "comes before"),
    ({"sort": "equipment"}, "Choose an order"),
    ({"sort": "amount; drop table"}, "Choose an order"),
])
def test_a_wrong_input_is_refused_with_a_message(session, purchases, inputs, problem):
    definition = definition_of(current_version(session, purchases.service))
    with pytest.raises(ReportInvalid) as refused:
        read_query(definition, **inputs)
    assert problem in str(refused.value)


@pytest.mark.parametrize(("where", "expected"), [
    # The text sought may be written elsewhere in the answers (another field's answer, a
    # key): only the field's own answer counts.
    ('department == "Finance"', ["r4", "r1", "old"]),
    ('vendor == "department"', ["r5"]),
    ('vendor in ["Finance", "HR"]', ["r5a"]),
    # Texts a JSON writer may escape are found all the same.
    ('vendor == "Café \\"Zürich\\" a/b"', ["r6"]),
    ('vendor in ["x", "Café \\"Zürich\\" a/b"]', ["r6"]),
    ('equipment includes "Dock"', ["r2"]),
])
def test_a_text_is_found_in_its_own_field_only(session, make, purchases, where, expected):
    ray = make.user("Ray")
    purchases.r5a = make.request(purchases.service, ray, {  # type: ignore[attr-defined]
        "department": "HR", "vendor": "Finance"})
    purchases.r5 = make.request(purchases.service, ray, {  # type: ignore[attr-defined]
        "department": "IT", "vendor": "department", "equipment": ["Monitor"]})
    purchases.r6 = make.request(purchases.service, ray, {  # type: ignore[attr-defined]
        "department": "IT", "vendor": 'Café "Zürich" a/b'})
    definition = definition_of(current_version(session, purchases.service))
    page = answer_report(session, service=purchases.service, definition=definition,
                         query=read_query(definition, where=where))
    names = {getattr(purchases, name).id: name
             for name in ("old", "r1", "r2", "r3", "r4", "r5a", "r5", "r6")}
    assert [names[row.request.id] for row in page.rows] == expected


def test_a_request_with_long_answers_is_found_and_counted(session, make, monkeypatch):
    # PostgreSQL reads requests with short and long answers from two indexes
    # (app.storage.report_index): both halves are counted, paged and sorted together.
    monkeypatch.setattr(report_module, "PAGE_SIZE", 2)
    service = make.service(slug="long", fields=[
        {"key": "amount", "label": "Amount", "type": "number"},
        {"key": "note", "label": "Note", "type": "long_text"}])
    rita = make.user("Rita")
    filed = [make.request(service, rita, {"amount": str(amount), "note": "x" * length})
             for amount, length in ((6000, 3000), (7000, 10), (8000, 5000), (10, 4000))]
    definition = definition_of(current_version(session, service))

    def listed(**inputs):  # type: ignore[no-untyped-def]
        pages = [answer_report(session, service=service, definition=definition,
                               query=read_query(definition, page=number, **inputs))
                 for number in (1, 2)]
        assert {page.total for page in pages} == {3 if inputs else 4}
        ids = [request.id for request in filed]
        return [ids.index(row.request.id) for page in pages for row in page.rows]

    assert listed(where="amount > 5000") == [2, 1, 0]
    assert listed(where="amount > 5000", sort="-amount") == [2, 1, 0]
    assert listed(where="amount > 5000", sort="amount") == [0, 1, 2]
    assert listed() == [3, 2, 1, 0]
