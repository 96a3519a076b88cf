"""The service definition format: what a file in `services/` (and a service version) holds.

A definition is validated as a whole; every error names the key it is about
(`fields.2.max_length: …`) so an admin can find it in the file.
"""

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.format.conditions import ConditionError, Node
from app.format.conditions import check as check_condition
from app.format.conditions import parse as parse_condition

FieldType = Literal[
    "text", "long_text", "number", "date", "select", "multi_select",
    "checkbox", "email", "person", "file",
]
FIELD_TYPE_LABELS: dict[str, str] = {
    "text": "Text", "long_text": "Long text", "number": "Number", "date": "Date",
    "select": "Select", "multi_select": "Multi-select", "checkbox": "Checkbox",
    "email": "E-mail", "person": "Person", "file": "File",
}
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,59}$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,79}$"

# Which limits make sense for which field type; anything else is an error, not ignored,
# so a typo in a file never silently drops a rule. In the order the builder shows them.
LIMITS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "text": ("min_length", "max_length", "placeholder"),
    "long_text": ("min_length", "max_length", "placeholder"),
    "number": ("min", "max", "integer", "placeholder"),
    "date": (),
    "select": ("options",),
    "multi_select": ("options",),
    "checkbox": (),
    "email": ("placeholder",),
    "person": (),
    "file": ("max_files", "max_size_mb"),
}
# Every limit a field may have, in the builder's order.
LIMITS = ("options", "min", "max", "integer", "min_length", "max_length", "placeholder",
          "max_files", "max_size_mb")


class _Problem(ValueError):
    """A problem found by a whole-model check, about the key at `at` inside the model
    (pydantic would otherwise report it against the model itself)."""

    def __init__(self, at: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.at = at


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# The intake form posts these beside the answers; a field may not take their names.
RESERVED_KEYS = {"csrf_token", "version_id"}
# Words in pages' addresses beside a service's slug (/admin/services/new …,
# /insights/tasks, /insights/teams/<team>); no service may take them.
RESERVED_SLUGS = {"new", "preview", "import", "tasks", "teams"}


class FieldDefinition(_Strict):
    key: Annotated[str, Field(pattern=KEY_PATTERN)]
    label: Annotated[str, Field(min_length=1, max_length=120)]
    type: FieldType
    help: str = ""
    required: bool = False
    placeholder: str | None = None
    min_length: Annotated[int, Field(ge=0)] | None = None
    max_length: Annotated[int, Field(ge=1)] | None = None
    min: float | None = None
    max: float | None = None
    integer: bool | None = None
    options: list[Annotated[str, Field(min_length=1, max_length=120)]] | None = None
    max_files: Annotated[int, Field(ge=1, le=20)] | None = None
    max_size_mb: Annotated[float, Field(gt=0)] | None = None
    # Shown (and asked) only when an earlier answer meets this condition.
    show_if: Annotated[str, Field(min_length=1, max_length=2000)] | None = None

    @model_validator(mode="after")
    def _limits_fit_the_type(self) -> "FieldDefinition":
        if self.key in RESERVED_KEYS:
            raise _Problem(("key",), f"'{self.key}' is reserved by Baton's form; pick another")
        allowed = LIMITS_BY_TYPE[self.type]
        for name in LIMITS:
            if name not in allowed and getattr(self, name) is not None:
                raise _Problem((name,), f"'{name}' does not apply to a {self.type} field")
        if self.type in ("select", "multi_select"):
            if not self.options:
                raise _Problem(
                    ("options",), f"a {self.type} field needs a non-empty 'options' list"
                )
            if len(set(self.options)) != len(self.options):
                raise _Problem(("options",), "'options' has the same option twice")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise _Problem(("min",), "'min' is greater than 'max'")
        if (
            self.min_length is not None
            and self.max_length is not None
            and self.min_length > self.max_length
        ):
            raise _Problem(("min_length",), "'min_length' is greater than 'max_length'")
        return self

    @property
    def is_integer(self) -> bool:
        return bool(self.integer)


class StepDefinition(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    team: Annotated[str, Field(pattern=SLUG_PATTERN)]
    kind: Literal["task", "approval"] = "task"
    instructions: str = ""
    # Only when the answers meet it does the step become a task; otherwise it is skipped.
    condition: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    # Enforced services: steps sharing a stage number open together.
    stage: Annotated[int, Field(ge=1, le=1000)] | None = None
    target_hours: Annotated[float, Field(gt=0, le=24 * 365)] | None = None
    target_business_days: Annotated[int, Field(ge=1, le=365)] | None = None
    # Approval steps only: whether the requester may approve or reject this step of
    # their own request (PRODUCT.md rule 7 forbids it unless an admin says so here).
    # Stored only when true, so that files and versions written before it existed, and
    # those that say `false`, are the same definition: not allowed.
    requester_may_approve: bool | None = None

    @model_validator(mode="after")
    def _one_target(self) -> "StepDefinition":
        if self.target_hours is not None and self.target_business_days is not None:
            raise _Problem(("target_hours",), "give either 'target_hours' or "
                                              "'target_business_days', not both")
        if self.requester_may_approve and self.kind != "approval":
            raise _Problem(("requester_may_approve",),
                           "'requester_may_approve' applies to approval steps only")
        if not self.requester_may_approve:
            self.requester_may_approve = None
        return self

    @property
    def allows_requester_approval(self) -> bool:
        return self.kind == "approval" and bool(self.requester_may_approve)


class ServiceDefinition(_Strict):
    slug: Annotated[str, Field(pattern=SLUG_PATTERN)]
    name: Annotated[str, Field(min_length=1, max_length=120)]
    category: Annotated[str, Field(min_length=1, max_length=80)]
    description: str = ""
    ordering: Literal["enforced", "flexible"] = "enforced"
    active: bool = True
    fields: list[FieldDefinition] = []
    steps: Annotated[list[StepDefinition], Field(min_length=1)]

    def stages(self) -> list[int]:
        """Each step's stage. Flexible: all in stage 1. Enforced: a step without a stage
        number comes one stage after the step before it."""
        if self.ordering == "flexible":
            return [1] * len(self.steps)
        stages: list[int] = []
        for step in self.steps:
            stages.append(step.stage or (stages[-1] + 1 if stages else 1))
        return stages

    def condition_of(self, position: int) -> Node | None:
        text = self.steps[position].condition
        return parse_condition(text) if text else None

    def shown_if(self, key: str) -> Node | None:
        text = next((f.show_if for f in self.fields if f.key == key), None)
        return parse_condition(text) if text else None

    def to_data(self) -> dict[str, Any]:
        """The definition as plain data, without unset limits: what files and versions
        store, so that an unchanged file maps to an unchanged version."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=False)


class DefinitionError(Exception):
    """Every problem found in one definition, each as `key.path: message`."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class TeamDefinition(_Strict):
    slug: Annotated[str, Field(pattern=SLUG_PATTERN)]
    name: Annotated[str, Field(min_length=1, max_length=120)]


class TeamsFile(_Strict):
    teams: list[TeamDefinition]


def _describe(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        at = item.get("ctx", {}).get("error")
        loc = (*item["loc"], *at.at) if isinstance(at, _Problem) else item["loc"]
        path = ".".join(str(part) for part in loc)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "string_pattern_mismatch":
            message = "use lower-case letters, digits and " + (
                "underscores, starting with a letter" if "_" in item["ctx"]["pattern"]
                else "hyphens"
            )
        problems.append(f"{path}: {message}" if path else message)
    return problems


def field_types(fields: list[FieldDefinition]) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {f.key: (f.type, tuple(f.options or ())) for f in fields}


def cross_problems(definition: ServiceDefinition) -> list[str]:
    """What no single field or step shows alone: repeated keys and names, conditions
    that do not fit the form, stages out of order. Every problem, not just the first."""
    problems: list[str] = []
    if definition.slug in RESERVED_SLUGS:
        problems.append(f"slug: '{definition.slug}' is a word in Baton's addresses; "
                        "pick another")
    seen: set[str] = set()
    for index, field in enumerate(definition.fields):
        if field.key in seen:
            problems.append(f"fields.{index}.key: two fields have the key '{field.key}'")
        seen.add(field.key)
        if field.show_if:
            # A field may depend only on answers given above it.
            earlier = field_types(definition.fields[:index])
            try:
                check_condition(parse_condition(field.show_if), earlier)
            except ConditionError as error:
                problems.append(f"fields.{index}.show_if: {error}")
    names: set[str] = set()
    all_fields = field_types(definition.fields)
    previous_stage = 0
    for index, step in enumerate(definition.steps):
        if step.name in names:
            problems.append(f"steps.{index}.name: two steps are named '{step.name}'")
        names.add(step.name)
        if step.condition:
            try:
                check_condition(parse_condition(step.condition), all_fields)
            except ConditionError as error:
                problems.append(f"steps.{index}.condition: {error}")
        if step.stage is not None:
            if definition.ordering == "flexible":
                problems.append(f"steps.{index}.stage: stages apply to enforced ordering "
                                "only (in a flexible service every step opens at once)")
            elif step.stage < previous_stage:
                problems.append(f"steps.{index}.stage: stage {step.stage} comes after "
                                f"stage {previous_stage} of the step before; list steps in "
                                "stage order")
        if definition.ordering == "enforced":
            previous_stage = step.stage or previous_stage + 1
    return problems


def parse_service(data: dict[str, Any]) -> ServiceDefinition:
    try:
        definition = ServiceDefinition.model_validate(data)
    except ValidationError as error:
        raise DefinitionError(_describe(error)) from None
    problems = cross_problems(definition)
    if problems:
        raise DefinitionError(problems)
    return definition


def parse_teams(data: dict[str, Any]) -> list[TeamDefinition]:
    try:
        return TeamsFile.model_validate(data).teams
    except ValidationError as error:
        raise DefinitionError(_describe(error)) from None


def reflowed(text: str) -> str:
    """A description, help or instructions as what it says: each paragraph on one line,
    a blank line between paragraphs. Service files wrap long lines; only a blank line
    separates paragraphs (how pages show these texts, and how the builder edits them)."""
    return "\n\n".join(" ".join(block.split()) for block in text.split("\n\n")
                        if block.strip())


def texts_reflowed(data: dict[str, Any]) -> dict[str, Any]:
    """A definition's data (to_data()) with its description, help and instructions
    reflowed: what the builder gives back for it, saved without a change."""
    def texts(row: dict[str, Any], *keys: str) -> dict[str, Any]:
        return row | {key: reflowed(row[key]) for key in keys if key in row}
    return texts(data, "description") | {
        "fields": [texts(field, "help") for field in data.get("fields", [])],
        "steps": [texts(step, "instructions") for step in data.get("steps", [])],
    }


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]
