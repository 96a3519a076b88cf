"""The service builder's checks and saving: every problem of the definition a form
describes (app.rules.builder_form) at once, where each shows in that form, and
publishing it as the service's next version.
"""

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.format.definitions import (
    LIMITS,
    LIMITS_BY_TYPE,
    RESERVED_SLUGS,
    DefinitionError,
    FieldDefinition,
    ServiceDefinition,
    StepDefinition,
    cross_problems,
    parse_service,
    texts_reflowed,
)
from app.rules.audit import record_admin_action
from app.rules.builder_form import (
    INPUT_LABELS,
    INPUTS,
    SERVICE_INPUTS,
    TARGET_UNITS,
    BuilderForm,
    Row,
)
from app.rules.catalog import (
    current_version,
    save_service,
)
from app.rules.errors import DomainError
from app.storage.db import one_transaction
from app.storage.models import Service, ServiceVersion, User

# --- checking ----------------------------------------------------------------------------


def _problems_between_rows(data: dict[str, Any]) -> list[str]:
    """The definition format checks conditions, repeated names and stages only once every
    row is valid on its own; the builder wants them at the same time as the rows' own
    problems, so that one save shows them all. Conditions are checked against the
    fields' types, so this needs every field to be valid; a step's invalid parts are
    left out."""
    try:
        fields = [FieldDefinition.model_validate(row) for row in data.get("fields", [])]
    except ValidationError:
        return []
    steps = []
    for index, row in enumerate(data.get("steps", [])):
        stage = row.get("stage")
        steps.append(StepDefinition.model_construct(
            # A step without a name gets one that no other can have (the form drops
            # control characters), so it is not reported as a repeated name.
            name=row.get("name") or f"\x00{index}", team="",
            condition=row.get("condition") if isinstance(row.get("condition"), str) else None,
            stage=stage if isinstance(stage, int) and stage >= 1 else None,
        ))
    return cross_problems(ServiceDefinition.model_construct(
        slug="", name="", category="", fields=fields, steps=steps,
        ordering="flexible" if data.get("ordering") == "flexible" else "enforced",
    ))


def check_definition(
    data: dict[str, Any], *, known_teams: Collection[str], slug_taken: bool = False,
) -> ServiceDefinition:
    """The definition, or DefinitionError with every problem found: the format's own,
    steps whose team does not exist, and (for a new service) a slug already taken."""
    problems: list[str] = []
    slug = str(data.get("slug", ""))
    if slug_taken and slug not in RESERVED_SLUGS:
        problems.append(f"slug: there is already a service '{slug}'")
    try:
        definition = parse_service(data)
    except DefinitionError as error:
        problems += error.problems
        problems += [p for p in _problems_between_rows(data) if p not in problems]
    for index, step in enumerate(data.get("steps", [])):
        team = step.get("team")
        if team and team not in known_teams:
            problems.append(f"steps.{index}.team: unknown team '{team}'")
    if problems:
        raise DefinitionError(problems)
    return definition


# --- where problems show -----------------------------------------------------------------


@dataclass(frozen=True)
class PlacedError:
    at: str  # the input, row ("fields.2") or section ("steps") it shows next to; "" on top
    message: str
    where: str  # for the summary: "Field 3 “Amount”: Maximum length"

    @property
    def anchor(self) -> str:
        return "b-" + self.at.replace(".", "-") if self.at else "builder-errors"


_FRIENDLY = {
    "Field required": "Fill this in.",
    "String should have at least 1 character": "Fill this in.",
    "List should have at least 1 item after validation, not 0":
        "Add at least one step: a service needs something to do.",
    "Input should be a valid number, unable to parse string as a number":
        "Enter a number, for example 10 or 2.5.",
    "Input should be a valid integer, unable to parse string as an integer":
        "Enter a whole number, for example 3.",
}
_PATH = re.compile(r"^[a-z_]+(?:\.[a-z0-9_]+)*$")


def _row_title(section: str, index: int, row: Row) -> str:
    title = row.get("label" if section == "fields" else "name", "").strip()
    noun = "Field" if section == "fields" else "Step"
    return f"{noun} {index + 1}" + (f" “{title}”" if title else "")


def place_errors(problems: Iterable[str], form: BuilderForm) -> list[PlacedError]:
    """Each problem (`fields.2.max_length: …`) with the input it belongs to. A problem
    about a row or an input the row does not show goes on top of the row; one about the
    whole list, on top of the list."""
    placed: list[PlacedError] = []
    for problem in problems:
        path, _, message = problem.partition(": ")
        if not message or not _PATH.match(path):
            path, message = "", problem
        message = _FRIENDLY.get(message, message)
        parts = path.split(".") if path else []
        if parts and parts[0] in INPUTS:
            section = parts[0]
            rows: list[Row] = getattr(form, section)
            if len(parts) < 2 or not parts[1].isdigit() or int(parts[1]) >= len(rows):
                title = "Fields" if section == "fields" else "Steps"
                placed.append(PlacedError(section, message, title))
                continue
            index, row = int(parts[1]), rows[int(parts[1])]
            name = parts[2] if len(parts) > 2 else ""
            name = "target" if name in TARGET_UNITS.values() else name
            if len(parts) > 3 and parts[3].isdigit() and name == "options":
                message = f"Option {int(parts[3]) + 1}: {message}"
            if name in ("type", "team", "kind") and message == "Fill this in.":
                message = "Choose one."
            title = _row_title(section, index, row)
            shown = name in INPUTS[section] and (
                section == "steps" or name not in LIMITS
                or name in LIMITS_BY_TYPE.get(row.get("type", ""), ())
            )
            if shown:
                placed.append(PlacedError(f"{section}.{index}.{name}", message,
                                          f"{title}: {INPUT_LABELS.get(name, name)}"))
            else:
                placed.append(PlacedError(f"{section}.{index}",
                                          f"{name}: {message}" if name else message, title))
        elif parts and parts[0] in SERVICE_INPUTS:
            placed.append(PlacedError(parts[0], message, INPUT_LABELS[parts[0]]))
        else:
            placed.append(PlacedError("", f"{path}: {message}" if path else message,
                                      "The service"))
    return placed


def errors_at(placed: Iterable[PlacedError]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in placed:
        errors.setdefault(error.at, []).append(error.message)
    return errors


# --- saving ------------------------------------------------------------------------------


class ServiceChanged(DomainError):
    """Someone saved the service since this admin opened the builder."""

    def __init__(self, number: int):
        super().__init__(f"Someone saved version {number} of this service while you were "
                         "editing. Your changes are below: check them against the new "
                         "version and save again.")
        self.number = number


@one_transaction
def publish_service(
    session: Session, *, definition: ServiceDefinition, by: User,
    creating: bool = False, base_version: int | None = None,
) -> tuple[Service, ServiceVersion | None]:
    """Saves the definition as the service's next version (or its first, `creating`),
    with an entry in the admin audit log. An unchanged definition changes nothing and
    returns None as the version. `base_version` is the version the admin started from:
    if another was saved since, ServiceChanged, and nothing is saved."""
    existing = session.exec(
        select(Service).where(Service.slug == definition.slug).with_for_update()
    ).first()
    if creating and existing is not None:
        raise DefinitionError([f"slug: there is already a service '{definition.slug}'"])
    if existing is not None and base_version is not None:
        latest = current_version(session, existing).number
        if latest != base_version:
            raise ServiceChanged(latest)
    # The builder shows a file's wrapped texts reflowed (issue 16): saved as they came, a
    # service is unchanged, not a new version differing in line breaks alone.
    if existing is not None and definition.to_data() == texts_reflowed(
            current_version(session, existing).definition):
        return existing, None
    try:
        service, version = save_service(session, definition=definition, by=by)
    except IntegrityError:
        # Another admin created the same slug in the same moment (PostgreSQL).
        raise DefinitionError([f"slug: there is already a service '{definition.slug}'"]) from None
    if version is not None:
        record_admin_action(
            session, by=by, action="service.versioned" if existing else "service.created",
            subject=f"{definition.name} ({definition.slug})", detail=f"Version {version.number}.",
        )
    session.commit()
    return service, version
