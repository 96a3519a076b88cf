"""Conditions in the form's own words (app.format.condition_words): every operator of the
condition language, on every kind of field it may test, alone, negated and combined."""

import pytest

from app.format.condition_words import (
    condition_words,
    reworded_skip_reason,
    step_condition_words,
)
from app.format.conditions import parse
from app.format.definitions import FieldDefinition, ServiceDefinition
from app.format.stages import skip_reason

FIELDS = [
    FieldDefinition(key="amount", label="Total amount (EUR)", type="number"),
    FieldDefinition(key="start", label="Start date", type="date"),
    FieldDefinition(key="remote", label="Works fully remotely", type="checkbox"),
    FieldDefinition(key="equipment", label="Equipment needed", type="multi_select",
                    options=["Laptop", "Monitor"]),
    FieldDefinition(key="country", label="Country", type="select",
                    options=["DE", "FR", "NL"]),
    FieldDefinition(key="notes", label="Anything else", type="long_text"),
    FieldDefinition(key="email", label="Contact e-mail", type="email"),
]


def words(text: str) -> str:
    return condition_words(parse(text), FIELDS)


@pytest.mark.parametrize("text, expected", [
    # numbers: every comparison
    ("amount == 5", "Total amount (EUR) is 5"),
    ("amount != 5", "Total amount (EUR) is not 5"),
    ("amount > 1000", "Total amount (EUR) is more than 1,000"),
    ("amount >= 25000", "Total amount (EUR) is at least 25,000"),
    ("amount < 2.5", "Total amount (EUR) is less than 2.5"),
    ("amount <= 1234.75", "Total amount (EUR) is at most 1,234.75"),
    # dates: every comparison, written as people write dates
    ("start == 2026-03-01", "Start date is 1 March 2026"),
    ("start != 2026-03-01", "Start date is not 1 March 2026"),
    ("start > 2026-03-01", "Start date is after 1 March 2026"),
    ("start >= 2026-03-01", "Start date is on or after 1 March 2026"),
    ("start < 2026-12-31", "Start date is before 31 December 2026"),
    ("start <= 2026-12-31", "Start date is on or before 31 December 2026"),
    # checkboxes: is, == and !=
    ("remote is true", "Works fully remotely is ticked"),
    ("remote is false", "Works fully remotely is not ticked"),
    ("remote == true", "Works fully remotely is ticked"),
    ("remote != true", "Works fully remotely is not ticked"),
    ("remote != false", "Works fully remotely is ticked"),
    # multi-select: includes
    ('equipment includes "Monitor"', "Equipment needed includes “Monitor”"),
    # select and text: ==, != and in
    ('country == "DE"', "Country is “DE”"),
    ('country != "DE"', "Country is not “DE”"),
    ('country in ["DE"]', "Country is “DE”"),
    ('country in ["DE", "FR"]', "Country is “DE” or “FR”"),
    ('country in ["DE", "FR", "NL"]', "Country is one of “DE”, “FR” or “NL”"),
    ('notes == ""', "Anything else is empty"),
    ('notes != ""', "Anything else is filled in"),
    ('email == "a@example.com"', "Contact e-mail is “a@example.com”"),
])
def test_each_comparison_reads_in_the_forms_words(text, expected):
    assert words(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("not amount > 1000", "Total amount (EUR) is not more than 1,000"),
    ("not amount >= 1000", "Total amount (EUR) is not at least 1,000"),
    ("not amount < 1000", "Total amount (EUR) is not less than 1,000"),
    ("not amount <= 1000", "Total amount (EUR) is not at most 1,000"),
    ("not amount == 1000", "Total amount (EUR) is not 1,000"),
    ("not amount != 1000", "Total amount (EUR) is 1,000"),
    ("not start > 2026-01-01", "Start date is not after 1 January 2026"),
    ("not start <= 2026-01-01", "Start date is not on or before 1 January 2026"),
    ("not remote is true", "Works fully remotely is not ticked"),
    ("not remote is false", "Works fully remotely is ticked"),
    ('not equipment includes "Laptop"', "Equipment needed does not include “Laptop”"),
    ('not country in ["DE"]', "Country is not “DE”"),
    ('not country in ["DE", "FR"]', "Country is neither “DE” nor “FR”"),
    ('not country in ["DE", "FR", "NL"]', "Country is none of “DE”, “FR” or “NL”"),
    ('not notes == ""', "Anything else is filled in"),
    ("not not amount > 1", "Total amount (EUR) is more than 1"),
])
def test_a_not_is_said_by_the_comparison_itself(text, expected):
    assert words(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("amount > 1 and remote is true",
     "Total amount (EUR) is more than 1 and Works fully remotely is ticked"),
    ('amount > 1 or country == "DE" or remote is true',
     "Total amount (EUR) is more than 1, Country is “DE” or Works fully remotely is ticked"),
    ('amount > 1 and (remote is true or country == "DE")',
     "Total amount (EUR) is more than 1, and either Works fully remotely is ticked "
     "or Country is “DE”"),
    ('(amount > 1 and remote is true) or country == "DE"',
     "both Total amount (EUR) is more than 1 and Works fully remotely is ticked, "
     "or Country is “DE”"),
    ('country == "DE" or amount > 1 and remote is true and start > 2026-01-01',
     "Country is “DE”, or all of Total amount (EUR) is more than 1, Works fully remotely "
     "is ticked and Start date is after 1 January 2026"),
    # De Morgan: a not in front of a group turns "and" into "or" and the other way
    ("not (amount > 1 and remote is true)",
     "Total amount (EUR) is not more than 1 or Works fully remotely is not ticked"),
    ('not (amount > 1 or country == "DE")',
     "Total amount (EUR) is not more than 1 and Country is not “DE”"),
    ("amount > 1 and (amount < 5 and remote is true)",
     "Total amount (EUR) is more than 1, Total amount (EUR) is less than 5 and "
     "Works fully remotely is ticked"),
])
def test_and_or_and_not_combine_so_the_sentence_reads_one_way(text, expected):
    assert words(text) == expected


def test_no_syntax_is_left_in_the_words():
    said = words('not (amount >= 5 or equipment includes "Monitor") and start != 2026-01-01')
    assert said == ("Total amount (EUR) is not at least 5, Equipment needed does not "
                    "include “Monitor” and Start date is not 1 January 2026")
    for syntax in (">", "=", "!", "[", '"', "equipment", "start "):
        assert syntax not in said


ONBOARDING = ServiceDefinition(
    slug="onboarding", name="Onboarding", category="People", fields=FIELDS,
    steps=[{"name": "Desk", "team": "facilities", "condition": "remote is false"},
           {"name": "Welcome", "team": "hr"}],
)


def test_a_step_says_when_it_is_needed_and_why_it_was_not():
    assert step_condition_words(ONBOARDING, 0) == "Works fully remotely is not ticked"
    assert step_condition_words(ONBOARDING, 1) is None
    assert skip_reason(ONBOARDING, 0) == (
        "Not needed: only for requests where Works fully remotely is not ticked.")


def test_a_reason_recorded_in_the_old_syntax_is_worded_anew():
    old = "Not needed: the condition “remote is false” does not hold."
    assert reworded_skip_reason(old, ONBOARDING) == skip_reason(ONBOARDING, 0)
    # Anything else, a broken old condition included, is kept as written.
    for kept in ("Skipped by hand", "Not needed: the condition “remote is” does not hold.",
                 skip_reason(ONBOARDING, 0)):
        assert reworded_skip_reason(kept, ONBOARDING) == kept
