"""What a typed-answer report is asked for: its inputs as typed (a condition on the
answers, states, the submitted and completed date ranges, an order), read and checked
against the service's current form, each wrong one with a message for its input; and
the example filters its page offers, made from that form's own fields."""

import re
from dataclasses import dataclass, replace
from datetime import date

from app.format.conditions import And, ConditionError, Node, Not, Or, check, parse
from app.format.definitions import FieldDefinition, ServiceDefinition, field_types
from app.rules.inputs import InputInvalid, parse_date, raw_limit, without_control_characters
from app.storage.models import RequestState

MAX_CONDITION_LENGTH = 1000
# What a filter may test (conditions.check refuses the others).
TESTABLE_TYPES = ("text", "long_text", "number", "date", "select", "multi_select",
                  "checkbox", "email")
SORTABLE_TYPES = ("text", "number", "date", "select", "checkbox", "email")
STATES = tuple(state.value for state in RequestState)
# The date ranges, by the name of their inputs (the page's, its CSV link's, and any link
# to the report from elsewhere, e.g. the insights' throughput bars).
RANGES = ("submitted_from", "submitted_to", "completed_from", "completed_to")


class ReportInvalid(ValueError):
    """What is wrong with a report's filters, by the name of the input it is about."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{key}: {text}" for key, text in problems.items()))
        self.problems = problems


@dataclass(frozen=True)
class Sort:
    key: str  # "submitted" or a field's key
    descending: bool

    @property
    def text(self) -> str:
        return ("-" if self.descending else "") + self.key


DEFAULT_SORT = Sort("submitted", descending=True)


@dataclass(frozen=True)
class ReportQuery:
    condition: Node | None = None
    states: tuple[str, ...] = ()
    submitted_from: date | None = None
    submitted_to: date | None = None
    # Completed between: completed requests only, by the day they were completed.
    completed_from: date | None = None
    completed_to: date | None = None
    sort: Sort = DEFAULT_SORT
    page: int = 1


def sort_choices(definition: ServiceDefinition) -> list[tuple[str, str]]:
    """(value, label) of every order the report offers, for the form's select."""
    choices = [("-submitted", "Newest first"), ("submitted", "Oldest first")]
    for f in definition.fields:
        if f.type in SORTABLE_TYPES:
            choices += [(f.key, f"{f.label}, ascending"), (f"-{f.key}", f"{f.label}, descending")]
    return choices


def read_condition(definition: ServiceDefinition, where: str) -> Node | None:
    """The filter on the answers, parsed and checked against the form; None for none.
    Raises ConditionError with what is wrong, worded for the person who typed it."""
    # Bounded before anything reads it further; the limit is on what was meant, so
    # room is left for surrounding spaces, as everywhere else (inputs.raw_limit).
    if len(where) > raw_limit(MAX_CONDITION_LENGTH):
        raise ConditionError(f"a filter is at most {MAX_CONDITION_LENGTH} characters")
    # Answers are stored without control characters (inputs.clean_text): none can match.
    text = without_control_characters(where).strip()
    if len(text) > MAX_CONDITION_LENGTH:
        raise ConditionError(f"a filter is at most {MAX_CONDITION_LENGTH} characters")
    if not text:
        return None
    types = field_types(definition.fields)
    condition = _dates_unquoted(parse(text), types)
    check(condition, types)
    return condition


def _dates_unquoted(node: Node, types: dict[str, tuple[str, tuple[str, ...]]]) -> Node:
    """The condition with a date in quotes (`start_date >= "2026-01-01"`, as people
    write a value) read as the date it names, for a date field; elsewhere, and in a
    step's condition, the language has dates unquoted."""
    if isinstance(node, Not):
        return Not(_dates_unquoted(node.item, types))
    if isinstance(node, (And, Or)):
        return type(node)(tuple(_dates_unquoted(item, types) for item in node.items))
    if types.get(node.field, ("",))[0] != "date" or not isinstance(node.value, str):
        return node
    try:
        day = parse_date(node.value)
    except InputInvalid:
        day = None
    if day is None:
        raise ConditionError(f"'{node.field}' is a date field: \"{node.value}\" is not a "
                             f"date; write one as YYYY-MM-DD, e.g. {node.field} >= 2026-01-01")
    return replace(node, value=day)


def read_query(
    definition: ServiceDefinition, *, where: str = "", states: list[str] | None = None,
    submitted_from: str = "", submitted_to: str = "", completed_from: str = "",
    completed_to: str = "", sort: str = "", page: int = 1,
) -> ReportQuery:
    """The report's inputs as typed, checked against the service's current form; raises
    ReportInvalid with a message for each input that is wrong, by the input's name."""
    problems: dict[str, str] = {}
    condition: Node | None = None
    try:
        condition = read_condition(definition, where)
    except ConditionError as error:
        problems["where"] = f"This filter cannot be used: {error}."
    chosen = tuple(dict.fromkeys(states or ()))
    if any(state not in STATES for state in chosen):
        problems["state"] = "Choose states from the list."
    typed = dict(zip(RANGES, (submitted_from, submitted_to, completed_from, completed_to),
                     strict=True))
    days: dict[str, date | None] = {}
    for name, value in typed.items():
        try:
            days[name] = parse_date(value)
        except InputInvalid as invalid:
            problems[name] = invalid.message
            days[name] = None
    for start, end in (("submitted_from", "submitted_to"), ("completed_from", "completed_to")):
        if (first := days[start]) and (last := days[end]) and first > last:
            problems[end] = "The end of the range comes before its start."
    sort_value = sort or DEFAULT_SORT.text
    if sort_value not in {value for value, _label in sort_choices(definition)}:
        problems["sort"] = "Choose an order from the list."
    if problems:
        raise ReportInvalid(problems)
    return ReportQuery(condition=condition, states=chosen, page=page,
                       sort=Sort(sort_value.lstrip("-"), sort_value.startswith("-")), **days)


# --- examples -----------------------------------------------------------------------------


def _quoted(text: str) -> str:
    """A text as the condition language reads one back (conditions._TOKEN's string)."""
    return '"' + re.sub(r'(["\\])', r"\\\1", text) + '"'


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _threshold(f: FieldDefinition) -> float:
    """5000, as a manager would ask of an amount, unless the field's bounds leave nothing
    on one side of it: then the middle of them, so the example finds some requests."""
    if (f.max is None or f.max > 5000) and (f.min is None or f.min < 5000):
        return 5000
    high = f.max if f.max is not None else (f.min or 0) + 10_000
    low = f.min if f.min is not None else min(0.0, high)
    middle = (low + high) / 2
    return float(round(middle)) if abs(high - low) >= 10 else middle


def examples(definition: ServiceDefinition, *, today: date) -> list[str]:
    """Filters made from this form's own fields, each one the report can run as shown:
    the first number, choice, date, checkbox and multiple choice field, and two of them
    combined."""
    first: dict[str, FieldDefinition] = {}
    for f in definition.fields:
        first.setdefault(f.type, f)
    found: list[str] = []
    if number := first.get("number"):
        found.append(f"{number.key} > {_number(_threshold(number))}")
    if choice := first.get("select"):
        options = choice.options or []
        found.append(f"{choice.key} == {_quoted(options[0])}")
        if len(options) > 1:
            found.append(f"{choice.key} in [{', '.join(_quoted(o) for o in options[:2])}]")
    if day := first.get("date"):
        found.append(f"{day.key} >= {today.year}-01-01 and {day.key} <= {today.year}-12-31")
    if checkbox := first.get("checkbox"):
        found.append(f"{checkbox.key} is true")
    if many := first.get("multi_select"):
        found.append(f"{many.key} includes {_quoted((many.options or [''])[0])}")
    if number and choice:
        found.append(f"{found[0]} and {found[1]}")
    return found
