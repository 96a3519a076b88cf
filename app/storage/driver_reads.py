"""The seam "driver reads" (BATON_DRIVER_READS, on by default): the statements the pages
asked most run (who is asking; the request page's request, steps and timeline; a
queue's first page, its counters, its version and a task's row; the live request
page's poll; the check of a kept queue page) read their rows straight from the driver's
cursor, not through SQLAlchemy's result.

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
attribute by the column's name in the SQL, as SQLAlchemy's Row names it), not
SQLAlchemy's Row. Statements whose SQL is only finished at execution (expanding IN
lists, literal binds) go through SQLAlchemy."""

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import ReturningInsert, ReturningUpdate
from sqlalchemy.util import is_exit_exception

from app.config import get_settings

Processor = Callable[[Any], Any]
# A select, or an INSERT or UPDATE whose RETURNING is read (app.storage.driver_flush).
AnySelect = Select[*tuple[Any, ...]] | ReturningInsert[Any] | ReturningUpdate[Any]


@dataclass(frozen=True)
class _Shape:
    """What the first rows' cursor said of them: each column's name (the row's
    attribute, as SQLAlchemy's row names it: the statement's label) and result processor,
    which depends on the type the driver reports (as SQLAlchemy's own result does)."""

    row: Any  # a named tuple's class
    processors: tuple[tuple[int, Processor], ...]


@dataclass
class _Plan:
    sql: str
    compiled: Any
    positional: tuple[str, ...] | None  # bind names in order, for a positional driver
    bind_processors: tuple[tuple[str, Processor], ...]
    shape: _Shape | None = None  # set by the first read (two threads set the same)


class DriverRead:
    """A select built once, whose rows are read through the driver (module docstring).
    Listeners that return a changed statement (`retval=True`) are not asked for it: Baton
    has none, and a read built once has nothing to change."""

    def __init__(self, statement: AnySelect):
        self.statement = statement
        self._plans: dict[tuple[str, str, str], _Plan | None] = {}

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> Sequence[Any]:
        if not get_settings().driver_reads:
            return connection.execute(self.statement, dict(params)).all()
        return self.returned(connection, params)

    def returned(self, connection: Connection, params: Mapping[str, Any]) -> Sequence[Any]:
        """What a write's RETURNING gives, through the driver whatever BATON_DRIVER_READS
        says (a switch of the reads; app.storage.driver_flush writes only this way). A
        statement that cannot be planned goes through SQLAlchemy."""
        plan = self._plan(connection)
        if plan is None:
            return connection.execute(self.statement, dict(params)).all()
        return self._read(connection, plan, params)

    def first(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        rows = self.rows(connection, params)
        return rows[0] if rows else None

    def _plan(self, connection: Connection) -> _Plan | None:
        dialect = connection.dialect
        key = (dialect.name, dialect.driver, dialect.paramstyle)
        if key not in self._plans:
            self._plans[key] = _plan_of(self.statement, dialect)
        return self._plans[key]

    def _read(self, connection: Connection, plan: _Plan, params: Mapping[str, Any]
              ) -> list[Any]:
        values = plan.compiled.construct_params(params)
        for name, process in plan.bind_processors:
            values[name] = process(values[name])
        args: Any = (tuple(values[name] for name in plan.positional)
                     if plan.positional is not None else values)
        if not connection.in_transaction():
            connection.begin()  # as connection.execute would (its autobegin)
        cursor = None
        try:
            cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            connection.dispatch.before_cursor_execute(connection, cursor, plan.sql, args,
                                                      None, False)
            cursor.execute(plan.sql, args)
            connection.dispatch.after_cursor_execute(connection, cursor, plan.sql, args,
                                                     None, False)
            fetched = cursor.fetchall()
            if plan.shape is None:
                plan.shape = _shape_of(self.statement, connection.dialect, cursor.description)
            cursor.close()
        except connection.dialect.loaded_dbapi.Error as error:
            # SQLAlchemy's own handling: its exception, and a lost connection invalidated.
            connection._handle_dbapi_exception(error, plan.sql, args, cursor, None)
        except BaseException as error:
            # As SQLAlchemy's: the cursor closed, and a connection left in the middle of a
            # statement (an exit: KeyboardInterrupt, a cancelled thread) never reused.
            _close_quietly(cursor)
            if is_exit_exception(error):
                connection.invalidate(error)
            raise
        make, processors = plan.shape.row._make, plan.shape.processors
        if not processors:
            return [make(row) for row in fetched]
        rows = []
        for row in fetched:
            values_read = list(row)
            for index, process in processors:
                values_read[index] = process(values_read[index])
            rows.append(make(values_read))
        return rows


def rows_of(connection: Connection, query: Any,
            params: Mapping[str, Any]) -> Sequence[Any]:
    """The rows of a DriverRead, through the driver, or of any other statement (one built
    at each request, which a DriverRead, keeping a plan per statement, is not for),
    through SQLAlchemy."""
    if isinstance(query, DriverRead):
        return query.rows(connection, params)
    return connection.execute(query, dict(params)).all()


def _close_quietly(cursor: Any) -> None:
    if cursor is not None:
        with suppress(Exception):
            cursor.close()


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


def _columns_read(statement: Any) -> Any:
    """A select's columns, or what an INSERT or UPDATE returns (app.storage.driver_flush)."""
    selected = getattr(statement, "selected_columns", None)
    return selected if selected is not None else statement.exported_columns


def _shape_of(statement: AnySelect, dialect: Any, description: Any) -> _Shape:
    processors = []
    for index, (column, described) in enumerate(
            zip(_columns_read(statement), description, strict=True)):
        process = column.type.dialect_impl(dialect).result_processor(dialect, described[1])
        if process is not None:
            processors.append((index, process))
    row = namedtuple("Row", [described[0] for described in description],  # type: ignore[misc]
                     rename=True)
    return _Shape(row, tuple(processors))
