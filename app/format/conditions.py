"""The condition language of steps and fields: `amount > 5000`,
`equipment includes "Monitor"`, `remote is true`, `country in ["DE", "FR"]`,
`start_date >= 2026-01-01`, combined with `and`, `or`, `not` and parentheses.

A condition is parsed into a small tree of frozen dataclasses, checked against the
form's field types, and evaluated over a request's answers by walking the tree. Nothing
is ever passed to `eval`.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Union

Value = Union[float, str, bool, date, tuple["Value", ...]]  # noqa: UP007 (recursive alias)

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
KEYWORDS = {"and", "or", "not", "in", "includes", "is", "true", "false"}


class ConditionError(ValueError):
    """A condition that cannot be parsed or does not fit the form; says what and where."""


@dataclass(frozen=True)
class Compare:
    """`field op value`: the field is always on the left, a literal on the right."""

    field: str
    op: str  # one of COMPARISONS, "in", "includes", "is"
    value: Value


@dataclass(frozen=True)
class Not:
    item: "Node"


@dataclass(frozen=True)
class And:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    items: tuple["Node", ...]


Node = Union[Compare, Not, And, Or]  # noqa: UP007 (used at runtime in isinstance-free code)

# --- reading ------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\w.]))
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.]))
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<punct>[\[\](),])
""", re.VERBOSE)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    at: int


def _tokens(text: str) -> list[_Token]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ConditionError(f"unexpected {text[position]!r} at character {position + 1}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position))
        position = match.end()
    return tokens


class _Parser:
    MAX_DEPTH = 50

    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def is_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "name" and token.text == word

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise ConditionError("the condition ends too early")
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise ConditionError(f"expected {text!r} at character {token.at + 1}, "
                                 f"found {token.text!r}")

    def parse(self) -> Node:
        if not self.tokens:
            raise ConditionError("the condition is empty")
        node = self.or_expr()
        token = self.peek()
        if token is not None:
            raise ConditionError(f"unexpected {token.text!r} at character {token.at + 1}")
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.is_word("or"):
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.is_word("and"):
            self.take()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Node:
        # Each `not` and `(` nests a level; a bound keeps a hostile condition from
        # exhausting Python's recursion limit (and gives it a message instead).
        self.depth += 1
        if self.depth > self.MAX_DEPTH:
            raise ConditionError(f"the condition nests more than {self.MAX_DEPTH} levels deep")
        try:
            return self._not_expr()
        finally:
            self.depth -= 1

    def _not_expr(self) -> Node:
        if self.is_word("not"):
            self.take()
            return Not(self.not_expr())
        token = self.peek()
        if token is not None and token.text == "(":
            self.take()
            node = self.or_expr()
            self.expect(")")
            return node
        return self.comparison()

    def comparison(self) -> Compare:
        token = self.take()
        if token.kind != "name" or token.text in KEYWORDS:
            raise ConditionError(f"expected a field's key at character {token.at + 1}, "
                                 f"found {token.text!r}")
        operator = self.take()
        if operator.kind == "op" or operator.text in ("in", "includes", "is"):
            return Compare(token.text, operator.text, self.literal())
        raise ConditionError(
            f"expected a comparison (==, !=, <, <=, >, >=, in, includes, is) after "
            f"'{token.text}', found {operator.text!r}"
        )

    def literal(self) -> Value:
        token = self.take()
        if token.kind == "number":
            number = float(token.text)
            if number in (float("inf"), float("-inf")):
                raise ConditionError(f"{token.text} is too large a number")
            return number
        if token.kind == "date":
            try:
                return date.fromisoformat(token.text)
            except ValueError:
                raise ConditionError(f"{token.text} is not a real date") from None
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "name" and token.text in ("true", "false"):
            return token.text == "true"
        if token.text == "[":
            items: list[Value] = []
            if self.peek() is not None and self.peek().text == "]":  # type: ignore[union-attr]
                self.take()
                return tuple(items)
            while True:
                item = self.literal()
                if isinstance(item, tuple):
                    raise ConditionError("a list cannot hold another list")
                items.append(item)
                if self.take().text == "]":
                    return tuple(items)
                self.index -= 1
                self.expect(",")
        raise ConditionError(f"expected a value (a number, \"text\", a date, true, false or "
                             f"a [list]) at character {token.at + 1}, found {token.text!r}")


def parse(text: str) -> Node:
    return _Parser(text).parse()


# --- checking against a form --------------------------------------------------------------


def check(node: Node, field_types: Mapping[str, tuple[str, tuple[str, ...]]]) -> None:
    """Raise ConditionError unless every comparison fits its field's type.

    `field_types` maps each key the condition may use to (type, options)."""
    if isinstance(node, Not):
        check(node.item, field_types)
        return
    if isinstance(node, (And, Or)):
        for item in node.items:
            check(item, field_types)
        return
    if node.field not in field_types:
        known = ", ".join(sorted(field_types)) or "none"
        raise ConditionError(f"there is no field '{node.field}' to test here (fields: {known})")
    kind, options = field_types[node.field]
    value, op, name = node.value, node.op, node.field

    def wrong(expected: str) -> ConditionError:
        return ConditionError(f"'{name}' is a {kind.replace('_', ' ')} field: {expected}")

    if kind == "number":
        if op not in COMPARISONS or isinstance(value, bool) or not isinstance(value, float):
            raise wrong("compare it with a number, e.g. amount > 5000")
    elif kind == "date":
        if op not in COMPARISONS or not isinstance(value, date):
            raise wrong("compare it with a date, e.g. start_date >= 2026-01-01")
    elif kind == "checkbox":
        if op not in ("is", "==", "!=") or not isinstance(value, bool):
            raise wrong(f"test it with 'is true' or 'is false', e.g. {name} is true")
    elif kind == "multi_select":
        if op != "includes" or not isinstance(value, str):
            raise wrong(f'test it with includes, e.g. {name} includes "{options[0]}"')
        if value not in options:
            raise wrong(f'"{value}" is not one of its options')
    elif kind in ("text", "long_text", "email", "select"):
        if op in ("==", "!=") and isinstance(value, str):
            values: tuple[Any, ...] = (value,)
        elif op == "in" and isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            values = value
        else:
            raise wrong(f'compare it with == "text" or in ["a", "b"], e.g. {name} == "x"')
        unknown = [v for v in values if kind == "select" and v not in options]
        if unknown:
            raise wrong(f'"{unknown[0]}" is not one of its options')
    else:
        raise wrong("conditions cannot test this kind of field")


# --- evaluating ---------------------------------------------------------------------------


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "==" or op == "is":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def evaluate(node: Node, answers: Mapping[str, Any]) -> bool:
    """Whether the condition holds for these answers. A comparison on a missing answer
    is false (so `not` of it is true): nothing is assumed about what was not said."""
    if isinstance(node, Not):
        return not evaluate(node.item, answers)
    if isinstance(node, And):
        return all(evaluate(item, answers) for item in node.items)
    if isinstance(node, Or):
        return any(evaluate(item, answers) for item in node.items)
    answer = answers.get(node.field)
    if answer is None:
        return False
    if node.op == "includes":
        return isinstance(answer, list) and node.value in answer
    if node.op == "in":
        return isinstance(node.value, tuple) and answer in node.value
    if isinstance(node.value, date):
        try:
            answer = date.fromisoformat(str(answer))
        except ValueError:
            return False
    elif isinstance(node.value, float) and not isinstance(answer, bool):
        answer = float(answer)
    return _compare(node.op, answer, node.value)


# --- for the browser ----------------------------------------------------------------------


def _value_data(value: Value) -> Any:
    if isinstance(value, date):
        # Tagged, so that a date is compared as a date and never as the text "2026-…".
        return {"date": value.isoformat()}
    if isinstance(value, tuple):
        return [_value_data(item) for item in value]
    return value


def to_data(node: Node) -> dict[str, Any]:
    """A tree as plain JSON data, for static/baton.js to evaluate as the requester types:
    `{"field", "op", "value"}`, `{"not": …}`, `{"and": [...]}`, `{"or": [...]}`."""
    if isinstance(node, Compare):
        return {"field": node.field, "op": node.op, "value": _value_data(node.value)}
    if isinstance(node, Not):
        return {"not": to_data(node.item)}
    key = "and" if isinstance(node, And) else "or"
    return {key: [to_data(item) for item in node.items]}
