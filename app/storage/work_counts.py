"""The overview's counters: open and claimed tasks per team and step, and how many of
them have a due time (OpenWorkCount).

Every change of a task's state goes through `moved`, which notes what the change does
to the counts; the notes are written just before the session commits, in the same
transaction as the change itself, so the counters are never more or less than the tasks
(`recount` rebuilds them from the tasks; a test compares the two after every rule).
They are written in key order: two transactions touching the same counters then lock
them in the same order and cannot deadlock on PostgreSQL.
"""

from collections import Counter
from functools import cache
from typing import Any

from sqlalchemy import bindparam, case, delete, event, func, insert
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.storage.db import in_batch, named_sql
from app.storage.models import OpenWorkCount, Task, TaskState, is_queued

_PENDING = "baton_open_work_changes"
Key = tuple[int, int, int, str]  # team, service, position, step name


def _key(task: Task) -> Key:
    return (task.team_id, task.service_id, task.position, task.step_name)


def _deltas(state: str | None, dated: bool) -> tuple[int, int, int]:
    open_, claimed = int(state == TaskState.open), int(state == TaskState.claimed)
    return (open_, claimed, (open_ + claimed) * dated)


def moved(session: Session, task: Task, old: str | None, new: str | None) -> None:
    """Notes that `task` went from state `old` to `new` (None: did not exist). A task
    opening must have its due time (if any) by then: it is counted with it."""
    dated = task.due_at is not None
    old_open, old_claimed, old_due = _deltas(old, dated)
    new_open, new_claimed, new_due = _deltas(new, dated)
    if (old_open, old_claimed) == (new_open, new_claimed):
        return
    pending: dict[Key, Counter[str]] = session.info.setdefault(_PENDING, {})
    change = pending.setdefault(_key(task), Counter())
    change["open"] += new_open - old_open
    change["claimed"] += new_claimed - old_claimed
    change["due"] += new_due - old_due


@cache
def _rows_upsert_sql(dialect: str, count: int) -> str:
    """The upsert of `count` rows in one statement, row n's values being parameters
    <column>_n (named: psycopg's %(name)s, sqlite3's :name). It takes the rows in the
    order given, so their locks in key order as one at a time did (PostgreSQL refuses a
    key given twice: the pending counts are by key). Compiled once per dialect and number
    of rows, as SQL text, as flow_figures._rows_with_weeks_sql is: SQLAlchemy's cache
    does not keep a statement of many VALUES, and a request filed counts each of its
    steps (one statement, not one a step), a task finished opens the next step's."""
    table = OpenWorkCount.__table__  # type: ignore[attr-defined]
    insert_into = sqlite_insert if dialect == "sqlite" else postgresql_insert
    statement = insert_into(table).values([
        {column.name: bindparam(f"{column.name}_{n}", type_=column.type)
         for column in table.columns} for n in range(count)])
    statement = statement.on_conflict_do_update(
        index_elements=["team_id", "service_id", "position", "step_name"],
        set_={name: getattr(table.c, name) + getattr(statement.excluded, name)
              for name in ("open_count", "claimed_count", "due_count")},
    )
    return named_sql(statement, dialect)


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    # As SQL text, one row too: the session's execution of the compiled statement took
    # 48 us on SQLite, the text 20 (in process).
    if not rows:
        return
    connection = session.connection()
    connection.exec_driver_sql(_rows_upsert_sql(connection.dialect.name, len(rows)), {
        f"{name}_{n}": value for n, row in enumerate(rows) for name, value in row.items()})


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    if in_batch():  # the batch writes these once, at its own commit
        return
    if not session.info.get(_PENDING):
        return
    # The change's own rows first, so the counters are the transaction's last locks and
    # a busy step's counter row is held for the shortest time.
    session.flush()
    pending: dict[Key, Counter[str]] = session.info.pop(_PENDING)
    _upsert(session, [
        {"team_id": team_id, "service_id": service_id, "position": position,
         "step_name": step_name, "open_count": change["open"],
         "claimed_count": change["claimed"], "due_count": change["due"]}
        for (team_id, service_id, position, step_name), change in sorted(pending.items())
        if change["open"] or change["claimed"] or change["due"]
    ])


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, transaction: Any) -> None:
    # A savepoint rolled back leaves the outer transaction's changes, and their notes.
    if not transaction.nested:
        session.info.pop(_PENDING, None)


Counts = tuple[int, int, int]  # open, claimed, of those with a due time


def counted_from_tasks(session: Session) -> dict[Key, Counts]:
    """The counts as the tasks say they are, the slow way: a scan of every queued task."""
    rows = session.exec(
        select(Task.team_id, Task.service_id, Task.position, Task.step_name,  # type: ignore[call-overload]
               func.sum(case((col(Task.state) == TaskState.open, 1), else_=0)),
               func.count(), func.count(col(Task.due_at)))
        .where(is_queued())
        .group_by(col(Task.team_id), col(Task.service_id), col(Task.position),
                  col(Task.step_name))
    ).all()
    return {(team, service, position, name): (int(opened), total - int(opened), int(due))
            for team, service, position, name, opened, total, due in rows}


def counters(session: Session) -> dict[Key, Counts]:
    """The counters, leaving out those at zero."""
    rows = session.exec(sa_select(OpenWorkCount)).scalars()  # type: ignore[call-overload]
    return {(row.team_id, row.service_id, row.position, row.step_name):
            (row.open_count, row.claimed_count, row.due_count)
            for row in rows if row.open_count or row.claimed_count or row.due_count}


def recount(session: Session) -> None:
    """Rebuilds every counter from the tasks (after a bulk load; the caller commits)."""
    session.info.pop(_PENDING, None)
    session.execute(delete(OpenWorkCount))
    counts = counted_from_tasks(session)
    if counts:
        session.execute(insert(OpenWorkCount), [
            {"team_id": team, "service_id": service, "position": position,
             "step_name": name, "open_count": opened, "claimed_count": claimed,
             "due_count": due}
            for (team, service, position, name), (opened, claimed, due)
            in sorted(counts.items())
        ])
