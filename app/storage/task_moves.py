"""A task changing hands, written through the driver: a claim, a release, a hand-over or
an assignment changes three rows (the task's state and holder, the request's
`updated_at`, a new timeline event) and nothing else. Through the ORM's unit of work
that was a third of a claim's time and three round trips; here it is one statement on
PostgreSQL (two data-modifying CTEs and the event's INSERT) and three on SQLite, each
compiled once and sent through the driver (app.storage.driver_reads).

Invariant: the rows are what the ORM would have written, and the session's objects say
what the rows say (their attributes set as loaded, so nothing is left to flush; after a
rollback, of a savepoint too, they are expired and read again, as the ORM expires what
it wrote). The commit's hooks see the change as they would have seen the ORM's: the
rule that calls this notes it for them (app.rules.progress.move_holder).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, insert, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from app.storage.db import count_written_in_batch
from app.storage.driver_reads import DriverRead
from app.storage.models import ServiceRequest, Task, TimelineEvent

_TASKS: Any = Task.__table__  # type: ignore[attr-defined]
_REQUESTS: Any = ServiceRequest.__table__  # type: ignore[attr-defined]
_EVENTS: Any = TimelineEvent.__table__  # type: ignore[attr-defined]

_MOVED = "objects_moved_through_the_driver"
# The task's columns a move sets (set_task_state's, and the holder).
MOVED_COLUMNS = ("state", "assignee_id", "state_changed_at", "opened_at", "closed_at")


def _task_moved() -> Any:
    return (update(_TASKS).where(_TASKS.c.id == bindparam("p_task_id"))
            .values({name: bindparam(f"p_{name}", type_=_TASKS.c[name].type)
                     for name in MOVED_COLUMNS})
            .returning(_TASKS.c.id))


def _request_touched() -> Any:
    return (update(_REQUESTS).where(_REQUESTS.c.id == bindparam("p_request_id"))
            .values(updated_at=bindparam("p_at", type_=_REQUESTS.c.updated_at.type))
            .returning(_REQUESTS.c.id))


def _event_recorded() -> Any:
    return (insert(_EVENTS).values(
        request_id=bindparam("p_request_id", type_=_EVENTS.c.request_id.type),
        task_id=bindparam("p_task_id", type_=_EVENTS.c.task_id.type),
        actor_id=bindparam("p_actor_id", type_=_EVENTS.c.actor_id.type),
        kind=bindparam("p_kind", type_=_EVENTS.c.kind.type),
        note=bindparam("p_note", type_=_EVENTS.c.note.type),
        is_internal=bindparam("p_is_internal", type_=_EVENTS.c.is_internal.type),
        created_at=bindparam("p_at", type_=_EVENTS.c.created_at.type),
        via=bindparam("p_via", type_=_EVENTS.c.via.type),
    ).returning(_EVENTS.c.id))


# PostgreSQL: one round trip. Every part of a statement sees the same snapshot and the
# CTEs' updates are all carried out, whether or not their rows are read.
_MOVE_IN_ONE = DriverRead(_event_recorded()
                          .add_cte(_task_moved().cte("moved"))
                          .add_cte(_request_touched().cte("touched")))
# SQLite: three statements in the process, each cheap.
_MOVE_IN_THREE = (DriverRead(_task_moved()), DriverRead(_request_touched()),
                  DriverRead(_event_recorded()))


def write_move(session: Session, *, task: Task, request: ServiceRequest,
               values: dict[str, Any], recorded: TimelineEvent) -> None:
    """Writes `values` (MOVED_COLUMNS) to `task`, the event's time as the request's
    `updated_at`, and `recorded` (its id set from the row); the objects then say the same."""
    # Named apart from the columns: a statement is never given a value of another's.
    params = {f"p_{name}": value for name, value in {
        **values, "task_id": task.id, "request_id": request.id, "at": recorded.created_at,
        "actor_id": recorded.actor_id, "kind": str(recorded.kind), "note": recorded.note,
        "is_internal": recorded.is_internal, "via": recorded.via,
    }.items()}
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        moved, touched, inserted = _MOVE_IN_THREE
        moved.returned(connection, params)
        touched.returned(connection, params)
        event_id = inserted.returned(connection, params)[0][0]
    else:
        event_id = _MOVE_IN_ONE.returned(connection, params)[0][0]
    count_written_in_batch(session)
    for name, value in values.items():
        set_committed_value(task, name, value)
    set_committed_value(request, "updated_at", recorded.created_at)
    set_committed_value(recorded, "id", event_id)
    session.info.setdefault(_MOVED, []).extend((task, request))


@event.listens_for(Session, "after_commit")
def _forget_moved(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_MOVED, None)


@event.listens_for(Session, "after_soft_rollback")
def _expire_moved(session: Session, transaction: Any) -> None:
    # The ORM expires the objects whose changes a rollback undid; it knows nothing of
    # these. Expiring too many (those of a savepoint released earlier) only reads again.
    moved: list[Any] = session.info.pop(_MOVED, []) if not transaction.nested \
        else session.info.get(_MOVED, [])
    for item in moved:
        if item in session:
            session.expire(item)


def moved_values(task: Task, *, state: str, assignee_id: int | None, at: datetime,
                 active: bool) -> dict[str, Any]:
    """The task's columns after a move to `state` at `at` (as set_task_state sets them
    when the state changes; only `state_changed_at` when it does not)."""
    changed = state != task.state
    return {
        "state": state, "assignee_id": assignee_id, "state_changed_at": at,
        "opened_at": at if changed and state == "open" and task.opened_at is None
        else task.opened_at,
        "closed_at": at if changed and not active else task.closed_at,
    }
