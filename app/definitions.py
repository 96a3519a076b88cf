"""The service definition format: what a file in `services/` (and a service version) holds.

A definition is validated as a whole; every error names the key it is about
(`fields.2.max_length: …`) so an admin can find it in the file.
"""

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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
# so a typo in a file never silently drops a rule.
_LIMITS_BY_TYPE: dict[str, set[str]] = {
    "text": {"min_length", "max_length", "placeholder"},
    "long_text": {"min_length", "max_length", "placeholder"},
    "number": {"min", "max", "integer", "placeholder"},
    "date": set(),
    "select": {"options"},
    "multi_select": {"options"},
    "checkbox": set(),
    "email": {"placeholder"},
    "person": set(),
    "file": {"max_files", "max_size_mb"},
}
_OPTIONAL_LIMITS = {
    "min_length", "max_length", "placeholder", "min", "max", "integer",
    "options", "max_files", "max_size_mb",
}


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

    @model_validator(mode="after")
    def _limits_fit_the_type(self) -> "FieldDefinition":
        if self.key in RESERVED_KEYS:
            raise _Problem(("key",), f"'{self.key}' is reserved by Baton's form; pick another")
        allowed = _LIMITS_BY_TYPE[self.type]
        for name in _OPTIONAL_LIMITS - allowed:
            if getattr(self, name) is not None:
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


class ServiceDefinition(_Strict):
    slug: Annotated[str, Field(pattern=SLUG_PATTERN)]
    name: Annotated[str, Field(min_length=1, max_length=120)]
    category: Annotated[str, Field(min_length=1, max_length=80)]
    description: str = ""
    ordering: Literal["enforced", "flexible"] = "enforced"
    active: bool = True
    fields: list[FieldDefinition] = []
    steps: Annotated[list[StepDefinition], Field(min_length=1)]

    @model_validator(mode="after")
    def _keys_are_unique(self) -> "ServiceDefinition":
        seen: set[str] = set()
        for index, field in enumerate(self.fields):
            if field.key in seen:
                raise _Problem(("fields", index, "key"), f"two fields have the key '{field.key}'")
            seen.add(field.key)
        names: set[str] = set()
        for index, step in enumerate(self.steps):
            if step.name in names:
                raise _Problem(("steps", index, "name"), f"two steps are named '{step.name}'")
            names.add(step.name)
        return self

    def stage_of(self, position: int) -> int:
        """Enforced: each step is its own stage. Flexible: every step is in stage 1."""
        return position + 1 if self.ordering == "enforced" else 1

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


def parse_service(data: dict[str, Any]) -> ServiceDefinition:
    try:
        return ServiceDefinition.model_validate(data)
    except ValidationError as error:
        raise DefinitionError(_describe(error)) from None


def parse_teams(data: dict[str, Any]) -> list[TeamDefinition]:
    try:
        return TeamsFile.model_validate(data).teams
    except ValidationError as error:
        raise DefinitionError(_describe(error)) from None


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]
