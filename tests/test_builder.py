"""The service builder's rules: the form and the definition, both ways; adding, removing
and moving rows; where each problem shows; what changed between two versions; saving."""

import tomllib
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from app.format.definitions import (
    LIMITS,
    LIMITS_BY_TYPE,
    DefinitionError,
    FieldDefinition,
    parse_service,
    texts_reflowed,
)
from app.reads.versions import (
    diff_definitions,
    shown_value,
)
from app.rules.builder import (
    ServiceChanged,
    check_definition,
    errors_at,
    place_errors,
    publish_service,
)
from app.rules.builder_form import (
    FIELD_INPUTS,
    BuilderForm,
    apply_action,
    blank_field,
    blank_step,
    definition_data,
    empty_form,
    field_data,
    form_of,
    preview_fields,
    read_form,
)
from app.rules.catalog import CatalogFileError, current_version, definition_of, import_catalog
from app.rules.catalog_files import (
    export_zip,
    import_upload,
    unpack_upload,
)
from app.storage.models import AdminEvent, Service, ServiceVersion
from tests.factories import Factory

SERVICES = Path(__file__).resolve().parent.parent / "services"


def posted(form: BuilderForm) -> list[tuple[str, str]]:
    """What a browser posts for a form the builder rendered: unticked boxes are absent,
    and textareas send CRLF line breaks."""
    items = list(form.service.items())
    for section in ("fields", "steps"):
        for index, row in enumerate(getattr(form, section)):
            for name, value in row.items():
                if name in ("required", "integer") and not value:
                    continue
                items.append((f"{section}.{index}.{name}", value.replace("\n", "\r\n")))
    return items


def purchase_data(**service: Any) -> dict[str, Any]:
    return {
        "slug": "purchase", "name": "Purchase", "category": "Purchasing",
        "description": "Buy things.\n\nWith approvals.", "ordering": "enforced",
        "active": True,
        "fields": [
            {"key": "summary", "label": "What?", "type": "text", "help": "", "required": True,
             "max_length": 120},
            {"key": "amount", "label": "Amount", "type": "number", "help": "EUR",
             "required": True, "min": 1.0, "integer": True},
        ],
        "steps": [
            {"name": "Department head approval", "team": "approvers", "kind": "approval",
             "instructions": "", "condition": "amount > 1000"},
            {"name": "CFO approval", "team": "finance", "kind": "approval",
             "instructions": "", "condition": "amount > 25000", "target_business_days": 2},
            {"name": "Place order", "team": "finance", "kind": "task",
             "instructions": "Raise the PO.", "target_hours": 4.0},
        ],
        **service,
    }


# --- the form and the definition ---------------------------------------------------------


@pytest.mark.parametrize("path", sorted(p for p in SERVICES.glob("*.toml")
                                        if p.name != "teams.toml"), ids=lambda p: p.stem)
def test_every_example_service_goes_through_the_form_unchanged(path: Path):
    """Unchanged but for its texts, which the builder shows reflowed (issue 16): each
    paragraph one line, as pages show them."""
    definition = parse_service(tomllib.loads(path.read_text()))
    form = read_form(posted(form_of(definition)))
    assert parse_service(definition_data(form)).to_data() == texts_reflowed(
        definition.to_data())


def test_the_builder_shows_a_files_wrapped_paragraphs_as_one_line_each():
    definition = parse_service(purchase_data(
        description="Buy things for\nthe office.\n\nWith  approvals\nabove 1000.\n"))
    assert form_of(definition).service["description"] == (
        "Buy things for the office.\n\nWith approvals above 1000.")


def test_a_form_becomes_the_definition_it_describes():
    form = read_form([
        ("name", "Purchase"), ("slug", ""), ("category", " Purchasing "),
        ("description", "Buy things.\r\n\r\nWith approvals."), ("ordering", "enforced"),
        ("active", "true"),
        ("fields.0.label", "What?"), ("fields.0.key", "summary"), ("fields.0.type", "text"),
        ("fields.0.help", ""), ("fields.0.required", "on"), ("fields.0.max_length", "120"),
        ("fields.1.label", "Amount"), ("fields.1.key", "amount"), ("fields.1.type", "number"),
        ("fields.1.help", "EUR"), ("fields.1.required", "on"), ("fields.1.min", "1"),
        ("fields.1.integer", "on"),
        ("steps.0.name", "Department head approval"), ("steps.0.team", "approvers"),
        ("steps.0.kind", "approval"), ("steps.0.condition", "amount > 1000"),
        ("steps.1.name", "CFO approval"), ("steps.1.team", "finance"),
        ("steps.1.kind", "approval"), ("steps.1.condition", "amount > 25000"),
        ("steps.1.target", "2"), ("steps.1.target_unit", "business_days"),
        ("steps.2.name", "Place order"), ("steps.2.team", "finance"), ("steps.2.kind", "task"),
        ("steps.2.instructions", "Raise the PO."), ("steps.2.target", "4"),
        ("steps.2.target_unit", "hours"),
    ])
    data = definition_data(form)
    assert data == purchase_data()
    assert parse_service(data).to_data() == parse_service(purchase_data()).to_data()


def test_rows_come_in_the_order_of_their_numbers_and_unknown_names_are_ignored():
    form = read_form([
        ("steps.10.name", "Third"), ("steps.2.name", "Second"), ("steps.0.name", "First"),
        ("fields.0.evil", "x"), ("other", "y"), ("fields.0.key", "a"), ("csrf_token", "t"),
    ])
    assert [row["name"] for row in form.steps] == ["First", "Second", "Third"]
    assert "evil" not in form.fields[0] and form.fields[0]["key"] == "a"


def test_only_the_limits_of_the_chosen_type_go_into_the_definition():
    row = blank_field() | {"key": "colour", "label": "Colour", "type": "select",
                           "options": " Red \n\nBlue\n", "max_length": "10", "min": "3"}
    data = definition_data(BuilderForm(service={}, fields=[row], steps=[]))
    assert data["fields"][0] == {"key": "colour", "label": "Colour", "type": "select",
                                 "help": "", "required": False, "options": ["Red", "Blue"]}


@pytest.mark.parametrize("kind", sorted(LIMITS_BY_TYPE))
def test_a_row_with_every_limit_filled_gives_the_limits_the_format_takes_for_its_type(kind):
    row = blank_field() | {
        "key": "a", "label": "A", "type": kind, "options": "x\ny", "min": "1", "max": "2",
        "integer": "on", "min_length": "1", "max_length": "2", "placeholder": "p",
        "max_files": "2", "max_size_mb": "1",
    }
    data = field_data(row)
    assert [name for name in data if name in LIMITS] == list(LIMITS_BY_TYPE[kind])
    assert FieldDefinition.model_validate(data).type == kind


def test_an_empty_key_is_made_from_the_label_and_an_empty_slug_from_the_name():
    row = blank_field() | {"label": "Total amount (EUR)", "type": "number"}
    form = BuilderForm(service={"name": "Buy a Thing!"}, fields=[row], steps=[])
    data = definition_data(form)
    assert data["slug"] == "buy-a-thing"
    assert data["fields"][0]["key"] == "total_amount_eur"


def test_a_limit_set_to_false_in_a_file_survives_the_form():
    definition = parse_service(purchase_data(
        fields=[{"key": "n", "label": "N", "type": "number", "integer": False,
                 "placeholder": ""}],
        steps=[{"name": "Order", "team": "finance"}],
    ))
    form = read_form(posted(form_of(definition)))
    assert parse_service(definition_data(form)).to_data() == definition.to_data()


def test_what_is_not_a_number_is_left_for_validation_to_name():
    row = blank_field() | {"key": "n", "label": "N", "type": "number", "min": "ten",
                           "max": "inf"}
    step = blank_step() | {"name": "S", "team": "it", "target": "1.5",
                           "target_unit": "business_days", "stage": "2"}
    data = definition_data(BuilderForm(service={}, fields=[row], steps=[step]))
    assert data["fields"][0]["min"] == "ten" and data["fields"][0]["max"] == "inf"
    assert data["steps"][0]["target_business_days"] == "1.5"
    assert data["steps"][0]["stage"] == 2


def test_a_new_form_has_one_empty_step_and_no_fields():
    form = empty_form()
    assert form.fields == [] and len(form.steps) == 1
    assert form.service["ordering"] == "enforced" and form.service["active"] == "true"


def test_the_slug_of_a_service_that_exists_cannot_be_changed_by_the_form():
    form = read_form([("slug", "other"), ("name", "X")], slug="laptop")
    assert form.service["slug"] == "laptop"


def test_control_characters_are_dropped_from_what_was_typed():
    form = read_form([("name", "Bad\x00name"), ("fields.0.label", "A\x07b")])
    assert form.service["name"] == "Badname" and form.fields[0]["label"] == "Ab"


# --- add, remove, reorder ----------------------------------------------------------------


def rows_form(*keys: str, steps: tuple[str, ...] = ("S1",)) -> BuilderForm:
    return BuilderForm(
        service={}, fields=[blank_field() | {"key": key, "label": key.upper()} for key in keys],
        steps=[blank_step() | {"name": name} for name in steps],
    )


def keys(form: BuilderForm) -> list[str]:
    return [row["key"] for row in form.fields]


def test_adding_a_field_appends_an_empty_row_and_focuses_its_label():
    form, focus = apply_action(rows_form("a"), "add_field")
    assert keys(form) == ["a", ""] and form.fields[1]["type"] == "text"
    assert focus == "b-fields-1-label"


def test_adding_a_step_appends_an_empty_task_step():
    form, focus = apply_action(rows_form(), "add_step")
    assert [row["name"] for row in form.steps] == ["S1", ""]
    assert form.steps[1]["kind"] == "task" and focus == "b-steps-1-name"


def test_removing_a_row_keeps_the_others_as_they_were():
    original = rows_form("a", "b", "c")
    form, focus = apply_action(original, "remove_field:1")
    assert keys(form) == ["a", "c"] and focus == "b-fields-1-label"
    assert keys(original) == ["a", "b", "c"]  # pure: the original is untouched
    form, focus = apply_action(form, "remove_field:1")
    assert keys(form) == ["a"] and focus == "b-add-fields"


def test_moving_rows_up_and_down_keeps_the_keyboard_on_the_moved_row():
    form, focus = apply_action(rows_form("a", "b", "c"), "field_up:2")
    assert keys(form) == ["a", "c", "b"] and focus == "b-fields-1-up"
    form, focus = apply_action(form, "field_up:1")
    assert keys(form) == ["c", "a", "b"] and focus == "b-fields-0-down"
    form, focus = apply_action(form, "field_down:1")
    assert keys(form) == ["c", "b", "a"] and focus == "b-fields-2-up"
    form, _ = apply_action(rows_form(steps=("x", "y")), "step_down:0")
    assert [row["name"] for row in form.steps] == ["y", "x"]


def test_a_dragged_row_moves_to_where_it_was_dropped_and_the_others_close_up():
    form, focus = apply_action(rows_form("a", "b", "c", "d"), "field_to:3:0")
    assert keys(form) == ["d", "a", "b", "c"] and focus == "b-fields-0-row"
    form, focus = apply_action(form, "field_to:0:2")
    assert keys(form) == ["a", "b", "d", "c"] and focus == "b-fields-2-row"
    form, _ = apply_action(rows_form(steps=("x", "y", "z")), "step_to:0:2")
    assert [row["name"] for row in form.steps] == ["y", "z", "x"]


@pytest.mark.parametrize("action", ["field_up:0", "field_down:2", "remove_field:3",
                                    "remove_field", "explode", "field_up:x", "refresh",
                                    "field_to:1:1", "field_to:3:0", "field_to:0:3",
                                    "field_to:1", "field_up:1:0"])
def test_an_impossible_or_unknown_action_changes_nothing(action: str):
    original = rows_form("a", "b", "c")
    form, focus = apply_action(original, action)
    assert form == original and focus is None


# --- where problems show -----------------------------------------------------------------


def problems_of(data: dict[str, Any], **kwargs: Any) -> list[str]:
    with pytest.raises(DefinitionError) as raised:
        check_definition(data, known_teams={"approvers", "finance"}, **kwargs)
    return raised.value.problems


def test_every_problem_is_placed_at_its_input():
    form = form_of(parse_service(purchase_data()))
    form.service["name"] = ""
    form.fields[0] |= {"min_length": "10", "max_length": "5"}
    form.fields.append(blank_field() | {"key": "summary", "type": "select"})
    assert errors_at(place_errors(problems_of(definition_data(form)), form)) == {
        "name": ["Fill this in."],
        "fields.0.min_length": ["'min_length' is greater than 'max_length'"],
        "fields.2.label": ["Fill this in."],
    }
    # Once those are fixed, the next problems show, each at its input.
    form.service["name"] = "Purchase"
    form.fields[0] |= {"min_length": ""}
    form.fields[2] |= {"label": "Again", "options": "A\nA"}
    assert errors_at(place_errors(problems_of(definition_data(form)), form)) == {
        "fields.2.options": ["'options' has the same option twice"],
    }
    form.fields[2] |= {"options": "A\nB"}
    assert errors_at(place_errors(problems_of(definition_data(form)), form)) == {
        "fields.2.key": ["two fields have the key 'summary'"],
    }


def test_cross_problems_and_unknown_teams_are_placed_at_their_rows_inputs():
    steps = purchase_data()["steps"]
    steps[1] = steps[1] | {"team": "nobody", "condition": "amount > \"x\""}
    steps[2] = steps[2] | {"name": "Department head approval"}
    data = purchase_data(steps=steps)
    form = form_of(parse_service(purchase_data()))
    errors = errors_at(place_errors(problems_of(data), form))
    assert errors == {
        "steps.1.condition": ["'amount' is a number field: compare it with a number, "
                              "e.g. amount > 5000"],
        "steps.2.name": ["two steps are named 'Department head approval'"],
        "steps.1.team": ["unknown team 'nobody'"],
    }


def test_problems_between_rows_show_with_the_rows_own_problems():
    steps = purchase_data()["steps"]
    steps[0] = steps[0] | {"target_hours": "soon", "condition": "amout > 1"}
    del steps[0]["team"]
    steps[1] = steps[1] | {"name": "Place order", "stage": 0}
    problems = problems_of(purchase_data(steps=steps))
    assert problems == [
        "steps.0.team: Field required",
        "steps.0.target_hours: Input should be a valid number, unable to parse string as "
        "a number",
        "steps.1.stage: Input should be greater than or equal to 1",
        "steps.0.condition: there is no field 'amout' to test here (fields: amount, summary)",
        "steps.2.name: two steps are named 'Place order'",
    ]


def test_problems_between_rows_wait_for_the_fields_to_be_valid():
    data = purchase_data()
    data["fields"][1]["type"] = "amount"  # not a type: conditions on it cannot be checked
    assert problems_of(data) == [
        "fields.1.type: Input should be 'text', 'long_text', 'number', 'date', 'select', "
        "'multi_select', 'checkbox', 'email', 'person' or 'file'"]


def test_both_targets_point_at_the_target_input_and_an_empty_service_at_its_steps():
    form = form_of(parse_service(purchase_data()))
    placed = place_errors([
        "steps.0.target_hours: give either 'target_hours' or 'target_business_days', not both",
        "steps.1.target_business_days: Input should be a valid integer, unable to parse "
        "string as an integer",
        "steps: List should have at least 1 item after validation, not 0",
    ], form)
    assert [(error.at, error.anchor) for error in placed] == [
        ("steps.0.target", "b-steps-0-target"), ("steps.1.target", "b-steps-1-target"),
        ("steps", "b-steps"),
    ]
    assert placed[1].message == "Enter a whole number, for example 3."
    assert placed[2].message == "Add at least one step: a service needs something to do."
    assert placed[0].where == "Step 1 “Department head approval”: Target"


def test_a_problem_about_an_input_the_row_does_not_show_goes_on_top_of_the_row():
    form = form_of(parse_service(purchase_data()))
    placed = place_errors([
        "fields.0.options: 'options' does not apply to a text field",
        "fields.1: something about the whole field",
        "fields.9.key: a row that is not there",
        "fields.1.options.2: String should have at most 120 characters",
        "not valid TOML: somewhere",
        "slug: there is already a service 'purchase'",
    ], form)
    assert [(error.at, error.message) for error in placed] == [
        ("fields.0", "options: 'options' does not apply to a text field"),
        ("fields.1", "something about the whole field"),
        ("fields", "a row that is not there"),
        ("fields.1", "options: Option 3: String should have at most 120 characters"),
        ("", "not valid TOML: somewhere"),
        ("slug", "there is already a service 'purchase'"),
    ]


def test_a_choice_left_empty_asks_to_choose():
    form = form_of(parse_service(purchase_data()))
    placed = place_errors(["steps.0.team: Field required", "fields.0.type: Field required",
                           "fields.0.label: Field required"], form)
    assert [error.message for error in placed] == ["Choose one.", "Choose one.",
                                                   "Fill this in."]


def test_a_new_service_may_not_take_a_slug_that_is_taken_or_reserved():
    assert problems_of(purchase_data(), slug_taken=True) == [
        "slug: there is already a service 'purchase'"]
    assert problems_of(purchase_data(slug="new"))[0].startswith("slug: 'new' is a word")


def test_the_preview_draws_rows_that_do_not_validate_yet():
    form = BuilderForm(service={}, steps=[], fields=[
        blank_field() | {"label": "Amount", "type": "number", "min": "x", "max": "10"},
        blank_field() | {"type": "select", "key": "BAD KEY"},
        blank_field() | {"label": "Size", "key": "size", "type": "text", "max_length": "5",
                         "show_if": "amount > 3"},
    ])
    amount, choice, size = preview_fields(form)
    assert (amount.key, amount.type, amount.min, amount.max) == ("amount", "number", None, 10)
    assert (choice.key, choice.label, choice.options) == ("field_2", "(no label yet)", [])
    assert (size.max_length, size.show_if) == (5, "amount > 3")


# --- what changed ------------------------------------------------------------------------


def test_two_identical_definitions_have_no_differences():
    assert diff_definitions(purchase_data(), purchase_data()).is_empty


def test_the_diff_names_service_attributes_and_fields_added_removed_and_changed():
    old = purchase_data()
    new = purchase_data(name="Buy", active=False, fields=[
        old["fields"][1] | {"min": 10.0, "integer": None},
        {"key": "vendor", "label": "Vendor", "type": "text"},
    ])
    del new["fields"][0]["integer"]
    diff = diff_definitions(old, new)
    assert [(c.attribute, c.old, c.new) for c in diff.service] == [
        ("name", "Purchase", "Buy"), ("active", True, False)]
    assert [f["key"] for f in diff.fields.added] == ["vendor"]
    assert [f["key"] for f in diff.fields.removed] == ["summary"]
    [amount] = diff.fields.changed
    assert (amount.name, amount.title) == ("amount", "Amount")
    assert [(c.attribute, c.old, c.new) for c in amount.changes] == [
        ("min", 1.0, 10.0), ("integer", True, None)]
    assert diff.fields.order is None and not diff.steps


def test_the_diff_sees_steps_reordered_renamed_and_changed():
    old = purchase_data()
    first, second, third = old["steps"]
    new = purchase_data(steps=[second, first | {"condition": "amount > 2000"},
                               third | {"name": "Order it"}])
    diff = diff_definitions(old, new)
    assert [(i.name, [(c.attribute, c.old, c.new) for c in i.changes])
            for i in diff.steps.changed] == [
        ("Department head approval", [("condition", "amount > 1000", "amount > 2000")]),
        ("Order it", [("name", "Place order", "Order it")]),
    ]
    assert diff.steps.order == (
        ["Department head approval", "CFO approval", "Order it"],
        ["CFO approval", "Department head approval", "Order it"],
    )
    assert not diff.steps.added and not diff.steps.removed


def test_a_step_replaced_by_another_elsewhere_is_removed_and_added():
    old = purchase_data()
    new = purchase_data(steps=[*old["steps"][:2], old["steps"][2] | {"name": "Pay"},
                               {"name": "Archive", "team": "finance", "kind": "task",
                                "instructions": ""}])
    new["steps"] = [new["steps"][0], new["steps"][3], new["steps"][1], new["steps"][2]]
    diff = diff_definitions(old, new)
    assert [s["name"] for s in diff.steps.added] == ["Archive", "Pay"]
    assert [s["name"] for s in diff.steps.removed] == ["Place order"]


@pytest.mark.parametrize(("value", "shown"), [
    (None, "not set"), (True, "yes"), (False, "no"), (2.0, "2"), (2.5, "2.5"),
    (["A", "B"], "A, B"), ("", "empty"), ("text", "text"), (3, "3"),
])
def test_values_are_shown_plainly(value: Any, shown: str):
    assert shown_value(value) == shown


# --- saving and files --------------------------------------------------------------------


@pytest.fixture
def teams(make: Factory) -> None:
    make.team("approvers")
    make.team("finance")


def test_publishing_creates_the_service_and_audits_it(session, make: Factory, teams):
    admin = make.user("Ada Admin", admin=True)
    service, version = publish_service(session, definition=parse_service(purchase_data()),
                                       by=admin, creating=True)
    assert version is not None and version.number == 1 and version.created_by_id == admin.id
    [entry] = session.exec(select(AdminEvent)).all()
    assert (entry.action, entry.subject, entry.detail, entry.actor_id) == (
        "service.created", "Purchase (purchase)", "Version 1.", admin.id)


def test_publishing_a_change_makes_a_new_version_and_the_same_one_nothing(
    session, make: Factory, teams
):
    admin = make.user(admin=True)
    publish_service(session, definition=parse_service(purchase_data()), by=admin)
    _, same = publish_service(session, definition=parse_service(purchase_data()), by=admin,
                              base_version=1)
    assert same is None
    _, changed = publish_service(session, definition=parse_service(purchase_data(name="Buy")),
                                 by=admin, base_version=1)
    assert changed is not None and changed.number == 2
    actions = [e.action for e in session.exec(select(AdminEvent).order_by(AdminEvent.id))]
    assert actions == ["service.created", "service.versioned"]


def test_publishing_over_a_newer_version_or_a_taken_slug_saves_nothing(
    session, make: Factory, teams
):
    admin = make.user(admin=True)
    publish_service(session, definition=parse_service(purchase_data()), by=admin)
    publish_service(session, definition=parse_service(purchase_data(name="B")), by=admin)
    with pytest.raises(ServiceChanged) as raised:
        publish_service(session, definition=parse_service(purchase_data(name="C")), by=admin,
                        base_version=1)
    assert raised.value.number == 2
    with pytest.raises(DefinitionError):
        publish_service(session, definition=parse_service(purchase_data(name="D")), by=admin,
                        creating=True)
    assert len(session.exec(select(ServiceVersion)).all()) == 2
    assert len(session.exec(select(AdminEvent)).all()) == 2


def test_an_unknown_team_saves_nothing_and_writes_nothing(session, make: Factory):
    admin = make.user(admin=True)
    make.team("approvers")
    with pytest.raises(DefinitionError) as raised:
        publish_service(session, definition=parse_service(purchase_data()), by=admin)
    assert raised.value.problems == ["steps.1.team: unknown team 'finance'",
                                     "steps.2.team: unknown team 'finance'"]
    assert session.exec(select(Service)).all() == []
    assert session.exec(select(AdminEvent)).all() == []


def test_an_exported_zip_imports_back_unchanged(session, make: Factory):
    admin = make.user(admin=True)
    import_catalog(session, SERVICES)
    versions = len(session.exec(select(ServiceVersion)).all())
    archive = export_zip(session)
    names = zipfile.ZipFile(BytesIO(archive)).namelist()
    assert "teams.toml" in names and "purchase-request.toml" in names
    report = import_upload(session, filename="catalog.zip", content=archive, by=admin)
    assert report.services_created == report.services_versioned == []
    assert len(report.services_unchanged) == len(names) - 1
    assert len(session.exec(select(ServiceVersion)).all()) == versions


def test_an_upload_with_problems_names_its_files_and_imports_nothing(session, make: Factory):
    admin = make.user(admin=True)
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("services/ok.toml", (SERVICES / "laptop-request.toml").read_text()
                         .replace('slug = "laptop-request"', 'slug = "ok"'))
        archive.writestr("services/teams.toml", (SERVICES / "teams.toml").read_text())
        archive.writestr("services/bad.toml", 'slug = "bad"\nname = "Bad"\n')
    with pytest.raises(CatalogFileError) as raised:
        import_upload(session, filename="my catalog.zip", content=buffer.getvalue(), by=admin)
    assert raised.value.problems == ["bad.toml: category: Field required",
                                     "bad.toml: steps: Field required"]
    assert session.exec(select(Service)).all() == []


def test_a_single_service_file_is_checked_against_its_name(session, make: Factory):
    admin = make.user(admin=True)
    make.team("it")
    text = (SERVICES / "software-install.toml").read_text()
    with pytest.raises(CatalogFileError) as raised:
        import_upload(session, filename="software-install (1).toml", content=text.encode(),
                      by=admin)
    assert raised.value.problems == [
        "software-install (1).toml: slug: 'software-install' does not match the file name"]


@pytest.mark.parametrize(("filename", "content", "problem"), [
    ("notes.txt", b"hello", "notes.txt: upload a service file (.toml) or a .zip"),
    ("x.zip", b"not a zip", "x.zip: not a .zip file that can be read"),
])
def test_an_upload_that_is_no_catalog_file_is_refused(tmp_path, filename, content, problem):
    with pytest.raises(CatalogFileError) as raised:
        unpack_upload(filename, content, tmp_path)
    assert raised.value.problems[0].startswith(problem)


def test_a_zip_with_service_files_in_several_folders_is_refused(tmp_path):
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a/one.toml", "")
        archive.writestr("b/two.toml", "")
    with pytest.raises(CatalogFileError):
        unpack_upload("two.zip", buffer.getvalue(), tmp_path)


def test_a_zip_cannot_write_outside_its_folder(tmp_path):
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../evil.toml", "x = 1")
    folder = unpack_upload("evil.zip", buffer.getvalue(), tmp_path)
    assert [p.name for p in folder.iterdir()] == ["evil.toml"]
    assert not (tmp_path.parent / "evil.toml").exists()


def test_the_current_version_opens_in_the_builder_as_it_was_saved(session, make: Factory):
    import_catalog(session, SERVICES)
    from app.rules.catalog import get_service_by_slug

    service = get_service_by_slug(session, "onboard-new-hire")
    assert service is not None
    definition = definition_of(current_version(session, service))
    form = form_of(definition)
    assert [row["key"] for row in form.fields][:2] == [f.key for f in definition.fields][:2]
    assert any(row["target_unit"] == "business_days" for row in form.steps)
    assert FIELD_INPUTS[-1] == "explicit"


@pytest.mark.parametrize("filename", ["..", ".", "catalog", "notes.txt", "../../x"])
def test_an_upload_that_is_not_a_toml_or_zip_file_is_refused_before_anything_is_written(
    filename, tmp_path
):
    with pytest.raises(CatalogFileError):
        unpack_upload(filename, b"slug = 'x'", tmp_path)
    assert list(tmp_path.iterdir()) == []
