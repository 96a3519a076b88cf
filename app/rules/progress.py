"""What every change to a request shares: its timeline events, its notes, its tasks'
states, its lock, and moving it on (PRODUCT.md rules 2, 3 and 5).

The rules that use these (app.rules.submission, app.rules.tasks, app.rules.requests) are
one transaction each (see app.storage.db.one_transaction): they check, change, write one
timeline event per change of state, and commit; a refusal rolls everything back. Task
transitions lock the request row, so two people acting on the same request at once are
serialized (SQLite serializes all writers already; on PostgreSQL this is SELECT … FOR
UPDATE); before it, they lock the acting member's membership and person rows FOR SHARE
(see app.rules.tasks.require_member).
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from app.format.definitions import StepDefinition
from app.format.targets import due_time
from app.rules.acting import current as current_acting
from app.rules.catalog import kept_definition_by_id
from app.rules.errors import InvalidNote
from app.rules.intake import without_control_characters
from app.rules.ordering import is_complete, next_stage_to_open
from app.storage import flow_figures, work_counts
from app.storage.db import kept_for_the_transaction
from app.storage.models import (
    ACTIVE_TASK_STATES,
    EventKind,
    RequestState,
    ServiceRequest,
    Task,
    TaskState,
    TimelineEvent,
    User,
)

MAX_NOTE_LENGTH = 5000


def record_event(
    session: Session,
    request: ServiceRequest,
    *,
    kind: EventKind,
    by: User | None,
    task: Task | None = None,
    note: str = "",
    internal: bool = False,
    at: datetime,
) -> TimelineEvent:
    acting = current_acting()
    event = TimelineEvent(
        request_id=request.id, task_id=task.id if task else None,
        actor_id=by.id if by else None, kind=kind, note=note, is_internal=internal,
        created_at=at, via=acting.via if acting else None,
    )
    session.add(event)
    if acting is not None:
        acting.events += 1
        acting.first.setdefault("request", request)
        acting.first.setdefault("event", event)
    return event


def clean_note(note: str | None) -> str:
    text = without_control_characters(note or "").strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidNote(f"Use at most {MAX_NOTE_LENGTH} characters (this has {len(text)}).")
    return text


def set_task_state(session: Session, task: Task, state: TaskState, at: datetime) -> None:
    work_counts.moved(session, task, task.state, state)
    flow_figures.task_moved(session, task, state)
    task.state = state
    task.state_changed_at = at
    if state == TaskState.open and task.opened_at is None:
        task.opened_at = at
    if state not in ACTIVE_TASK_STATES:
        task.closed_at = at


# Built once: every task transition runs them, and building a statement (and its cache
# key, which SQLAlchemy keeps on the statement) cost more than running it on SQLite.
_TASKS_OF = (select(Task).where(col(Task.request_id) == bindparam("request"))
             .order_by(col(Task.position)))
_TASKS_RELOADED = _TASKS_OF.execution_options(populate_existing=True)
_TASK_RELOADED = (select(Task).where(col(Task.id) == bindparam("task"))
                  .execution_options(populate_existing=True))
_REQUEST_LOCKED = (select(ServiceRequest).where(col(ServiceRequest.id) == bindparam("request"))
                   .with_for_update().execution_options(populate_existing=True))


def tasks_of(session: Session, request: ServiceRequest) -> list[Task]:
    return list(session.exec(_TASKS_OF, params={"request": request.id}))


def lock_request(session: Session, request_id: int) -> ServiceRequest:
    """Lock the request row (PostgreSQL) and reload it, so checks see the latest state."""
    return session.exec(_REQUEST_LOCKED, params={"request": request_id}).one()


# The requests a batch locked and read with their tasks at its start (hold_requests), by
# id: each with its tasks in step order; dropped as its transaction ends.
_HELD = "requests_held"
kept_for_the_transaction(_HELD)


def hold_requests(session: Session, request_ids: Iterable[int]) -> None:
    """Locks these requests and reads them and all their tasks, in two statements, for a
    batch that changes them one by one (app.rules.bulk): till its transaction ends their
    rows are locked and the session's objects are what the database holds (every change
    goes through them), so lock_with_tasks need not read them again, two statements a
    task. Locked in id order, as a batch acts on them: two batches cannot deadlock."""
    ids = sorted(set(request_ids))
    if not ids:
        return
    requests = session.exec(
        select(ServiceRequest).where(col(ServiceRequest.id).in_(ids))
        .order_by(col(ServiceRequest.id)).with_for_update()
        .execution_options(populate_existing=True)).all()
    # The objects themselves, kept: the session's identity map holds them only weakly.
    held: dict[int, tuple[ServiceRequest, list[Task]]] = {
        request.id: (request, []) for request in requests}
    for task in session.exec(
            select(Task).where(col(Task.request_id).in_(ids))
            .order_by(col(Task.request_id), col(Task.position))
            .execution_options(populate_existing=True)):
        held[task.request_id][1].append(task)
    session.info.setdefault(_HELD, {}).update(held)


def lock_with_tasks(session: Session, task: Task) -> tuple[ServiceRequest, list[Task]]:
    """Lock the task's request and reload it and all its tasks (`task` among them, as
    loaded under the lock), in step order: what a finished task advances through."""
    held: dict[int, tuple[ServiceRequest, list[Task]]] | None = session.info.get(_HELD)
    if held is not None and task.request_id in held:
        return held[task.request_id]
    request = lock_request(session, task.request_id)
    return request, list(session.exec(_TASKS_RELOADED, params={"request": request.id}))


def lock_with_task(session: Session, task: Task) -> ServiceRequest:
    """lock_with_tasks for a change of one task that asks nothing of the others (a claim,
    a release, a hand-over, an assignment): the request locked and reloaded, and only
    `task` reloaded under the lock, not all the request's tasks."""
    held: dict[int, tuple[ServiceRequest, list[Task]]] | None = session.info.get(_HELD)
    if held is not None and task.request_id in held:
        return held[task.request_id][0]
    request = lock_request(session, task.request_id)
    session.exec(_TASK_RELOADED, params={"task": task.id}).one()
    return request


def advance(session: Session, request: ServiceRequest, tasks: list[Task], *, by: User,
            at: datetime) -> None:
    """After a task finished: open the next stage, or complete the request. `tasks` are
    all the request's tasks, as loaded under its lock."""
    stage = next_stage_to_open(tasks)
    if stage is not None:
        steps = _steps_of(session, request.version_id)
        for task in tasks:
            if task.state == TaskState.waiting and task.stage == stage:
                task.due_at = due_time(at, steps[task.position])  # counted as it opens
                set_task_state(session, task, TaskState.open, at)
                record_event(session, request, kind=EventKind.task_opened, by=by, task=task,
                             at=at)
    if is_complete(tasks):
        request.state = RequestState.completed
        request.closed_at = at
        flow_figures.request_completed(session, request)
        record_event(session, request, kind=EventKind.request_completed, by=by, at=at)


# A transaction's versions' steps, by version id: a version never changes, and a bulk
# completion finishes many tasks of the same few services.
_STEPS = "steps_of_versions"
kept_for_the_transaction(_STEPS)


def _steps_of(session: Session, version_id: int) -> list[StepDefinition]:
    known: dict[int, list[StepDefinition]] = session.info.setdefault(_STEPS, {})
    if version_id not in known:
        # Reading a version need not flush this change's rows first: one flush less. A
        # web request's version is usually in memory already (kept_definition_by_id).
        with session.no_autoflush:
            known[version_id] = kept_definition_by_id(session, version_id).steps
    return known[version_id]


def cancel_remaining(
    session: Session, request: ServiceRequest, tasks: list[Task], *, by: User, at: datetime,
    note: str,
) -> None:
    """Cancels what is left of the request: `tasks` are all its tasks, read under its
    lock."""
    for task in tasks:
        if task.state in ACTIVE_TASK_STATES:
            set_task_state(session, task, TaskState.cancelled, at)
            record_event(session, request, kind=EventKind.task_cancelled, by=by, task=task,
                         note=note, at=at)
