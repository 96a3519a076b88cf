"""A rule's change written through the driver at its commit, instead of by the ORM's
unit of work (issue 18's targets 3 and 4).

A task transition (a claim, a completion, an approval, a release...) changes a task or
a few, its request, and adds timeline events: nothing else. A filing adds a request,
then its tasks, its events and its files. The ORM's flush wrote them a round trip a row
on PostgreSQL, and its unit of work cost more than the rows (bench.rules, a completion
at 20k: 0.5 ms less on SQLite, 1.5 on PostgreSQL).

When what the session holds unwritten is exactly that (requests, tasks, timeline events
and files added with every column set, tasks and requests changed, nothing deleted),
`flush_through_driver` writes it: on PostgreSQL in one statement (each row's UPDATE a
data-modifying CTE, the INSERT of one table the statement and its RETURNING the new ids;
of several tables, each INSERT a CTE too), on SQLite a statement a changed row and one
a table with new rows, each built once a shape and sent through the driver
(app.storage.driver_reads). Anything else pending, and it leaves all of it to the ORM.

Invariant: it does what a flush does, in a flush's order. The session's before_flush
hooks run first, the rows are written, the new rows get their ids, the after_flush
hooks run while the session still shows what was pending (so the hooks that note the
queues, the inbox's events and holders, the search documents and the claims for the
flow figures note exactly what they note at a flush), then the objects are registered
as the flush registers them (the same SQLAlchemy call): persistent, with nothing left
to write, and expired or expunged by a rollback as the ORM's own writes are. The rows
are the ones the ORM writes: tests/test_driver_flush.py compares them.
"""

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Integer,
    Table,
    bindparam,
    insert,
    inspect,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import InstanceState
from sqlmodel import Session

from app.storage.driver_reads import DriverRead
from app.storage.models import Attachment, ServiceRequest, Task, TimelineEvent

_UPDATED: dict[type, Table] = {
    Task: Task.__table__,  # type: ignore[attr-defined,dict-item]
    ServiceRequest: ServiceRequest.__table__,  # type: ignore[attr-defined,dict-item]
}
# The tables whose new rows it inserts, in the order the ORM inserts them (a task names
# its request, an event its request and task, a file its request).
_INSERTED: dict[type, Table] = {
    ServiceRequest: ServiceRequest.__table__,  # type: ignore[attr-defined,dict-item]
    Task: Task.__table__,  # type: ignore[attr-defined,dict-item]
    TimelineEvent: TimelineEvent.__table__,  # type: ignore[attr-defined,dict-item]
    Attachment: Attachment.__table__,  # type: ignore[attr-defined,dict-item]
}
_TABLES = {table.name: table for table in (*_UPDATED.values(), *_INSERTED.values())}
_COLUMNS = {name: tuple(column.name for column in table.columns if column.name != "id")
            for name, table in _TABLES.items()}
# Columns a None may not be inserted into: the ORM leaves a None out of its INSERT (the
# column's default applies, or the database refuses it); such a row is left to the ORM.
_NOT_NULL = {name: tuple(column.name for column in table.columns
                         if column.name != "id" and not column.nullable)
             for name, table in _TABLES.items()}

# (table name, the columns an UPDATE sets) for each changed row, in order.
Shape = tuple[tuple[str, tuple[str, ...]], ...]
# (table name, how many rows) for each table with new rows, in the order inserted.
Added = tuple[tuple[str, int], ...]

Changed = list[tuple[InstanceState[Any], Table, tuple[str, ...]]]
Pending = tuple[list[list[InstanceState[Any]]], Changed, list[InstanceState[Any]]]


def flush(session: Session) -> None:
    """A flush: through the driver when it can, else the ORM's."""
    if not flush_through_driver(session):
        session.flush()


def flush_through_driver(session: Session) -> bool:
    """Writes what the session holds unwritten, as a flush would, when it is only
    requests, tasks, timeline events and files added and tasks and requests changed (at
    least one row added). Returns False, having written nothing, for anything else: the ORM's
    flush writes it. (Then the before_flush hooks may have run once more than the
    flushes: each notes a set.)"""
    if not hasattr(session, "_register_persistent") or _pending(session) is None:
        return False
    if session.dispatch.before_flush:
        session.dispatch.before_flush(session, None, None)  # type: ignore[arg-type]
    pending = _pending(session)  # again: a hook may have changed something more
    if pending is None:
        return False
    added, changed, dirty = pending
    for group, ids in zip(added, _write(session, changed, added), strict=True):
        for state, new_id in zip(group, ids, strict=True):
            state.dict["id"] = new_id
    if session.dispatch.after_flush:
        session.dispatch.after_flush(session, None)  # type: ignore[arg-type]
    session._register_persistent({*(state for group in added for state in group), *dirty})
    if session.dispatch.after_flush_postexec:
        session.dispatch.after_flush_postexec(session, None)  # type: ignore[arg-type]
    return True


def _pending(session: Session) -> Pending | None:
    """The rows added (a list a table, in the order inserted, each in the order added),
    the rows changed (with their table and changed columns) and every object marked
    changed; None if anything else is pending."""
    if session.deleted or not session.new:
        return None
    groups: dict[type, list[InstanceState[Any]]] = {kind: [] for kind in _INSERTED}
    for item in session.new:
        state = inspect(item)
        group = groups.get(type(item))
        # Every column's value set, as a model's constructor sets them, none of them a
        # None where the column takes none, and no id: what the ORM would insert is then
        # exactly the object's values.
        if group is None or state.dict.get("id") is not None:
            return None
        into = _INSERTED[type(item)].name
        if any(name not in state.dict for name in _COLUMNS[into]) or any(
                state.dict[name] is None for name in _NOT_NULL[into]):
            return None
        group.append(state)
    added = [sorted(group, key=lambda state: state.insert_order or 0)
             for group in groups.values() if group]
    changed: Changed = []
    dirty = []
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


def _write(session: Session, changed: Changed, added: list[list[InstanceState[Any]]]
           ) -> list[list[int]]:
    """Writes the rows; the new rows' ids, a list a table of `added`."""
    connection = session.connection()
    shape: Shape = tuple((table.name, keys) for _state, table, keys in changed)
    tables = tuple((_INSERTED[type(group[0].obj())].name, len(group)) for group in added)
    params: dict[str, Any] = {}
    for (name, _count), group in zip(tables, added, strict=True):
        for n, state in enumerate(group):
            values = state.dict
            params.update((f"p_{name}_{column}_{n}", values[column])
                          for column in _COLUMNS[name])
    if connection.dialect.name == "sqlite":
        # No CTE changes data in SQLite: an UPDATE a row, then an INSERT a table.
        for state, table, keys in changed:
            _update_of(table.name, keys).returned(connection, {
                "p_id": state.dict["id"], **{f"p_{key}": state.dict[key] for key in keys}})
        return [_sorted_ids(_all_in_one((), (entry,)).returned(connection, params))
                for entry in tables]
    for n, (state, _table, keys) in enumerate(changed):
        params[f"p_id_{n}"] = state.dict["id"]
        params.update((f"p_{key}_{n}", state.dict[key]) for key in keys)
    rows = _all_in_one(shape, tables).returned(connection, params)
    if len(tables) == 1:
        return [_sorted_ids(rows)]
    return [_sorted_ids(row[1:] for row in rows if row[0] == g) for g in range(len(tables))]


def _sorted_ids(rows: Any) -> list[int]:
    # The ids of one INSERT's rows are given in the order of its VALUES (PostgreSQL's
    # sequence, SQLite's next rowid), whatever the order RETURNING gives them in.
    return sorted(row[0] for row in rows)


@lru_cache(maxsize=64)
def _update_of(name: str, keys: tuple[str, ...]) -> DriverRead:
    table = _TABLES[name]
    return DriverRead(update(table).where(table.c.id == bindparam("p_id", type_=Integer))
                      .values({key: bindparam(f"p_{key}", type_=table.c[key].type)
                               for key in keys})
                      .returning(table.c.id))


def _insert_of(name: str, count: int) -> Any:
    table = _TABLES[name]
    return insert(table).values([
        {column: bindparam(f"p_{name}_{column}_{n}", type_=table.c[column].type)
         for column in _COLUMNS[name]} for n in range(count)]).returning(table.c.id)


@lru_cache(maxsize=256)
def _all_in_one(shape: Shape, tables: Added) -> DriverRead:
    """The INSERTs of `tables` and, on PostgreSQL, the rows' UPDATEs as CTEs: one
    statement. With one table, its INSERT is the statement and returns the ids; with
    more, each INSERT is a CTE too, and the statement returns (its place in `tables`,
    id) for every new row. Every CTE that changes data is carried out, whether or not
    the statement reads it."""
    statement: Any
    if len(tables) == 1:
        statement = _insert_of(*tables[0])
    else:
        inserts = [_insert_of(name, count).cte(f"added_{g}")
                   for g, (name, count) in enumerate(tables)]
        statement = union_all(*[select(literal(g, Integer).label("added"), cte.c.id)
                                for g, cte in enumerate(inserts)])
    for n, (name, keys) in enumerate(shape):
        table = _TABLES[name]
        statement = statement.add_cte(
            update(table).where(table.c.id == bindparam(f"p_id_{n}", type_=Integer))
            .values({key: bindparam(f"p_{key}_{n}", type_=table.c[key].type) for key in keys})
            .returning(table.c.id).cte(f"changed_{n}"))
    return DriverRead(statement)
