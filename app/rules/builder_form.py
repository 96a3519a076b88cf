"""The service builder's form: a service definition as an admin's form, and back, and
the buttons that add, remove and reorder its rows (app.rules.builder checks and saves
what it describes).

The form posts flat names that are the definition's own keys (`name`,
`fields.2.max_length`, `steps.0.team`), so a problem that parse_service reports at
`fields.2.max_length` is shown next to the input of that name. Rows hold the raw
strings the admin typed, so a form that comes back with errors keeps all of it.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from app.format.definitions import (
    KEY_PATTERN,
    LIMITS,
    LIMITS_BY_TYPE,
    FieldDefinition,
    ServiceDefinition,
    reflowed,
    slugify,
)
from app.format.numbers import number_text
from app.rules.intake import without_control_characters

Row = dict[str, str]

SERVICE_INPUTS = ("name", "slug", "category", "description", "ordering", "active")
# `explicit` keeps a limit that was set to false or "" in a file (integer = false): an
# unticked box or empty input would otherwise drop it, and saving an unchanged service
# would make a new version.
FIELD_INPUTS = ("key", "label", "type", "help", "required", *LIMITS, "show_if", "explicit")
STEP_INPUTS = ("name", "team", "kind", "instructions", "target", "target_unit", "condition",
               "stage", "requester_may_approve")
INPUTS = {"fields": FIELD_INPUTS, "steps": STEP_INPUTS}
INTEGER_INPUTS = {"min_length", "max_length", "max_files", "stage"}
INPUT_LABELS = {
    "name": "Name", "slug": "Slug", "category": "Category", "description": "Description",
    "ordering": "Ordering", "active": "Status", "key": "Key", "label": "Label",
    "type": "Type", "help": "Help text", "required": "Required", "options": "Options",
    "min": "Minimum", "max": "Maximum", "integer": "Whole numbers only",
    "min_length": "Minimum length", "max_length": "Maximum length",
    "placeholder": "Placeholder", "max_files": "Most files", "max_size_mb": "Largest file",
    "show_if": "Show only if", "team": "Team", "kind": "Kind",
    "instructions": "Instructions", "target": "Target", "condition": "Only if",
    "stage": "Stage", "requester_may_approve": "The requester may approve",
}
TARGET_UNITS = {"hours": "target_hours", "business_days": "target_business_days"}


@dataclass
class BuilderForm:
    """The builder's form as the admin typed it: the service's inputs and one row of
    raw strings per field and per step."""

    service: Row
    fields: list[Row]
    steps: list[Row]


def blank_field() -> Row:
    return {name: "" for name in FIELD_INPUTS} | {"type": "text"}


def blank_step() -> Row:
    return {name: "" for name in STEP_INPUTS} | {"kind": "task", "target_unit": "hours"}


def empty_form() -> BuilderForm:
    service = {name: "" for name in SERVICE_INPUTS} | {"ordering": "enforced",
                                                       "active": "true"}
    return BuilderForm(service=service, fields=[], steps=[blank_step()])


_ROW_NAME = re.compile(r"^(fields|steps)\.(\d{1,4})\.([a-z_]+)$")


def _clean(value: str) -> str:
    # Browsers send a textarea's line breaks as CRLF; files and versions hold LF.
    return without_control_characters(value.replace("\r\n", "\n").replace("\r", "\n"))


def read_form(items: Iterable[tuple[str, Any]], *, slug: str | None = None) -> BuilderForm:
    """The posted (name, value) pairs as a BuilderForm. Rows come in the order of their
    numbers; `slug` fixes the slug of a service that exists (it cannot change)."""
    service = {name: "" for name in SERVICE_INPUTS}
    rows: dict[str, dict[int, Row]] = {"fields": {}, "steps": {}}
    for name, value in items:
        if not isinstance(value, str):
            continue
        if name in SERVICE_INPUTS:
            service[name] = _clean(value)
        elif (match := _ROW_NAME.match(name)) and match[3] in INPUTS[match[1]]:
            rows[match[1]].setdefault(int(match[2]), {})[match[3]] = _clean(value)
    if slug is not None:
        service["slug"] = slug
    fields = [blank_field() | rows["fields"][i] for i in sorted(rows["fields"])]
    steps = [blank_step() | rows["steps"][i] for i in sorted(rows["steps"])]
    # An empty key or slug is made from the label or name, in the form itself, so that
    # the admin sees (and may change) what it will be.
    for row in fields:
        if not row["key"].strip():
            row["key"] = _key_from(row["label"])
    if not service["slug"].strip():
        service["slug"] = slugify(service["name"])
    return BuilderForm(service=service, fields=fields, steps=steps)


def _key_from(label: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    key = re.sub(r"^[^a-z]+", "", key)
    return key[:60].rstrip("_")


def _number(text: str, *, integer: bool) -> float | int | str:
    """A typed number, or the text itself when it is none (the definition's validation
    then names the input and says what it expects)."""
    try:
        value = float(text.replace(" ", "").replace("_", ""))
    except ValueError:
        return text
    if value != value or value in (float("inf"), float("-inf")):
        return text
    if integer:
        return int(value) if value.is_integer() else text
    return value


def _limit_data(name: str, raw: Row) -> Any:
    text = raw.get(name, "").strip()
    if name == "options":
        lines = [line.strip() for line in raw.get(name, "").split("\n")]
        return [line for line in lines if line] or None
    if name == "integer":
        return True if text else (False if "integer" in raw.get("explicit", "").split()
                                  else None)
    if name == "placeholder":
        return text or ("" if "placeholder" in raw.get("explicit", "").split() else None)
    if not text:
        return None
    return _number(text, integer=name in INTEGER_INPUTS)


def _put(data: dict[str, Any], name: str, text: str) -> None:
    """Sets a key the definition requires only when it was given, so that an empty input
    is reported as missing rather than as too short."""
    if text.strip():
        data[name] = text.strip()


def field_data(raw: Row) -> dict[str, Any]:
    data: dict[str, Any] = {}
    _put(data, "key", raw.get("key", "") or _key_from(raw.get("label", "")))
    _put(data, "label", raw.get("label", ""))
    _put(data, "type", raw.get("type", ""))
    data["help"] = raw.get("help", "").strip()
    data["required"] = bool(raw.get("required"))
    # Only the limits of the chosen type: the others stay in the row, hidden, in case
    # the admin switches back, but are no part of the definition.
    for name in LIMITS_BY_TYPE.get(raw.get("type", ""), ()):
        value = _limit_data(name, raw)
        if value is not None:
            data[name] = value
    _put(data, "show_if", raw.get("show_if", ""))
    return data


def step_data(raw: Row) -> dict[str, Any]:
    data: dict[str, Any] = {}
    _put(data, "name", raw.get("name", ""))
    _put(data, "team", raw.get("team", ""))
    data["kind"] = raw.get("kind", "").strip() or "task"
    data["instructions"] = raw.get("instructions", "").strip()
    if target := raw.get("target", "").strip():
        unit = TARGET_UNITS.get(raw.get("target_unit", ""), "target_hours")
        data[unit] = _number(target, integer=unit == "target_business_days")
    _put(data, "condition", raw.get("condition", ""))
    if stage := raw.get("stage", "").strip():
        data["stage"] = _number(stage, integer=True)
    # Like a field's limits, the box counts only for the kind it belongs to (approval);
    # ticked on a row switched to a task, it stays in the row but is no part of it.
    if data["kind"] == "approval" and raw.get("requester_may_approve"):
        data["requester_may_approve"] = True
    return data


def definition_data(form: BuilderForm) -> dict[str, Any]:
    """The definition the form describes, as plain data for parse_service."""
    service = form.service
    data: dict[str, Any] = {}
    slug = service.get("slug", "").strip()
    _put(data, "slug", slug or slugify(service.get("name", "")))
    _put(data, "name", service.get("name", ""))
    _put(data, "category", service.get("category", ""))
    data["description"] = service.get("description", "").strip()
    data["ordering"] = service.get("ordering", "").strip() or "enforced"
    data["active"] = service.get("active", "true") != "false"
    data["fields"] = [field_data(row) for row in form.fields]
    data["steps"] = [step_data(row) for row in form.steps]
    return data


def form_of(definition: ServiceDefinition) -> BuilderForm:
    """The builder's form for a definition: saved unchanged, it gives the same data, its
    texts reflowed (one line a paragraph, not the file's wrapped lines)."""
    service = {
        "name": definition.name, "slug": definition.slug, "category": definition.category,
        "description": reflowed(definition.description), "ordering": definition.ordering,
        "active": "true" if definition.active else "false",
    }
    fields = []
    for f in definition.fields:
        row = blank_field() | {
            "key": f.key, "label": f.label, "type": f.type, "help": reflowed(f.help),
            "required": "on" if f.required else "", "options": "\n".join(f.options or ()),
            "integer": "on" if f.integer else "", "placeholder": f.placeholder or "",
            "show_if": f.show_if or "",
            "explicit": " ".join(name for name in ("integer", "placeholder")
                                 if getattr(f, name) is not None and not getattr(f, name)),
        }
        for name in ("min", "max", "min_length", "max_length", "max_files", "max_size_mb"):
            row[name] = number_text(getattr(f, name))
        fields.append(row)
    steps = []
    for s in definition.steps:
        days = s.target_business_days is not None
        steps.append(blank_step() | {
            "name": s.name, "team": s.team, "kind": s.kind,
            "instructions": reflowed(s.instructions),
            "target": number_text(s.target_business_days if days else s.target_hours),
            "target_unit": "business_days" if days else "hours",
            "condition": s.condition or "", "stage": number_text(s.stage),
            "requester_may_approve": "on" if s.requester_may_approve else "",
        })
    return BuilderForm(service=service, fields=fields, steps=steps)


def preview_fields(form: BuilderForm) -> list[FieldDefinition]:
    """The intake fields as requesters would see them, drawn as well as they can be
    while the definition is still being written (a row with problems is still shown)."""
    fields = []
    for index, row in enumerate(form.fields):
        data = field_data(row)
        try:
            fields.append(FieldDefinition.model_validate(data))
            continue
        except ValidationError:
            pass
        kind = data.get("type") if data.get("type") in LIMITS_BY_TYPE else "text"
        rough: dict[str, Any] = {name: None for name in (*LIMITS, "show_if")}
        for name in LIMITS_BY_TYPE[str(kind)]:
            value = data.get(name)
            if name == "options":
                rough[name] = value or []
            elif name == "placeholder" or isinstance(value, int | float):  # bool is an int
                rough[name] = value
        key = str(data.get("key", ""))
        rough.update(
            key=key if re.match(KEY_PATTERN, key) else f"field_{index + 1}",
            label=data.get("label") or "(no label yet)", type=kind, help=data["help"],
            required=data["required"],
        )
        fields.append(FieldDefinition.model_construct(**rough))
    return fields


# --- add, remove, reorder ----------------------------------------------------------------


_ACTION = re.compile(r"^(add_field|add_step|remove_field|remove_step|field_up|field_down|"
                     r"step_up|step_down|field_to|step_to)(?::(\d{1,4}))?(?::(\d{1,4}))?$")


def apply_action(form: BuilderForm, action: str) -> tuple[BuilderForm, str | None]:
    """The form with one button's change applied (`add_field`, `remove_step:2`,
    `field_up:3`, or `field_to:3:0` where a row was dragged: row 3 to place 0 …), and the
    id of the control the keyboard should be on afterwards. Anything else (an unknown or
    out-of-range action) changes nothing."""
    match = _ACTION.match(action)
    if match is None:
        return form, None
    verb, number = match[1], int(match[2]) if match[2] else None
    place = int(match[3]) if match[3] else None
    if (place is not None) != verb.endswith("_to"):
        return form, None
    section = "fields" if "field" in verb else "steps"
    rows = list(getattr(form, section))
    first = "label" if section == "fields" else "name"
    focus: str | None = None
    if verb.startswith("add_"):
        rows.append(blank_field() if section == "fields" else blank_step())
        focus = f"b-{section}-{len(rows) - 1}-{first}"
    elif number is None or number >= len(rows):
        return form, None
    elif verb.startswith("remove_"):
        del rows[number]
        focus = (f"b-{section}-{number}-{first}" if number < len(rows)
                 else f"b-add-{section}")
    elif place is not None:
        if place >= len(rows) or place == number:
            return form, None
        rows.insert(place, rows.pop(number))
        focus = f"b-{section}-{place}-row"  # the moved row's summary line
    else:
        to = number - 1 if verb.endswith("_up") else number + 1
        if not 0 <= to < len(rows):
            return form, None
        rows[number], rows[to] = rows[to], rows[number]
        # Stay on the moved row's button, or on its other one when it reached an end.
        up = verb.endswith("_up")
        at_end = to == 0 if up else to == len(rows) - 1
        focus = f"b-{section}-{to}-" + ("down" if up == at_end else "up")
    if section == "fields":
        return replace(form, fields=rows), focus
    return replace(form, steps=rows), focus
