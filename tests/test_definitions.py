"""The service definition format: what parses, and how every problem names its key."""

from typing import Any

import pytest

from app.format.definitions import DefinitionError, ServiceDefinition, parse_service, parse_teams


def definition(**overrides: Any) -> dict[str, Any]:
    """A small valid definition as a file would hold it, with some keys replaced."""
    data: dict[str, Any] = {
        "slug": "new-desk",
        "name": "New desk",
        "category": "Facilities",
        "description": "A desk for a new starter.",
        "ordering": "enforced",
        "fields": [
            {"key": "summary", "label": "Summary", "type": "text", "required": True,
             "min_length": 3, "max_length": 80},
            {"key": "height", "label": "Height (cm)", "type": "number", "min": 60,
             "max": 130, "integer": True},
            {"key": "colour", "label": "Colour", "type": "select",
             "options": ["Oak", "White"]},
        ],
        "steps": [
            {"name": "Approve", "team": "approvers", "kind": "approval"},
            {"name": "Deliver", "team": "facilities", "instructions": "Bring it up."},
        ],
    }
    data.update(overrides)
    return data


def field(**values: Any) -> dict[str, Any]:
    return {"key": "answer", "label": "Answer", **values}


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(DefinitionError) as raised:
        parse_service(data)
    assert str(raised.value) == "; ".join(raised.value.problems)
    return raised.value.problems


def test_a_valid_definition_parses_with_its_defaults():
    parsed = parse_service(definition())
    assert parsed.slug == "new-desk"
    assert [f.key for f in parsed.fields] == ["summary", "height", "colour"]
    assert parsed.fields[1].is_integer
    assert [(s.name, s.team, s.kind) for s in parsed.steps] == [
        ("Approve", "approvers", "approval"), ("Deliver", "facilities", "task"),
    ]
    assert parsed.active is True


def test_every_field_type_parses_with_the_limits_that_fit_it():
    fields = [
        field(key="a", type="text", min_length=1, max_length=10, placeholder="x"),
        field(key="b", type="long_text", max_length=2000),
        field(key="c", type="number", min=0, max=5.5, integer=False),
        field(key="d", type="date"),
        field(key="e", type="select", options=["x"]),
        field(key="f", type="multi_select", options=["x", "y"]),
        field(key="g", type="checkbox"),
        field(key="h", type="email", placeholder="name@example.com"),
        field(key="i", type="person"),
        field(key="j", type="file", max_files=3, max_size_mb=2.5),
    ]
    parsed = parse_service(definition(fields=fields))
    assert [f.type for f in parsed.fields] == [
        "text", "long_text", "number", "date", "select", "multi_select",
        "checkbox", "email", "person", "file",
    ]


def test_a_service_needs_no_fields():
    assert parse_service(definition(fields=[])).fields == []


def test_flexible_ordering_puts_every_step_in_one_stage():
    enforced = parse_service(definition())
    flexible = parse_service(definition(ordering="flexible"))
    assert enforced.stages() == [1, 2]
    assert flexible.stages() == [1, 1]


def test_an_unknown_field_type_names_the_fields_type():
    [problem] = problems_of(definition(fields=[field(type="colour")]))
    assert problem.startswith("fields.0.type: ")
    assert "'text'" in problem and "'file'" in problem


@pytest.mark.parametrize("kind", ["select", "multi_select"])
def test_a_choice_field_without_options_names_its_options(kind):
    assert problems_of(definition(fields=[field(type=kind)])) == [
        f"fields.0.options: a {kind} field needs a non-empty 'options' list"
    ]
    assert problems_of(definition(fields=[field(type=kind, options=[])])) == [
        f"fields.0.options: a {kind} field needs a non-empty 'options' list"
    ]


def test_the_same_option_twice_names_the_options():
    fields = [field(key="first", type="text"), field(type="select", options=["A", "B", "A"])]
    assert problems_of(definition(fields=fields)) == [
        "fields.1.options: 'options' has the same option twice"
    ]


def test_an_empty_option_names_the_option():
    [problem] = problems_of(definition(fields=[field(type="select", options=["A", ""])]))
    assert problem.startswith("fields.0.options.1: ")


@pytest.mark.parametrize(
    ("kind", "limit", "value"),
    [
        ("number", "max_length", 3),
        ("text", "min", 1),
        ("text", "options", ["a"]),
        ("date", "placeholder", "today"),
        ("checkbox", "integer", True),
        ("email", "max_files", 2),
        ("select", "max_size_mb", 1),
    ],
)
def test_a_limit_that_does_not_apply_to_the_type_names_the_limit(kind, limit, value):
    extra = {"options": ["a", "b"]} if kind == "select" else {}
    assert problems_of(definition(fields=[field(type=kind, **{limit: value}, **extra)])) == [
        f"fields.0.{limit}: '{limit}' does not apply to a {kind} field"
    ]


def test_min_above_max_names_min():
    assert problems_of(definition(fields=[field(type="number", min=10, max=5)])) == [
        "fields.0.min: 'min' is greater than 'max'"
    ]


def test_min_equal_to_max_is_allowed():
    parsed = parse_service(definition(fields=[field(type="number", min=5, max=5)]))
    assert parsed.fields[0].min == parsed.fields[0].max == 5


def test_min_length_above_max_length_names_min_length():
    fields = [field(type="long_text", min_length=20, max_length=10)]
    assert problems_of(definition(fields=fields)) == [
        "fields.0.min_length: 'min_length' is greater than 'max_length'"
    ]


def test_a_negative_min_length_names_it():
    [problem] = problems_of(definition(fields=[field(type="text", min_length=-1)]))
    assert problem.startswith("fields.0.min_length: ")


def test_too_many_files_allowed_names_max_files():
    [problem] = problems_of(definition(fields=[field(type="file", max_files=21)]))
    assert problem.startswith("fields.0.max_files: ")


def test_two_fields_with_one_key_name_the_second_key():
    fields = [
        field(key="summary", type="text"),
        field(key="amount", type="number"),
        field(key="summary", type="long_text"),
    ]
    assert problems_of(definition(fields=fields)) == [
        "fields.2.key: two fields have the key 'summary'"
    ]


def test_two_steps_with_one_name_name_the_second_step():
    steps = [{"name": "Deliver", "team": "it"}, {"name": "Deliver", "team": "hr"}]
    assert problems_of(definition(steps=steps)) == [
        "steps.1.name: two steps are named 'Deliver'"
    ]


def test_a_service_without_steps_names_steps():
    [problem] = problems_of(definition(steps=[]))
    assert problem.startswith("steps: ")
    data = definition()
    del data["steps"]
    assert problems_of(data) == ["steps: Field required"]


@pytest.mark.parametrize("slug", ["New Desk", "-desk", "desk_1", "", "d" * 81])
def test_a_bad_slug_names_slug(slug):
    [problem] = problems_of(definition(slug=slug))
    assert problem.startswith("slug: ")


def test_a_bad_slug_says_what_a_slug_may_hold():
    assert problems_of(definition(slug="New Desk")) == [
        "slug: use lower-case letters, digits and hyphens"
    ]


@pytest.mark.parametrize("key", ["Summary", "1st", "first-answer", "_x", "k" * 61])
def test_a_bad_field_key_names_the_key(key):
    assert problems_of(definition(fields=[field(key=key, type="text")])) == [
        "fields.0.key: use lower-case letters, digits and underscores, starting with a letter"
    ]


def test_a_bad_step_team_names_the_team():
    steps = [{"name": "Deliver", "team": "Facilities"}]
    assert problems_of(definition(steps=steps)) == [
        "steps.0.team: use lower-case letters, digits and hyphens"
    ]


def test_an_unknown_top_level_key_is_an_error_not_ignored():
    assert problems_of(definition(colour="red")) == ["colour: Extra inputs are not permitted"]


def test_an_unknown_key_in_a_field_or_step_names_it():
    problems = problems_of(definition(
        fields=[field(type="text", maxlength=3)],
        steps=[{"name": "Deliver", "team": "it", "due": "2d"}],
    ))
    assert problems == [
        "fields.0.maxlength: Extra inputs are not permitted",
        "steps.0.due: Extra inputs are not permitted",
    ]


def test_a_bad_step_kind_names_the_kind():
    [problem] = problems_of(definition(steps=[{"name": "Check", "team": "it", "kind": "review"}]))
    assert problem == "steps.0.kind: Input should be 'task' or 'approval'"


def test_a_bad_ordering_names_ordering():
    [problem] = problems_of(definition(ordering="any"))
    assert problem.startswith("ordering: ")


def test_every_problem_of_a_definition_is_reported_at_once():
    problems = problems_of(definition(
        slug="Bad Slug", colour="red", steps=[{"name": "x", "team": "it", "kind": "review"}],
        fields=[field(type="colour")],
    ))
    assert sorted(problem.split(":")[0] for problem in problems) == [
        "colour", "fields.0.type", "slug", "steps.0.kind",
    ]


def test_to_data_leaves_out_unset_limits():
    data = parse_service(definition()).to_data()
    summary = data["fields"][0]
    assert "options" not in summary and "min" not in summary
    assert summary["min_length"] == 3


def test_to_data_round_trips_through_parse_service_unchanged():
    original = parse_service(definition(fields=[
        field(key="a", type="text", min_length=1, max_length=10, placeholder="x"),
        field(key="b", type="number", min=0.5, max=5, integer=False, help="Why"),
        field(key="c", type="multi_select", options=["y", "x"], required=True),
        field(key="d", type="file", max_files=3, max_size_mb=2.5),
        field(key="e", type="checkbox"),
    ], active=False, ordering="flexible"))
    data = original.to_data()
    again = parse_service(data)
    assert again == original
    assert again.to_data() == data
    assert data["active"] is False
    assert data["fields"][2]["options"] == ["y", "x"]


def test_strings_are_trimmed_so_a_file_with_stray_spaces_means_the_same():
    padded = parse_service(definition(name="  New desk  ", slug=" new-desk "))
    assert padded.to_data() == parse_service(definition()).to_data()


def test_a_model_validated_definition_equals_a_parsed_one():
    data = definition()
    assert ServiceDefinition.model_validate(data) == parse_service(data)


def test_teams_parse_and_a_bad_team_names_its_index():
    teams = parse_teams({"teams": [{"slug": "it", "name": "IT Support"}]})
    assert [(t.slug, t.name) for t in teams] == [("it", "IT Support")]
    with pytest.raises(DefinitionError) as raised:
        parse_teams({"teams": [{"slug": "it", "name": "IT"}, {"slug": "H R", "name": "HR"}]})
    assert raised.value.problems == ["teams.1.slug: use lower-case letters, digits and hyphens"]


@pytest.mark.parametrize("key", ["csrf_token", "version_id"])
def test_a_field_may_not_take_a_name_the_form_itself_uses(key):
    data = definition()
    data["fields"][0]["key"] = key
    with pytest.raises(DefinitionError) as error:
        parse_service(data)
    assert error.value.problems == [
        f"fields.0.key: '{key}' is reserved by Baton's form; pick another"
    ]


@pytest.mark.parametrize("slug", ["new", "preview", "import", "tasks", "teams"])
def test_a_service_may_not_take_a_word_the_admin_pages_use_as_its_slug(slug):
    data = definition()
    data["slug"] = slug
    with pytest.raises(DefinitionError) as error:
        parse_service(data)
    assert error.value.problems == [
        f"slug: '{slug}' is a word in Baton's addresses; pick another"
    ]
