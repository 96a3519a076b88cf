"""The lines of a download of a list of tasks (a queue's, My work's, the overview's CSV):
the same tasks and names as the list's pages (app.reads.task_rows), as plain tuples read
in batches, in constant memory."""

from collections.abc import Collection, Iterator, Sequence
from typing import Any

from sqlalchemy import FunctionElement, Integer, String, any_, bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlmodel import Session, col, select

from app.reads.queues import TaskFilter, conditions_of, order_of, sort_named
from app.storage.models import Service, ServiceRequest, Task, Team, User, utcnow

# The values of a task line of a download, in this order: plain tuples, not TaskRow (a
# download reads 100,000 rows; building five objects a row cost more than reading it).
# The three moments are UTC text, `2026-12-03T09:30:05Z` (see UtcText).
EXPORT_COLUMNS = (
    "request_id", "title", "service_name", "position", "step_name", "kind", "team_name",
    "state", "requester_name", "assignee_name", "opened_at", "due_at", "state_changed_at",
)
# Rows a download takes from the database at a time (a server-side cursor's fetch on
# PostgreSQL), and whose names it then looks up. Read when called, so a test may make
# it small.
EXPORT_BATCH = 2000


def task_lines(session: Session, *, filters: TaskFilter, batch: int | None = None
               ) -> Iterator[tuple[Any, ...]]:
    """Every task of the list, in its order, as EXPORT_COLUMNS tuples: what the list's
    pages show one after the other (the same tasks, the same names), without the
    objects. One query, streamed: on PostgreSQL a server-side cursor read a batch at a
    time, on SQLite its cursor stepped as rows are taken, so a CSV of the list streams in
    constant memory while the request's session stays open. The names are read into
    small dictionaries when a batch first points at them (100,000 tasks name a few
    thousand people, a few dozen teams and services), not by five subqueries a row."""
    size = batch or EXPORT_BATCH
    if filters.overdue and filters.now is None:
        filters.now = utcnow()
    query = (_EXPORT_LINES.where(*conditions_of(filters))
             .order_by(*order_of(sort_named(filters.sort))).execution_options(yield_per=size))
    names = _Names(session)
    # Core, not the ORM's execute: the ORM's loading of each row cost as much as its read.
    for rows in session.connection().execute(query).partitions():
        names.learn(rows)
        service, team, user = names.service, names.team, names.user
        yield from [
            (request_id, title, service[service_id], position, step_name, kind,
             team[team_id], state, user[requester_id],
             None if assignee_id is None else user[assignee_id],
             opened_at, due_at, changed_at)
            for (request_id, title, service_id, position, step_name, kind, team_id, state,
                 requester_id, assignee_id, opened_at, due_at, changed_at) in rows]


class UtcText(FunctionElement[str]):
    """A moment as `2026-12-03T09:30:05Z` (to the second, as app.web.csv_export writes
    one), made by the database: turning SQLite's stored text into an aware datetime
    and back into text cost more in Python than reading the row."""

    type = String()
    name = "utc_text"
    inherit_cache = True


@compiles(UtcText, "sqlite")
def _utc_text_on_sqlite(element: UtcText, compiler: Any, **kw: Any) -> str:
    # Stored as UTC text, `2026-12-03 09:30:05.123456` (SQLAlchemy's DateTime on SQLite):
    # its day and its time to the second. strftime() would parse it first, and cost
    # SQLite twice as much (4 us a row for three moments); NULL stays NULL.
    moment = compiler.process(element.clauses, **kw)
    return f"(substr({moment}, 1, 10) || 'T' || substr({moment}, 12, 8) || 'Z')"


@compiles(UtcText, "postgresql")
def _utc_text_on_postgresql(element: UtcText, compiler: Any, **kw: Any) -> str:
    moment = compiler.process(element.clauses, **kw)
    return f"""to_char({moment} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


_EXPORT_LINES = sa_select(  # type: ignore[call-overload]  # past the typed arity
    Task.request_id, Task.request_title, Task.service_id, Task.position, Task.step_name,
    Task.kind, Task.team_id, Task.state,
    # A subquery, not a join, for the reason app.reads.task_rows._rows_query says.
    select(ServiceRequest.requester_id)
    .where(ServiceRequest.id == Task.request_id).scalar_subquery(),
    Task.assignee_id, UtcText(Task.opened_at), UtcText(Task.due_at),
    UtcText(Task.state_changed_at),
)


class _Names:
    """The names of the services, teams and people a download's rows point at, read
    when a batch first points at them (a batch's unknown ids in one query a kind)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.service: dict[int, str] = {}
        self.team: dict[int, str] = {}
        self.user: dict[int, str] = {}

    def learn(self, rows: Sequence[Any]) -> None:
        self._read(Service, self.service, {row[2] for row in rows})
        self._read(Team, self.team, {row[6] for row in rows})
        people = {row[8] for row in rows}
        people.update(row[9] for row in rows if row[9] is not None)
        self._read(User, self.user, people)

    def _read(self, model: Any, known: dict[int, str], wanted: set[int]) -> None:
        known.update(names_by_id(self.session, model, wanted - known.keys()))


_CHUNK = 900  # ids per statement: below SQLite's limit of parameters


def names_by_id(session: Session, model: Any, ids: Collection[int]) -> dict[int, str]:
    """The names of these services, teams or people (`model`) by their ids, read now:
    one statement per 900 ids."""
    statement = (_NAMES_OF_ARRAY if session.connection().dialect.name == "postgresql"
                 else _NAMES_OF)[model]
    wanted, found = list(ids), dict[int, str]()
    for start in range(0, len(wanted), _CHUNK):
        found.update(session.connection().execute(
            statement, {"ids": wanted[start:start + _CHUNK]}).all())
    return found


# One statement a kind, its ids bound when run (a list in `in_` would make a statement,
# its parameters checked one by one, at every lookup). On PostgreSQL the ids are one
# array: the same statement text every time, which psycopg then prepares, where an
# `IN` of 900 parameters took twice as long (18,000 people: 0.6 s against 0.3 s).
_MODELS = (Service, Team, User)
_NAMES_OF: dict[Any, Any] = {
    model: sa_select(col(model.id), col(model.name))
    .where(col(model.id).in_(bindparam("ids", expanding=True)))
    for model in _MODELS
}
_NAMES_OF_ARRAY: dict[Any, Any] = {
    model: sa_select(col(model.id), col(model.name))
    .where(col(model.id) == any_(bindparam("ids", type_=ARRAY(Integer))))
    for model in _MODELS
}
