"""A rule's change written through the driver at its commit, instead of by the ORM's
unit of work (issue 18's targets 3 and 4).

A task transition (a claim, a completion, an approval, a release...) changes a task or
a few, its request, and adds timeline events: nothing else. The ORM's flush wrote them
a round trip a row on PostgreSQL, and its unit of work cost more than the rows
(bench.rules, a completion at 20k: 0.5 ms less on SQLite, 1.5 on PostgreSQL).

When what the session holds unwritten is exactly that (tasks and requests changed,
timeline events added, nothing deleted), `flush_through_driver` writes it:
on PostgreSQL in one statement (each row's UPDATE a data-modifying CTE, the events'
INSERT the statement, its RETURNING their ids), on SQLite a statement a changed row and
one for the events, each built once a shape and sent through the driver
(app.storage.driver_reads). Anything else pending, and it leaves all of it to the ORM.

Invariant: it does what a flush does, in a flush's order. The session's before_flush
hooks run first, the rows are written, the new events get their ids, the after_flush
hooks run while the session still shows what was pending (so the hooks that note the
queues, the inbox's events and holders, the search documents and the claims for the
flow figures note exactly what they note at a flush), then the objects are registered
as the flush registers them (the same SQLAlchemy call): persistent, with nothing left
to write, and expired or expunged by a rollback as the ORM's own writes are. The rows
are the ones the ORM writes: tests/test_driver_flush.py compares them.
"""

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Table, bindparam, insert, inspect, update
from sqlalchemy.orm import InstanceState
from sqlmodel import Session

from app.storage.driver_reads import DriverRead
from app.storage.models import ServiceRequest, Task, TimelineEvent

_UPDATED: dict[type, Table] = {
    Task: Task.__table__,  # type: ignore[attr-defined,dict-item]
    ServiceRequest: ServiceRequest.__table__,  # type: ignore[attr-defined,dict-item]
}
_EVENTS: Table = TimelineEvent.__table__  # type: ignore[attr-defined,assignment]
_EVENT_COLUMNS = tuple(column.name for column in _EVENTS.columns if column.name != "id")

# (table name, the columns an UPDATE sets) for each changed row, in order.
Shape = tuple[tuple[str, tuple[str, ...]], ...]


Pending = tuple[list[InstanceState[Any]], list[tuple[InstanceState[Any], Table, tuple[str, ...]]],
                list[InstanceState[Any]]]


def flush_through_driver(session: Session) -> bool:
    """Writes what the session holds unwritten, as a flush would, when it is only tasks
    and requests changed and timeline events added (at least one). Returns False,
    having written nothing, for anything else: the ORM's flush writes it. (Then the
    before_flush hooks may have run once more than the flushes: each notes a set.)"""
    if not hasattr(session, "_register_persistent") or _pending(session) is None:
        return False
    if session.dispatch.before_flush:
        session.dispatch.before_flush(session, None, None)  # type: ignore[arg-type]
    pending = _pending(session)  # again: a hook may have changed something more
    if pending is None:
        return False
    added, changed, dirty = pending
    added.sort(key=lambda state: state.insert_order or 0)
    ids = _write(session, changed, [state.dict for state in added])
    for state, event_id in zip(added, ids, strict=True):
        state.dict["id"] = event_id
    if session.dispatch.after_flush:
        session.dispatch.after_flush(session, None)  # type: ignore[arg-type]
    session._register_persistent({*added, *dirty})
    if session.dispatch.after_flush_postexec:
        session.dispatch.after_flush_postexec(session, None)  # type: ignore[arg-type]
    return True


def _pending(session: Session) -> Pending | None:
    """The events added, the rows changed (with their table and changed columns) and
    every object marked changed; None if anything else is pending."""
    if session.deleted or not session.new:
        return None
    added = [inspect(item) for item in session.new]
    if any(type(state.obj()) is not TimelineEvent for state in added):
        return None
    changed, dirty = [], []
    for item in session.dirty:
        table = _UPDATED.get(type(item))
        state = inspect(item)
        keys = tuple(sorted(state.committed_state))
        if table is None or "id" in keys or any(key not in table.c for key in keys):
            return None
        dirty.append(state)
        if keys:
            changed.append((state, table, keys))
    return added, changed, dirty


def _write(session: Session, changed: Sequence[tuple[InstanceState[Any], Table, tuple[str, ...]]],
           events: list[dict[str, Any]]) -> list[int]:
    connection = session.connection()
    shape: Shape = tuple((table.name, keys) for _state, table, keys in changed)
    params: dict[str, Any] = {}
    for n, values in enumerate(events):
        params.update((f"p_event_{name}_{n}", values[name]) for name in _EVENT_COLUMNS)
    if connection.dialect.name == "sqlite":
        # No CTE changes data in SQLite: an UPDATE a row, then the events in one INSERT.
        for state, table, keys in changed:
            _update_of(table.name, keys).returned(connection, {
                "p_id": state.dict["id"], **{f"p_{key}": state.dict[key] for key in keys}})
        statement = _all_in_one((), len(events))
    else:
        for n, (state, _table, keys) in enumerate(changed):
            params[f"p_id_{n}"] = state.dict["id"]
            params.update((f"p_{key}_{n}", state.dict[key]) for key in keys)
        statement = _all_in_one(shape, len(events))
    # The ids of one INSERT's rows are given in the order of its VALUES (PostgreSQL's
    # sequence, SQLite's next rowid), whatever the order RETURNING gives them in.
    return sorted(row[0] for row in statement.returned(connection, params))


def _table(name: str) -> Table:
    return next(table for table in _UPDATED.values() if table.name == name)


@lru_cache(maxsize=64)
def _update_of(name: str, keys: tuple[str, ...]) -> DriverRead:
    table = _table(name)
    return DriverRead(update(table).where(table.c.id == bindparam("p_id", type_=Integer))
                      .values({key: bindparam(f"p_{key}", type_=table.c[key].type)
                               for key in keys})
                      .returning(table.c.id))


@lru_cache(maxsize=256)
def _all_in_one(shape: Shape, events: int) -> DriverRead:
    """The events' INSERT; on PostgreSQL with the rows' UPDATEs as its CTEs, one
    statement. Every CTE that changes data is carried out, whether or not the statement
    reads it."""
    statement = insert(_EVENTS).values([
        {name: bindparam(f"p_event_{name}_{n}", type_=_EVENTS.c[name].type)
         for name in _EVENT_COLUMNS} for n in range(events)]).returning(_EVENTS.c.id)
    for n, (name, keys) in enumerate(shape):
        table = _table(name)
        statement = statement.add_cte(
            update(table).where(table.c.id == bindparam(f"p_id_{n}", type_=Integer))
            .values({key: bindparam(f"p_{key}_{n}", type_=table.c[key].type) for key in keys})
            .returning(table.c.id).cte(f"changed_{n}"))
    return DriverRead(statement)
