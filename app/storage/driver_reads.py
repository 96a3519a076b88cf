"""The seam "driver reads" (BATON_DRIVER_READS, on by default): the few statements every
page runs (who is asking, the request page's request, steps and timeline) read their
rows straight from the driver's cursor, not through SQLAlchemy's result.

Each is compiled once per dialect. SQLAlchemy's execution of a compiled statement costs
more than the statement: on PostgreSQL 0.12-0.20 ms of CPU each (the execution context,
the result's set-up from the cursor's description, which psycopg builds column by
column), against 0.06-0.08 ms for the driver to send it and read its rows; on SQLite
0.05 against 0.01 ms (bench/RESULTS.md, "Issue 18: the statements of every page
through the driver").

Invariant: the rows are the ones `connection.execute(statement, params).all()` returns,
value for value. The same SQL is sent with the same bound values (each converted by
its type as SQLAlchemy would), and every value read goes through its column type's
result processor, chosen by the type the driver said it read. The engine's
`before_cursor_execute` and `after_cursor_execute` listeners see the statement
(app.storage.db._note_writes among them), and a driver error reaches the caller as
SQLAlchemy's own, with a lost connection invalidated, because it is handed to the
connection's own handling. What a row is differs: a named tuple (index, slice, or
attribute by the column's key), not SQLAlchemy's Row. Statements whose SQL is only
finished at execution (expanding IN lists, literal binds) go through SQLAlchemy."""

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import Select

from app.config import get_settings

Processor = Callable[[Any], Any]
AnySelect = Select[*tuple[Any, ...]]


@dataclass
class _Plan:
    sql: str
    compiled: Any
    positional: tuple[str, ...] | None  # bind names in order, for a positional driver
    bind_processors: tuple[tuple[str, Processor], ...]
    # Made from the first rows' cursor: each column's result processor depends on the
    # type the driver reports for it (as SQLAlchemy's own result does).
    result_processors: tuple[tuple[int, Processor], ...] | None = None


class DriverRead:
    """A select built once, whose rows are read through the driver (module docstring)."""

    def __init__(self, statement: AnySelect):
        self.statement = statement
        self._row: Any = namedtuple("Row", statement.selected_columns.keys(),  # type: ignore[misc]
                               rename=True)
        self._plans: dict[str, _Plan | None] = {}

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> Sequence[Any]:
        plan = self._plan(connection) if get_settings().driver_reads else None
        if plan is None:
            return connection.execute(self.statement, dict(params)).all()
        return self._read(connection, plan, params)

    def first(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        rows = self.rows(connection, params)
        return rows[0] if rows else None

    def _plan(self, connection: Connection) -> _Plan | None:
        dialect = connection.dialect
        if dialect.name not in self._plans:
            self._plans[dialect.name] = _plan_of(self.statement, dialect)
        return self._plans[dialect.name]

    def _read(self, connection: Connection, plan: _Plan, params: Mapping[str, Any]
              ) -> list[Any]:
        values = plan.compiled.construct_params(params)
        for name, process in plan.bind_processors:
            values[name] = process(values[name])
        args: Any = (tuple(values[name] for name in plan.positional)
                     if plan.positional is not None else values)
        if not connection.in_transaction():
            connection.begin()  # as connection.execute would (its autobegin)
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            connection.dispatch.before_cursor_execute(connection, cursor, plan.sql, args,
                                                      None, False)
            cursor.execute(plan.sql, args)
            fetched = cursor.fetchall()
            if plan.result_processors is None:
                plan.result_processors = _result_processors(
                    self.statement, connection.dialect, cursor.description)
            connection.dispatch.after_cursor_execute(connection, cursor, plan.sql, args,
                                                     None, False)
            cursor.close()
        except connection.dialect.loaded_dbapi.Error as error:
            # SQLAlchemy's own handling: its exception, and a lost connection invalidated.
            connection._handle_dbapi_exception(error, plan.sql, args, cursor, None)
        make = self._row._make
        processors = plan.result_processors
        if not processors:
            return [make(row) for row in fetched]
        rows = []
        for row in fetched:
            values_read = list(row)
            for index, process in processors:
                values_read[index] = process(values_read[index])
            rows.append(make(values_read))
        return rows


def _plan_of(statement: AnySelect, dialect: Any) -> _Plan | None:
    compiled: Any = statement.compile(dialect=dialect)
    if (compiled.literal_execute_params or compiled.post_compile_params
            or getattr(compiled, "escaped_bind_names", None)):
        return None
    processors = []
    for bind, name in compiled.bind_names.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((name, process))
    positional = tuple(compiled.positiontup) if compiled.positional else None
    return _Plan(compiled.string, compiled, positional, tuple(processors))


def _result_processors(statement: AnySelect, dialect: Any, description: Any
                       ) -> tuple[tuple[int, Processor], ...]:
    processors = []
    for index, (column, described) in enumerate(
            zip(statement.selected_columns, description, strict=True)):
        process = column.type.dialect_impl(dialect).result_processor(dialect, described[1])
        if process is not None:
            processors.append((index, process))
    return tuple(processors)
