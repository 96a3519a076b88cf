"""Reports on typed answers: a service's requests, of every version, filtered by a
condition on the answers (the language of step conditions and `show_if`, checked against
the service's current form with the same checks), by state and by the submitted date;
sorted by the submitted time or by a field; a page at a time with an exact count.

The condition becomes a SQL WHERE over the JSON answers, on SQLite (json_extract) and on
PostgreSQL (->>, casts) alike, and means what `conditions.evaluate` means: a comparison
on a missing answer is false, so `not` of it is true. A comparison only looks at requests
filed under a version whose form has that field with the same type (an older version
without it, or with a text field of the same key, simply does not match); the test sits in
a CASE, which PostgreSQL evaluates first, so a text answer is never cast to a number.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    text,
    type_coerce,
    union_all,
)
from sqlalchemy import select as select_columns
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Session, col, select

from app.format.conditions import And, Compare, ConditionError, Node, Not, Or
from app.format.definitions import FieldDefinition, ServiceDefinition, field_types
from app.reads.report_filters import ReportQuery, Sort
from app.reads.request_detail import AnswerLine
from app.rules.catalog import definition_of
from app.storage.models import (
    RequestState,
    Service,
    ServiceRequest,
    ServiceVersion,
    User,
    request_number,
)
from app.storage.report_index import SHORT_ANSWERS

PAGE_SIZE = 50
# Field types a report's table shows and may sort by: a file's answer is its attachments
# (the request page lists them) and a long text would make each row a page tall (the
# download has it); a list or a person is not ordered.
SHOWN_TYPES = ("text", "number", "date", "select", "multi_select", "checkbox", "email",
               "person")


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """A request as the report lists it: plain values that no session tracks, made many
    times faster than a ServiceRequest (a download makes one a row)."""

    id: int
    title: str
    state: str
    created_at: datetime
    closed_at: datetime | None
    version_id: int
    answers: dict[str, Any]

    @property
    def number(self) -> str:
        return request_number(self.id)


@dataclass
class ReportRow:
    request: ReportRequest
    requester_name: str
    answers: list[AnswerLine]


@dataclass
class ReportPage:
    columns: list[FieldDefinition]
    rows: list[ReportRow]
    total: int
    page: int
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(1, -(-self.total // PAGE_SIZE))


def columns_of(definition: ServiceDefinition, *, long_text: bool = False
               ) -> list[FieldDefinition]:
    """The fields the table shows (`long_text`: and the long texts, for the download)."""
    return [f for f in definition.fields
            if f.type in SHOWN_TYPES or (long_text and f.type == "long_text")]


# --- the condition as SQL -----------------------------------------------------------------

# A text JSON writes as it is: printable ASCII but the quote, the backslash and the slash.
_PLAIN = re.compile(r"[ !#-.0-\[\]-~]{1,200}")


class _Translator:
    """Turns a checked condition into a WHERE clause for one service's requests."""

    def __init__(self, *, definition: ServiceDefinition, versions: dict[int, ServiceDefinition],
                 dialect: str):
        self.types = field_types(definition.fields)
        self.versions = versions
        self.dialect = dialect

    def versions_with(self, key: str) -> list[int] | None:
        """The versions whose form has `key` with its current type; None for all of them."""
        kind = self.types[key][0]
        ids = [version_id for version_id, form in self.versions.items()
               if any(f.key == key and f.type == kind for f in form.fields)]
        return None if len(ids) == len(self.versions) else ids

    def typed(self, key: str) -> ColumnElement[Any]:
        """The answer as SQL of its type (NULL when it is missing)."""
        kind = self.types[key][0]
        answer = ServiceRequest.__table__.c.answers[key]  # type: ignore[attr-defined]
        if kind == "number":
            return answer.as_float()  # type: ignore[no-any-return]
        if kind == "checkbox":
            return answer.as_boolean()  # type: ignore[no-any-return]
        return answer.as_string()  # type: ignore[no-any-return]  # dates are ISO text

    def guarded(self, key: str, expression: ColumnElement[Any]) -> ColumnElement[Any] | None:
        ids = self.versions_with(key)
        if ids is None:
            return expression
        if not ids:
            return None
        return case((col(ServiceRequest.version_id).in_(ids), expression))

    def clause(self, node: Node) -> ColumnElement[bool]:
        if isinstance(node, Not):
            return not_(self.clause(node.item))
        if isinstance(node, And):
            return and_(*(self.clause(item) for item in node.items))
        if isinstance(node, Or):
            return or_(*(self.clause(item) for item in node.items))
        test = self.guarded(node.field, self.comparison(node))
        # NULL (a missing answer, another version) is false, never unknown: `not` of it
        # is then true, as conditions.evaluate has it.
        return false() if test is None else func.coalesce(test, false())

    def comparison(self, node: Compare) -> ColumnElement[bool]:
        value = node.value
        if node.op == "includes":
            return self.mentioning([value], self.includes(node.field, str(value)))
        answer = self.typed(node.field)
        if node.op == "in":
            values = list(value) if isinstance(value, tuple) else [value]
            return self.mentioning(values, answer.in_(values))
        if node.op in ("==", "is") and isinstance(value, str):
            return self.mentioning([value], answer == value)
        if isinstance(value, date):
            value = value.isoformat()
        op = "==" if node.op == "is" else node.op
        return {  # type: ignore[no-any-return]
            "==": answer.__eq__, "!=": answer.__ne__, "<": answer.__lt__,
            "<=": answer.__le__, ">": answer.__gt__, ">=": answer.__ge__,
        }[op](value)

    def mentioning(self, values: list[Any], test: ColumnElement[bool]) -> ColumnElement[bool]:
        """`test`, on SQLite first narrowed to the answers whose JSON text holds one of
        the texts sought, in quotes: a text search is several times cheaper than reading
        the JSON, and an answer equal to the text has it written so. Only for plain
        texts, which any JSON writer writes as they are (no quote, backslash or slash,
        nothing past ASCII)."""
        if self.dialect != "sqlite" or not all(
                isinstance(v, str) and _PLAIN.fullmatch(v) for v in values):
            return test
        answers = ServiceRequest.__table__.c.answers  # type: ignore[attr-defined]
        return and_(or_(*(func.instr(answers, f'"{v}"') > 0 for v in values)), test)

    def includes(self, key: str, option: str) -> ColumnElement[bool]:
        answers = ServiceRequest.__table__.c.answers  # type: ignore[attr-defined]
        if self.dialect == "postgresql":
            return type_coerce(answers, JSONB)[key].contains([option])  # type: ignore[no-any-return]
        if self.dialect == "sqlite":
            chosen = func.json_each(answers, f'$."{key}"').table_valued("value")
            return exists(select(literal(1)).select_from(chosen).where(chosen.c.value == option))
        raise ConditionError(f"'includes' cannot be searched on {self.dialect}")


# --- reading ------------------------------------------------------------------------------


def versions_of(session: Session, service: Service) -> dict[int, ServiceDefinition]:
    return {version.id: definition_of(version) for version in session.exec(
        select(ServiceVersion).where(ServiceVersion.service_id == service.id)
    )}


def _until_end_of(column: Any, day: date) -> ColumnElement[bool]:
    """`column` on or before `day` (UTC): before the next midnight, which the calendar's
    last day does not have."""
    if day == date.max:
        return column.is_not(None)  # type: ignore[no-any-return]
    return column < _midnight(day + timedelta(days=1))  # type: ignore[no-any-return]


def _where(
    session: Session, *, service: Service, definition: ServiceDefinition,
    versions: dict[int, ServiceDefinition], query: ReportQuery,
) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [col(ServiceRequest.service_id) == service.id]
    if query.states:
        clauses.append(col(ServiceRequest.state).in_(query.states))
    if query.submitted_from:
        clauses.append(col(ServiceRequest.created_at) >= _midnight(query.submitted_from))
    if query.submitted_to:
        clauses.append(_until_end_of(col(ServiceRequest.created_at), query.submitted_to))
    if query.completed_from or query.completed_to:
        # As the insights count a completed request: by when it was completed (a
        # rejected or cancelled request was closed, never completed).
        clauses.append(col(ServiceRequest.state) == RequestState.completed.value)
    if query.completed_from:
        clauses.append(col(ServiceRequest.closed_at) >= _midnight(query.completed_from))
    if query.completed_to:
        clauses.append(_until_end_of(col(ServiceRequest.closed_at), query.completed_to))
    if query.condition is not None:
        dialect = session.get_bind().dialect.name
        translator = _Translator(definition=definition, versions=versions, dialect=dialect)
        clauses.append(translator.clause(query.condition))
    return clauses


def _midnight(day: date) -> datetime:
    # Times are kept and shown in UTC (app.web.render.when), so a day is a UTC day.
    return datetime.combine(day, time(), tzinfo=UTC)


def _order_keys(definition: ServiceDefinition, versions: dict[int, ServiceDefinition],
                sort: Sort) -> list[tuple[Any, bool]]:
    """What the report is ordered by: (expression, descending) from first to last."""
    request_id = col(ServiceRequest.id)
    if sort.key == "submitted":
        return [(request_id, sort.descending)]
    translator = _Translator(definition=definition, versions=versions, dialect="")
    value = translator.guarded(sort.key, translator.typed(sort.key))
    if value is None:
        return [(request_id, sort.descending)]
    # Requests without the answer come last in either direction; ties newest first.
    return [(case((value.is_(None), 1), else_=0), False), (value, sort.descending),
            (request_id, True)]


def _order(definition: ServiceDefinition, versions: dict[int, ServiceDefinition],
           sort: Sort) -> list[Any]:
    return [key.desc() if descending else key.asc()
            for key, descending in _order_keys(definition, versions, sort)]


def _matching(dialect: str, clauses: list[ColumnElement[bool]],
              keys: list[tuple[Any, bool]]) -> Any:
    """The requests that match, as a subquery of their ids (`id`) and order keys (`k0`
    …), read from the report's indexes (app.storage.report_index): on PostgreSQL the
    requests with short answers and the others apart, each half from its own index."""
    columns = [col(ServiceRequest.id), *(key.label(f"k{n}") for n, (key, _d) in
                                         enumerate(keys))]
    if dialect != "postgresql":
        return select_columns(*columns).where(*clauses).subquery("matching")
    return union_all(
        select_columns(*columns).where(*clauses, text(SHORT_ANSWERS)),
        select_columns(*columns).where(*clauses, text(f"NOT ({SHORT_ANSWERS})")),
    ).subquery("matching")


def answer_report(
    session: Session, *, service: Service, definition: ServiceDefinition, query: ReportQuery,
) -> ReportPage:
    """One page of the report, with the exact number of requests that match.

    Requests are numbered in the order they were filed, so the submitted order is the
    id's. The page's ids are chosen from the columns the report index holds (on SQLite,
    models' ix_service_request_report: one stretch of it per service), then only those
    requests are read whole."""
    versions = versions_of(session, service)
    clauses = _where(session, service=service, definition=definition, versions=versions,
                     query=query)
    keys = _order_keys(definition, versions, query.sort)
    matching = _matching(session.get_bind().dialect.name, clauses, keys)
    order = [matching.c[f"k{n}"].desc() if descending else matching.c[f"k{n}"].asc()
             for n, (_key, descending) in enumerate(keys)]
    offset = (query.page - 1) * PAGE_SIZE
    request_id = col(ServiceRequest.id)
    dense = query.condition is None and query.sort.key == "submitted" and not any(
        (query.submitted_from, query.submitted_to, query.completed_from, query.completed_to))
    if dense:
        # All of the service, or the requests in some states: the page finds its rows
        # among the first it reads, from the table (newest first); the count reads an
        # index alone: the service's (service_id) for all of them, else the report's.
        counted_from = ServiceRequest if not query.states else matching
        total = session.exec(select(func.count()).select_from(counted_from)
                             .where(*(clauses if not query.states else ()))).one()
        page: Any = select_columns(request_id).where(*clauses).order_by(
            *_order(definition, versions, query.sort)).offset(offset)
        ids = [row[0] for row in session.exec(page.limit(PAGE_SIZE))]
    else:
        # A test of the answers or dates (or an order by an answer) may match few, so the
        # page would read as far as the count does: the service is read once, with the
        # count riding along as a window over every match, taken before the LIMIT. A
        # page past the last has no row to carry it, and counts apart.
        counted: Any = select_columns(matching.c.id, func.count().over()).order_by(*order)
        found = list(session.exec(counted.offset(offset).limit(PAGE_SIZE)))
        ids = [row[0] for row in found]
        total = found[0][1] if found else session.exec(
            select(func.count()).select_from(matching)).one()
    columns = columns_of(definition)
    kinds = _kinds_by_version(versions)
    rows = {row.request.id: row for row in _rows(
        session, columns, kinds, _row_statement().where(request_id.in_(ids)))} if ids else {}
    return ReportPage(columns=columns, total=total, page=query.page,
                      rows=[rows[number] for number in ids])


def _row_statement() -> Any:
    return select_columns(*(col(column) for column in (
        ServiceRequest.id, ServiceRequest.title, ServiceRequest.state,
        ServiceRequest.created_at, ServiceRequest.closed_at, ServiceRequest.version_id,
        ServiceRequest.answers, User.name))).join(User, col(User.id) == ServiceRequest.requester_id)


def _rows(session: Session, columns: list[FieldDefinition], kinds: dict[int, dict[str, str]],
          statement: Any) -> Iterator[ReportRow]:
    """The rows as plain columns: nothing piles up in the session, however many a
    download reads."""
    for *values, name in session.exec(statement):
        request = ReportRequest(*values)
        yield ReportRow(request, name, _answers(columns, kinds, request))


def all_report_rows(
    session: Session, *, service: Service, definition: ServiceDefinition, query: ReportQuery,
    batch: int = 1000,
) -> Iterator[ReportRow]:
    """Every request the report's filters select (not one page), in its order, for a
    download: fetched `batch` rows at a time from one query (a server-side cursor on
    PostgreSQL), so memory stays the same however many there are."""
    versions = versions_of(session, service)
    clauses = _where(session, service=service, definition=definition, versions=versions,
                     query=query)
    statement = (_row_statement().where(*clauses)
                 .order_by(*_order(definition, versions, query.sort))
                 .execution_options(yield_per=batch))
    yield from _rows(session, columns_of(definition, long_text=True),
                     _kinds_by_version(versions), statement)


def _kinds_by_version(versions: dict[int, ServiceDefinition]) -> dict[int, dict[str, str]]:
    """Each version's field types by key, worked out once per page or download."""
    return {version_id: {f.key: f.type for f in form.fields}
            for version_id, form in versions.items()}


def _answers(columns: list[FieldDefinition], kinds_by_version: dict[int, dict[str, str]],
             request: ReportRequest) -> list[AnswerLine]:
    """The answers under the current form's columns; an answer given to a field of
    another type under the same key in an older version is not shown as this one."""
    kinds = kinds_by_version.get(request.version_id, {})
    return [AnswerLine(f, request.answers.get(f.key) if kinds.get(f.key) == f.type else None, [])
            for f in columns]

