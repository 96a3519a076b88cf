"""Intake: what a requester typed becomes clean answers, or a message per field."""

import io
from typing import Any

import pytest
from sqlmodel import Session

from app.format.definitions import ServiceDefinition, parse_service
from app.rules.errors import IntakeInvalid
from app.rules.intake import IncomingFile, Intake, request_title, validate_intake
from tests.factories import Factory

MB = 1024 * 1024


def form(*fields: dict[str, Any]) -> ServiceDefinition:
    return parse_service({
        "slug": "form", "name": "Form", "category": "Tests",
        "fields": list(fields), "steps": [{"name": "Do it", "team": "it"}],
    })


def field(type: str, key: str = "answer", **limits: Any) -> dict[str, Any]:
    return {"key": key, "label": key.title(), "type": type, **limits}


def submit(
    session: Session, definition: ServiceDefinition, values: dict[str, Any],
    uploads: dict[str, list[IncomingFile]] | None = None, max_upload_mb: float = 20,
    names_people: bool = False,
) -> Intake:
    """Sends answers as a form would: every value a list of strings."""
    raw = {key: value if isinstance(value, list) else [value] for key, value in values.items()}
    return validate_intake(session, definition=definition, values=raw,
                           uploads=uploads or {}, max_upload_mb=max_upload_mb,
                           names_people=names_people)


def answer(session: Session, spec: dict[str, Any], value: Any) -> Any:
    """The clean value of one answer to a one-field form (absent when empty)."""
    return submit(session, form(spec), {"answer": value}).answers.get("answer")


def problems(session: Session, definition: ServiceDefinition, values: dict[str, Any],
             **kwargs: Any) -> dict[str, str]:
    with pytest.raises(IntakeInvalid) as raised:
        submit(session, definition, values, **kwargs)
    return raised.value.errors


def problem(session: Session, spec: dict[str, Any], value: Any, **kwargs: Any) -> str:
    errors = problems(session, form(spec), {"answer": value}, **kwargs)
    assert list(errors) == ["answer"]
    return errors["answer"]


def upload(name: str, size: int = 10) -> IncomingFile:
    return IncomingFile(filename=name, content_type="application/octet-stream", size=size,
                        file=io.BytesIO(b"x" * size))


# --- text ---------------------------------------------------------------------------------


def test_text_is_trimmed_and_its_whitespace_collapsed(session):
    assert answer(session, field("text"), "  New \t desk\n for  Tom ") == "New desk for Tom"


def test_long_text_keeps_its_lines_but_loses_the_outer_whitespace(session):
    assert answer(session, field("long_text"), "\n First line\n\nSecond  line \n") == (
        "First line\n\nSecond  line"
    )


def test_text_longer_than_max_length_says_how_long_it_is(session):
    spec = field("text", max_length=5)
    assert answer(session, spec, "abcde") == "abcde"
    assert problem(session, spec, "abcdef") == "Use at most 5 characters (this has 6)."


def test_text_shorter_than_min_length_says_how_long_it_is(session):
    spec = field("long_text", min_length=10)
    assert answer(session, spec, "0123456789") == "0123456789"
    assert problem(session, spec, "  short  ") == "Use at least 10 characters (this has 5)."


def test_an_empty_optional_answer_is_left_out(session):
    definition = form(field("text", min_length=5), field("number", key="amount"))
    assert submit(session, definition, {"answer": "   ", "amount": ""}).answers == {}
    assert submit(session, definition, {}).answers == {}


@pytest.mark.parametrize(
    "kind", ["text", "long_text", "number", "date", "email", "person", "select", "multi_select"]
)
def test_a_required_answer_left_empty_is_required(session, kind):
    spec = field(kind, required=True, **({"options": ["a"]} if "select" in kind else {}))
    assert problem(session, spec, "  ") == "This answer is required."
    assert problems(session, form(spec), {}) == {"answer": "This answer is required."}


# --- number -------------------------------------------------------------------------------


def test_a_whole_number_is_an_int_and_a_fraction_a_float(session):
    whole = answer(session, field("number"), "1200")
    fraction = answer(session, field("number"), "12.5")
    assert whole == 1200 and type(whole) is int
    assert fraction == 12.5 and type(fraction) is float
    assert type(answer(session, field("number"), "3.0")) is int
    assert answer(session, field("number"), "-4") == -4


@pytest.mark.parametrize("typed", ["12 500", " 12500 ", "+12500", "12500."])
def test_a_number_may_use_spaces_between_thousands(session, typed):
    assert answer(session, field("number"), typed) == 12500


def test_a_fraction_may_start_with_its_point(session):
    assert answer(session, field("number"), "-.5") == -0.5


@pytest.mark.parametrize("typed", [
    "1,200", "twelve", "12 EUR", "nan", "inf", "-inf", "1e999", "Infinity", ".", "-", "1.2.3",
    # Python reads these as numbers; people do not type them.
    "1_000", "12_500", "１２", "１２.5", "٣", "²", "1e1", "1E3", "0x10", "1.5e2",
])
def test_what_is_not_a_plain_finite_number_is_refused(session, typed):
    assert problem(session, field("number"), typed).startswith(
        "Enter a number, for example 1200 or 12.5"
    )


def test_an_integer_field_takes_only_whole_numbers(session):
    spec = field("number", integer=True)
    assert answer(session, spec, "7") == 7
    assert answer(session, spec, "7.0") == 7
    assert problem(session, spec, "7.5") == "Enter a whole number, for example 12."


@pytest.mark.parametrize("typed", ["1e1", "1_000", "１２", "1E1", "10e-1"])
def test_an_integer_field_refuses_exponents_underscores_and_other_digits(session, typed):
    assert problem(session, field("number", integer=True), typed) == (
        "Enter a whole number, for example 12."
    )


def test_a_number_outside_min_and_max_says_the_limit(session):
    spec = field("number", min=0.5, max=1000)
    assert answer(session, spec, "0.5") == 0.5
    assert answer(session, spec, "1000") == 1000
    assert problem(session, spec, "0.4") == "Enter 0.5 or more."
    assert problem(session, spec, "1000.01") == "Enter 1000 or less."


def test_a_large_limit_is_written_in_full_as_the_form_shows_it(session):
    assert problem(session, field("number", max=2_500_000), "3000000") == (
        "Enter 2500000 or less.")


# --- date ---------------------------------------------------------------------------------


def test_a_date_is_stored_as_iso(session):
    assert answer(session, field("date"), " 2026-03-01 ") == "2026-03-01"


@pytest.mark.parametrize("typed", [
    "2026-02-30", "01/03/2026", "tomorrow", "2026-13-01",
    # date.fromisoformat reads these on Python 3.11 and later; a form never sends them.
    "20260101", "2026-W01-1", "2026-001", "2026-01-01T00:00", "２０２６-01-01", "2026-1-01",
    "0000-01-01",
])
def test_what_is_not_a_real_date_is_refused(session, typed):
    assert problem(session, field("date"), typed) == (
        "Enter a real date as YYYY-MM-DD, for example 2026-03-01."
    )


# --- select and multi-select --------------------------------------------------------------


def test_a_select_takes_one_of_its_options(session):
    spec = field("select", options=["Oak", "White"])
    assert answer(session, spec, "White") == "White"
    assert problem(session, spec, "Black") == "Choose one of the options listed."
    assert problem(session, spec, "white") == "Choose one of the options listed."


def test_a_multi_select_keeps_the_forms_order_and_drops_repeats(session):
    spec = field("multi_select", options=["VPN", "CRM", "Wiki", "Payroll"])
    assert answer(session, spec, ["Wiki", "VPN", "Wiki", ""]) == ["VPN", "Wiki"]
    assert answer(session, spec, ["Payroll"]) == ["Payroll"]


def test_a_multi_select_refuses_an_option_it_does_not_have(session):
    spec = field("multi_select", options=["VPN", "CRM"])
    assert problem(session, spec, ["VPN", "Mainframe"]) == "Choose only from the options listed."


def test_a_multi_select_with_nothing_chosen_is_left_out(session):
    assert answer(session, field("multi_select", options=["VPN"]), []) is None
    assert answer(session, field("multi_select", options=["VPN"]), ["", " "]) is None


# --- checkbox -----------------------------------------------------------------------------


def test_a_ticked_checkbox_is_true(session):
    # What the browser sends for the value="on" that templates/_macros.html renders.
    assert answer(session, field("checkbox"), "on") is True


def test_an_unticked_checkbox_is_false(session):
    assert submit(session, form(field("checkbox")), {}).answers == {"answer": False}


@pytest.mark.parametrize("typed", ["true", "1", "yes", "ON", " on", "off", "no", "x" * 100])
def test_a_checkbox_value_other_than_the_browsers_is_refused(session, typed):
    assert problem(session, field("checkbox"), typed) == "Tick the box or leave it empty."


def test_an_unticked_required_checkbox_asks_to_be_ticked(session):
    spec = field("checkbox", required=True)
    assert problems(session, form(spec), {}) == {"answer": "Tick this box to go on."}
    assert answer(session, spec, "on") is True


# --- one value per field ------------------------------------------------------------------


@pytest.mark.parametrize("spec, value", [
    (field("text"), "Desk"), (field("long_text"), "Desk"), (field("number"), "12"),
    (field("date"), "2026-03-01"), (field("select", options=["Oak"]), "Oak"),
    (field("checkbox"), "on"), (field("email"), "ann@example.com"),
    (field("person"), "ann@example.com"),
])
def test_a_single_value_field_posted_twice_is_refused(session, spec, value):
    assert problem(session, spec, [value, value]) == "Give one answer here, not 2."


# --- e-mail -------------------------------------------------------------------------------


def test_an_email_address_is_kept_as_typed(session):
    assert answer(session, field("email"), " Ann.Lee@Example.com ") == "Ann.Lee@Example.com"


@pytest.mark.parametrize("typed", ["ann", "ann@example", "ann lee@example.com", "@example.com",
                                   "a@" + "b" * 250 + ".com"])
def test_what_is_not_an_email_address_is_refused(session, typed):
    assert problem(session, field("email"), typed) == (
        "Enter an e-mail address like name@example.com."
    )


# --- person -------------------------------------------------------------------------------


def test_a_person_is_found_by_their_email_address(session, make: Factory):
    ann = make.user("Ann Lee")
    expected = {"id": ann.id, "name": "Ann Lee", "email": ann.email}
    assert answer(session, field("person"), ann.email) == expected
    assert answer(session, field("person"), f"  {ann.email.upper()} ") == expected


def test_a_person_is_found_by_what_the_picker_shows(session, make: Factory):
    ann = make.user("Ann Lee")
    make.user("Ann Lee")  # a namesake: the address decides
    assert answer(session, field("person"), f"Ann Lee <{ann.email}>") == {
        "id": ann.id, "name": "Ann Lee", "email": ann.email,
    }


def test_an_inactive_or_unknown_person_is_refused(session, make: Factory):
    gone = make.user("Gone Person", active=False)
    assert "No active person of Baton matches" in problem(session, field("person"), gone.email)
    assert "No active person" in problem(session, field("person"), f"Gone Person <{gone.email}>")
    assert "No active person" in problem(session, field("person"), "Gone Person")
    assert "No active person" in problem(session, field("person"), "nobody@example.com")
    assert "No active person" in problem(session, field("person"), "Ann Lee")


def test_part_of_a_name_names_the_people_to_pick_from_on_the_web_form(session, make: Factory):
    """The form's picker suggested them; typed and not picked, the answer says whom it
    could mean, not that nobody matches."""
    iris = make.user("Iris Ito")
    assert problem(session, field("person"), "Iris", names_people=True) == (
        f"Pick the person from the suggestions: Iris Ito <{iris.email}>.")
    for n in range(4):
        make.user(f"Irene {n}")
    many = problem(session, field("person"), "ir", names_people=True)
    assert many.count("<") == 3 and many.endswith("or someone else (type more of the name).")
    make.user("Gone Irma", active=False)
    assert "Irma" not in problem(session, field("person"), "Irma", names_people=True)


def test_without_the_picker_part_of_a_name_names_nobody(session, make: Factory):
    """The API has no search of people: its answer never names anyone."""
    make.user("Iris Ito")
    assert problem(session, field("person"), "Iris").startswith(
        "No active person of Baton matches")


def test_a_typed_full_name_is_accepted_when_exactly_one_person_has_it(session, make: Factory):
    ivan = make.user("Ivan Ivanov")
    assert answer(session, field("person"), "  ivan   ivanov ") == {
        "id": ivan.id, "name": "Ivan Ivanov", "email": ivan.email,
    }
    make.user("Ivan Ivanov")
    assert problem(session, field("person"), "Ivan Ivanov") == (
        "Several people have that name: pick one from the list."
    )


# --- files --------------------------------------------------------------------------------


def test_accepted_files_are_answered_by_name_and_kept_to_store(session):
    files = [upload("quote.pdf"), upload("photo.jpg")]
    intake = submit(session, form(field("file")), {}, uploads={"answer": files})
    assert intake.answers == {"answer": ["quote.pdf", "photo.jpg"]}
    assert intake.files == {"answer": files}
    assert intake.files["answer"][0].file.read() == b"x" * 10


def test_an_upload_without_a_name_is_no_file(session):
    intake = submit(session, form(field("file")), {}, uploads={"answer": [upload("")]})
    assert intake.answers == {} and intake.files == {}


def test_a_required_file_field_without_files_asks_for_one(session):
    spec = field("file", required=True)
    assert problems(session, form(spec), {}) == {"answer": "Attach at least one file."}
    assert problems(session, form(spec), {}, uploads={"answer": [upload("")]}) == {
        "answer": "Attach at least one file."
    }


def test_more_files_than_max_files_are_refused(session):
    two = form(field("file", max_files=2))
    assert submit(session, two, {}, uploads={"answer": [upload("a"), upload("b")]}).answers
    assert problems(session, two, {}, uploads={"answer": [upload(n) for n in "abc"]}) == {
        "answer": "Attach at most 2 files."
    }
    one = form(field("file", max_files=1))
    assert problems(session, one, {}, uploads={"answer": [upload("a"), upload("b")]}) == {
        "answer": "Attach at most 1 file."
    }


def test_without_max_files_five_files_are_allowed(session):
    definition = form(field("file"))
    assert submit(session, definition, {}, uploads={"answer": [upload(n) for n in "abcde"]})
    assert problems(session, definition, {}, uploads={"answer": [upload(n) for n in "abcdef"]})


def test_a_file_over_the_fields_size_limit_is_refused_by_name(session):
    definition = form(field("file", max_size_mb=1))
    assert submit(session, definition, {}, uploads={"answer": [upload("ok.pdf", MB)]})
    errors = problems(session, definition, {},
                      uploads={"answer": [upload("ok.pdf", 10), upload("big.pdf", MB + MB // 2)]})
    assert errors == {"answer": "“big.pdf” is 1.5 MB; the limit is 1 MB per file."}


def test_the_sites_upload_limit_caps_a_fields_own_limit(session):
    definition = form(field("file", max_size_mb=50))
    errors = problems(session, definition, {}, uploads={"answer": [upload("big.zip", 3 * MB)]},
                      max_upload_mb=2)
    assert errors == {"answer": "“big.zip” is 3.0 MB; the limit is 2 MB per file."}


# --- the whole form -----------------------------------------------------------------------


def test_every_problem_is_reported_at_once_keyed_by_field(session):
    definition = form(
        field("text", key="summary", required=True),
        field("number", key="amount", max=10),
        field("date", key="needed_by"),
        field("select", key="colour", options=["Oak"]),
        field("email", key="contact"),
        field("text", key="note"),
    )
    errors = problems(session, definition, {
        "amount": "11", "needed_by": "soon", "colour": "Pink", "contact": "x", "note": "fine",
    })
    assert errors == {
        "summary": "This answer is required.",
        "amount": "Enter 10 or less.",
        "needed_by": "Enter a real date as YYYY-MM-DD, for example 2026-03-01.",
        "colour": "Choose one of the options listed.",
        "contact": "Enter an e-mail address like name@example.com.",
    }


def test_answers_to_keys_the_form_does_not_have_are_ignored(session):
    intake = submit(session, form(field("text")), {"answer": "Hi", "is_admin": "on"})
    assert intake.answers == {"answer": "Hi"}


def test_a_good_form_gives_every_clean_answer(session, make: Factory):
    ann = make.user("Ann Lee")
    definition = form(
        field("text", key="summary", required=True),
        field("number", key="amount", integer=True),
        field("multi_select", key="systems", options=["VPN", "CRM"]),
        field("checkbox", key="agree", required=True),
        field("person", key="for_whom"),
        field("date", key="needed_by"),
    )
    intake = submit(session, definition, {
        "summary": " Laptop ", "amount": "2 000", "systems": ["CRM", "VPN"], "agree": "on",
        "for_whom": ann.email, "needed_by": "2026-03-01",
    })
    assert intake.answers == {
        "summary": "Laptop", "amount": 2000, "systems": ["VPN", "CRM"], "agree": True,
        "for_whom": {"id": ann.id, "name": "Ann Lee", "email": ann.email},
        "needed_by": "2026-03-01",
    }


# --- titles -------------------------------------------------------------------------------


def test_the_title_adds_the_first_short_text_answer_to_the_service_name():
    definition = form(field("long_text", key="details"), field("text", key="summary"),
                      field("text", key="other"))
    assert request_title(definition, {"details": "Long", "summary": "Tom", "other": "x"}) == (
        "Form: Tom"
    )
    assert request_title(definition, {"details": "Long", "other": "x"}) == "Form: x"


def test_without_a_text_answer_the_title_is_the_service_name():
    definition = form(field("long_text", key="details"), field("number", key="amount"))
    assert request_title(definition, {"details": "Long", "amount": 3}) == "Form"


def test_a_title_is_cut_at_300_characters():
    definition = form(field("text", key="summary"))
    assert len(request_title(definition, {"summary": "x" * 400})) == 300
