"""A condition in the form's own words, for the people who fill the form in.

`remote is false` reads "Works fully remotely is not ticked", `amount > 1000` reads
"Total amount (EUR) is more than 1,000": the field's label in place of its key, the
option's text in quotes, numbers and dates as people write them. Employees read these
(the catalog's step list, why a step of their request was not needed); admins keep the
condition itself in the builder and on the service's admin page.

A `not` is carried down to the comparisons (De Morgan for `and` and `or`), so the words
never say "not (… or …)". A negated comparison says "is not more than", never "is at
most": a condition on an unanswered field is false, so its negation also holds when the
field was left empty, and "is at most 1,000" would claim an answer.
"""

import re
from collections.abc import Iterable, Mapping
from datetime import date

from app.format.conditions import And, Compare, ConditionError, Node, Not, Or, Value, parse
from app.format.definitions import FieldDefinition, ServiceDefinition

# Each comparison as (what it says, what its negation says), after the field's label.
_NUMBER_WORDS = {
    "==": ("is {}", "is not {}"), "is": ("is {}", "is not {}"),
    "!=": ("is not {}", "is {}"),
    ">": ("is more than {}", "is not more than {}"),
    ">=": ("is at least {}", "is not at least {}"),
    "<": ("is less than {}", "is not less than {}"),
    "<=": ("is at most {}", "is not at most {}"),
}
_DATE_WORDS = {
    "==": ("is {}", "is not {}"), "is": ("is {}", "is not {}"),
    "!=": ("is not {}", "is {}"),
    ">": ("is after {}", "is not after {}"),
    ">=": ("is on or after {}", "is not on or after {}"),
    "<": ("is before {}", "is not before {}"),
    "<=": ("is on or before {}", "is not on or before {}"),
}


def _number(value: float) -> str:
    """1,000 and 2.5, never 1000.0 (a number in a condition is always read as a float)."""
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,}"


def _date(value: date) -> str:
    return f"{value.day} {value.strftime('%B')} {value.year}"


def _quoted(value: Value) -> str:
    return f"“{value}”"


def _listed(items: list[str], last: str, *, groups: bool = False) -> str:
    """`a`, `a or b`, `a, b or c` (or "and", as `last` says). Beside a group of the other
    kind ("either … or …") a comma before the last word keeps the reading one way:
    "either a or b, and c"."""
    if len(items) <= 1:
        return "".join(items)
    comma = "," if groups else ""
    return f"{', '.join(items[:-1])}{comma} {last} {items[-1]}"


def _checkbox(value: Value, op: str, negated: bool) -> str:
    ticked = bool(value) if op != "!=" else not value
    return "is ticked" if ticked != negated else "is not ticked"


def _among(values: tuple[Value, ...], negated: bool) -> str:
    quoted = [_quoted(v) for v in values]
    if not quoted:
        # `in []` never holds (an admin's slip the checker lets through).
        return "is one of no values" if not negated else "is anything at all"
    if len(quoted) == 1:
        return f"is not {quoted[0]}" if negated else f"is {quoted[0]}"
    if negated:
        return (f"is neither {quoted[0]} nor {quoted[1]}" if len(quoted) == 2
                else f"is none of {_listed(quoted, 'or')}")
    return f"is {_listed(quoted, 'or')}" if len(quoted) == 2 else \
        f"is one of {_listed(quoted, 'or')}"


def _text(value: Value, op: str, negated: bool) -> str:
    equal = (op in ("==", "is")) != negated
    if value == "":
        return "is empty" if equal else "is filled in"
    return f"is {_quoted(value)}" if equal else f"is not {_quoted(value)}"


def _comparison(node: Compare, fields: Mapping[str, FieldDefinition], negated: bool) -> str:
    field = fields.get(node.field)
    label = field.label if field is not None else node.field.replace("_", " ")
    value, op = node.value, node.op
    if op == "includes":
        return f"{label} {'does not include' if negated else 'includes'} {_quoted(value)}"
    if op == "in":
        return f"{label} {_among(value if isinstance(value, tuple) else (value,), negated)}"
    if isinstance(value, bool):
        return f"{label} {_checkbox(value, op, negated)}"
    if isinstance(value, date):
        return f"{label} {_DATE_WORDS[op][negated].format(_date(value))}"
    if isinstance(value, float):
        return f"{label} {_NUMBER_WORDS[op][negated].format(_number(value))}"
    return f"{label} {_text(value, op, negated)}"


def _parts(node: Node, fields: Mapping[str, FieldDefinition], negated: bool
           ) -> tuple[str, list[tuple[str, bool]]]:
    """The node as ("and", "or", or "" for one comparison) and its parts' words, each
    with whether it is a group of the other kind; `not` is carried down."""
    if isinstance(node, Not):
        return _parts(node.item, fields, not negated)
    if isinstance(node, (And, Or)):
        # not (a and b) = not a or not b; not (a or b) = not a and not b.
        joins_with = "and" if isinstance(node, And) != negated else "or"
        parts: list[tuple[str, bool]] = []
        for item in node.items:
            inner, inner_parts = _parts(item, fields, negated)
            if inner in ("", joins_with):  # a comparison, or `a and (b and c)`
                parts.extend(inner_parts)
            else:
                parts.append((_group(inner, inner_parts), True))
        return joins_with, parts
    return "", [(_comparison(node, fields, negated), False)]


def _group(joins_with: str, parts: list[tuple[str, bool]]) -> str:
    """A group inside one of the other kind says where it begins: "either … or …",
    "both … and …", "all of …, … and …"."""
    words = _listed([text for text, _ in parts], joins_with,
                    groups=any(group for _, group in parts))
    if joins_with == "or":
        return f"either {words}"
    return f"both {words}" if len(parts) == 2 else f"all of {words}"


def condition_words(node: Node, fields: Iterable[FieldDefinition]) -> str:
    """The condition as a clause: "Total amount (EUR) is more than 1,000 and Type of
    cost is “Hardware”". A key with no field (never, for a checked definition) shows as
    its own words."""
    joins_with, parts = _parts(node, {field.key: field for field in fields}, False)
    return _listed([text for text, _ in parts], joins_with or "and",
                   groups=any(group for _, group in parts))


def step_condition_words(definition: ServiceDefinition, position: int) -> str | None:
    """The words for a step's condition, None for a step without one."""
    node = definition.condition_of(position)
    return condition_words(node, definition.fields) if node is not None else None


# Skip reasons recorded before they were worded for people ("Not needed: the condition
# “remote is false” does not hold."): the page words them from the version's fields.
_OLD_SKIP_REASON = re.compile(r"^Not needed: the condition “(.+)” does not hold\.$", re.S)


def reworded_skip_reason(note: str, definition: ServiceDefinition) -> str:
    """A recorded skip reason as the page shows it: an old one that quotes a condition
    in its own syntax is worded anew; anything else is kept as written."""
    match = _OLD_SKIP_REASON.match(note.strip())
    if match is None:
        return note
    try:
        node = parse(match.group(1))
    except ConditionError:
        return note
    return skip_reason_words(condition_words(node, definition.fields))


def skip_reason_words(words: str) -> str:
    return f"Not needed: only for requests where {words}."
