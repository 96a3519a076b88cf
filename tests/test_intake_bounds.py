"""No answer, however long or however made, holds a worker (issue 12, item 1).

One 40 KB answer to the laptop request once kept a worker busy for 12 s: the person
field's "Name <email>" went through a regular expression whose time grew with the square
of the answer's length. Every answer is now bounded before anything reads it, and the
person parser does not backtrack. These tests send a megabyte to every field of every
service in services/ (and of a form with every field type and no limits), check that each
gets its field error, and check the bounds themselves: the cleaning pass and the one
regular expression left never see more than a few thousand characters, so the time is
linear in the answer's length whatever it holds.
"""

import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

import app.rules.inputs
import app.rules.intake
from app.format.definitions import FieldDefinition, ServiceDefinition, parse_service
from app.rules.errors import IntakeInvalid
from app.rules.inputs import (
    MAX_EMAIL_LENGTH,
    MAX_PERSON_LENGTH,
    PersonText,
    TooLong,
    parse_person,
    raw_limit,
)
from app.rules.intake import DEFAULT_MAX_LENGTH, validate_intake

SERVICES = Path(__file__).parent.parent / "services"
MEGABYTE = 1_000_000  # characters; ASCII, so as many bytes

# Answers built to hurt: the old person pattern r"<([^>]+)>\s*$" is quadratic on the
# second, the e-mail pattern on the third; the others are plain long text, long
# whitespace (which cleaning shrinks) and long digits.
HOSTILE = {
    "letters": "x" * MEGABYTE,
    "brackets": "<a" * (MEGABYTE // 2),
    "dots": "a@" + "." * (MEGABYTE - 3) + "@",
    "spaces": "a" + " \t" * (MEGABYTE // 2),
    "digits": "1" * MEGABYTE,
}

EVERY_TYPE: dict[str, Any] = {
    "slug": "every-type", "name": "Every type", "category": "Tests",
    "steps": [{"name": "Do it", "team": "it"}],
    "fields": [
        {"key": "text", "label": "Text", "type": "text"},
        {"key": "long_text", "label": "Long text", "type": "long_text"},
        {"key": "number", "label": "Number", "type": "number"},
        {"key": "whole", "label": "Whole", "type": "number", "integer": True},
        {"key": "date", "label": "Date", "type": "date"},
        {"key": "select", "label": "Select", "type": "select", "options": ["A", "B"]},
        {"key": "multi", "label": "Multi", "type": "multi_select", "options": ["A", "B"]},
        {"key": "checkbox", "label": "Checkbox", "type": "checkbox"},
        {"key": "email", "label": "E-mail", "type": "email"},
        {"key": "person", "label": "Person", "type": "person"},
        {"key": "file", "label": "File", "type": "file"},
    ],
}


def catalog(*, conditions: bool = True) -> Iterator[ServiceDefinition]:
    """Every service of services/, and a form with every field type and no limits.
    Without `conditions`, every field is shown whatever the other answers are, so each
    one is checked."""
    datas = [tomllib.loads(path.read_text()) for path in sorted(SERVICES.glob("*.toml"))
             if path.name != "teams.toml"]
    for data in [*datas, EVERY_TYPE]:
        if not conditions:
            data = {**data, "fields": [{k: v for k, v in field.items() if k != "show_if"}
                                       for field in data["fields"]]}
        yield parse_service(data)


def errors_of(session: Session, definition: ServiceDefinition,
              values: dict[str, list[str]]) -> dict[str, str]:
    try:
        validate_intake(session, definition=definition, values=values, uploads={},
                        max_upload_mb=20)
    except IntakeInvalid as invalid:
        return invalid.errors
    return {}


def expected_error(field: FieldDefinition) -> str | None:
    """The message a megabyte answer to the field gets (None: no message is due)."""
    limit = field.max_length or DEFAULT_MAX_LENGTH.get(field.type, 0)
    return {
        "text": f"Use at most {limit} characters",
        "long_text": f"Use at most {limit} characters",
        "number": "Enter a whole number" if field.is_integer else "Enter a number",
        "date": "Enter a real date as YYYY-MM-DD",
        "select": "Choose one of the options listed.",
        "multi_select": "Choose only from the options listed.",
        "checkbox": "Tick the box or leave it empty.",
        "email": "Enter an e-mail address",
        "person": "No active person of Baton matches",
        # Text sent under a file field's name is no file: as if nothing was attached.
        "file": "Attach at least one file." if field.required else None,
    }[field.type]


def test_a_megabyte_answer_to_any_field_gets_its_field_error_at_once(session):
    checked = set()
    started = time.process_time()
    for definition in catalog(conditions=False):
        for field in definition.fields:
            for name, hostile in HOSTILE.items():
                errors = errors_of(session, definition, {field.key: [hostile]})
                expected = expected_error(field)
                if expected is None:
                    assert field.key not in errors, (definition.slug, field.key, name)
                else:
                    assert errors.get(field.key, "").startswith(expected), (
                        definition.slug, field.key, name, errors.get(field.key))
            checked.add(field.type)
    spent = time.process_time() - started
    assert checked == {"text", "long_text", "number", "date", "select", "multi_select",
                       "checkbox", "email", "person", "file"}
    # About 300 forms checked, each with a megabyte answer: a few milliseconds of work
    # each when bounded (the quadratic pattern alone took hours on one of them).
    assert spent < 1.0, f"{spent:.2f} s of CPU"


def test_a_form_with_a_megabyte_in_every_field_is_answered_at_once(session):
    started = time.process_time()
    for definition in catalog():
        for hostile in HOSTILE.values():
            values = {field.key: [hostile] for field in definition.fields}
            errors = errors_of(session, definition, values)
            assert errors and all(errors.values())
    assert time.process_time() - started < 1.0


def test_no_cleaning_or_pattern_ever_reads_more_than_its_bound(session, monkeypatch):
    """The proof that the time is linear: whatever the answer, the cleaning pass (one
    str.translate) reads at most twice the longest field limit, and the e-mail pattern
    (the one regular expression left on the way in) at most an address's length."""
    cleaned: list[int] = []
    matched: list[int] = []
    clean = app.rules.inputs.without_control_characters
    pattern = app.rules.inputs.EMAIL_PATTERN

    def counting_clean(text: str) -> str:
        cleaned.append(len(text))
        return clean(text)

    class CountingPattern:
        def match(self, text: str) -> Any:
            matched.append(len(text))
            return pattern.match(text)

    monkeypatch.setattr(app.rules.inputs, "without_control_characters", counting_clean)
    monkeypatch.setattr(app.rules.intake, "without_control_characters", counting_clean)
    monkeypatch.setattr(app.rules.inputs, "EMAIL_PATTERN", CountingPattern())
    for definition in catalog(conditions=False):
        for field in definition.fields:
            for hostile in HOSTILE.values():
                errors_of(session, definition, {field.key: [hostile]})
            errors_of(session, definition, {field.key: ["ann@example.com"]})
    longest_limit = max(
        [*DEFAULT_MAX_LENGTH.values()]
        + [f.max_length or 0 for d in catalog() for f in d.fields]
    )
    assert cleaned and max(cleaned) <= raw_limit(longest_limit)
    assert matched and max(matched) <= MAX_EMAIL_LENGTH
    assert "re" not in vars(app.rules.intake), "intake reads no answer with a regular expression"


# --- the one parser of "Name <e-mail>" -----------------------------------------------------


@pytest.mark.parametrize("typed, expected", [
    ("Ann Lee <Ann@Example.com>", PersonText(email="ann@example.com", name=None)),
    ("  Ann   Lee   < ann@example.com >  ", PersonText(email="ann@example.com", name=None)),
    ("<ann@example.com>", PersonText(email="ann@example.com", name=None)),
    ("Ann <x> <ann@example.com>", PersonText(email="ann@example.com", name=None)),
    ("Ann@Example.com", PersonText(email="ann@example.com", name="ann@example.com")),
    ("  ann   LEE ", PersonText(email="ann lee", name="ann lee")),
    # Not an address in brackets at the end: read as typed (and found by nobody).
    ("Ann <>", PersonText(email="ann <>", name="ann <>")),
    ("Ann <a>b>", PersonText(email="ann <a>b>", name="ann <a>b>")),
    ("Ann <ann@example.com> x", PersonText(email="ann <ann@example.com> x",
                                           name="ann <ann@example.com> x")),
])
def test_a_person_is_read_from_name_and_address_or_either(typed, expected):
    assert parse_person(typed) == expected


def test_nothing_typed_names_nobody():
    assert parse_person("") is None
    assert parse_person(" \t\n") is None


def test_a_person_text_longer_than_a_name_and_address_is_refused_unread():
    longest = "n" * 120 + " <" + "e" * 254 + ">"
    assert len(longest) == MAX_PERSON_LENGTH
    assert parse_person(longest) is not None
    with pytest.raises(TooLong):
        parse_person(longest + "x")
    for hostile in HOSTILE.values():
        started = time.process_time()
        with pytest.raises(TooLong):
            parse_person(hostile)
        assert time.process_time() - started < 0.1
