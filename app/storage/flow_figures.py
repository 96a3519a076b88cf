"""The insights' figures: how long each finished task waited and was worked, each completed
request's lead time, and weekly sums per step, team and service (TaskDuration,
RequestLeadTime, StepWeek, ServiceWeek).

The invariant: these tables say exactly what a recount of the tasks, their "claimed"
events and the requests says (`from_history`), after every rule. The rules tell this
module what happened (`task_moved` from app.rules.progress.set_task_state, the one way a
task changes state; `request_submitted` and `request_completed` where a request is filed
and completed); the figures are written just before the session commits, in the same
transaction as the change, after its own rows are flushed. The weekly rows are upserted in
key order, step weeks before service weeks, so two transactions lock them in one order
and cannot deadlock on PostgreSQL. `recount` rebuilds everything from history (after a
bulk load; `baton recount` runs it and checks the result).

Waiting is opened -> the last claim (a task released and claimed again waited again),
worked is the last claim -> finished; a task finished without ever being claimed waited
all along. Weeks are ISO weeks in UTC, named by their Monday.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, delete, event, func
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.storage.db import in_batch, kept_for_the_transaction
from app.storage.driver_reads import DriverRead
from app.storage.models import (
    EventKind,
    RequestLeadTime,
    RequestState,
    ServiceRequest,
    ServiceWeek,
    StepWeek,
    Task,
    TaskDuration,
    TaskState,
    TimelineEvent,
)

# A task in one of these states was decided by a person: it has a waiting and a working
# time. Skipped and cancelled tasks were never worked and are left out.
DECIDED_STATES = (TaskState.done, TaskState.approved, TaskState.rejected)

_PENDING = "baton_flow_changes"
_CLAIMS = "baton_flow_claims"  # task id -> when this transaction claimed it
StepKey = tuple[int, int, int, date]  # service, position, team, week
ServiceKey = tuple[int, date]  # service, week
# finished, waited seconds, worked seconds, targeted, within target
StepSums = tuple[int, int, int, int, int]
ServiceSums = tuple[int, int, int]  # submitted, completed, lead seconds
# service, position, team, finished at, waited, worked, within target
Duration = tuple[int, int, int, datetime, int, int, bool | None]
LeadTime = tuple[int, datetime, int]  # service, completed at, lead seconds


def utc(moment: datetime) -> datetime:
    """`moment` as aware UTC (SQLite hands back naive datetimes)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def week_of(moment: datetime) -> date:
    """The Monday (UTC) of the ISO week `moment` falls in."""
    day = utc(moment).date()
    return day - timedelta(days=day.weekday())


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, int((utc(end) - utc(start)).total_seconds()))


def task_duration(task: Task, claimed_at: datetime | None) -> Duration:
    """A decided task's row, from the task and the moment it was last claimed."""
    assert task.opened_at is not None and task.closed_at is not None  # decided tasks
    return _duration(task.service_id, task.position, task.team_id, task.opened_at,
                     task.closed_at, task.due_at, claimed_at)


def _duration(service_id: int, position: int, team_id: int, opened_at: datetime,
              closed_at: datetime, due_at: datetime | None, claimed_at: datetime | None
              ) -> Duration:
    started = claimed_at or closed_at
    within = None if due_at is None else utc(closed_at) <= utc(due_at)
    return (service_id, position, team_id, utc(closed_at), _seconds(opened_at, started),
            _seconds(started, closed_at), within)


@dataclass
class Figures:
    durations: dict[int, Duration] = field(default_factory=dict)
    lead_times: dict[int, LeadTime] = field(default_factory=dict)
    step_weeks: dict[StepKey, StepSums] = field(default_factory=dict)
    service_weeks: dict[ServiceKey, ServiceSums] = field(default_factory=dict)


def _add(sums: dict[Any, Any], key: Any, change: tuple[int, ...]) -> None:
    old = sums.get(key) or (0,) * len(change)
    sums[key] = tuple(a + b for a, b in zip(old, change, strict=True))


def _step_change(duration: Duration) -> tuple[StepKey, StepSums]:
    service, position, team, finished_at, waited, worked, within = duration
    return ((service, position, team, week_of(finished_at)),
            (1, waited, worked, int(within is not None), int(bool(within))))


def task_moved(session: Session, task: Task, new: str) -> None:
    """Notes that `task` is moving to state `new`: a decided task gets its figures at
    the commit (its closing time and its claim are known by then)."""
    if new in DECIDED_STATES:
        session.info.setdefault(_PENDING, []).append(("task", task))


def request_submitted(session: Session, request: ServiceRequest) -> None:
    session.info.setdefault(_PENDING, []).append(("submitted", request))


def request_completed(session: Session, request: ServiceRequest) -> None:
    session.info.setdefault(_PENDING, []).append(("completed", request))


@cache
def _last_claims_statement() -> Any:
    """The last claim of each of some tasks, made once: each request's events are found
    by its index on (request, id)."""
    return (
        sa_select(TimelineEvent.task_id, func.max(TimelineEvent.created_at))  # type: ignore[call-overload]
        .where(col(TimelineEvent.request_id).in_(bindparam("requests", expanding=True)),
               col(TimelineEvent.task_id).in_(bindparam("tasks", expanding=True)),
               TimelineEvent.kind == EventKind.claimed)
        .group_by(col(TimelineEvent.task_id))
    )


@cache
def _last_claim_of_one() -> DriverRead:
    """The last claim of one task, read through the driver."""
    return DriverRead(
        sa_select(func.max(TimelineEvent.created_at))
        .where(col(TimelineEvent.request_id) == bindparam("request"),
               col(TimelineEvent.task_id) == bindparam("task"),
               col(TimelineEvent.kind) == EventKind.claimed))


def _last_claims(connection: Connection, tasks: list[Task], noted: dict[int, datetime]
                 ) -> dict[int, datetime]:
    """When each task was last claimed. A task claimed in this very transaction (claimed
    on the way to being finished) was last claimed then (`noted`): no statement. The
    others' claims are read, in one statement for all the tasks a commit decides."""
    claims = {task.id: noted[task.id] for task in tasks if task.id in noted}
    unknown = [task for task in tasks if task.id not in claims]
    if len(unknown) == 1:  # a rule's commit (a bulk action's decides more at once)
        row = _last_claim_of_one().first(connection, {
            "request": unknown[0].request_id, "task": unknown[0].id})
        if row is not None and row[0] is not None:
            claims[unknown[0].id] = row[0]
    elif unknown:
        rows = connection.execute(_last_claims_statement(), {
            "requests": sorted({task.request_id for task in unknown}),
            "tasks": sorted({task.id for task in unknown})})
        claims.update((task_id, moment) for task_id, moment in rows if task_id is not None)
    return claims


@event.listens_for(Session, "before_flush")
def _note_claims(session: Session, flush_context: Any, instances: Any) -> None:
    """Notes the claims this transaction makes, as their events are written: a task
    finished in the transaction that claimed it needs no read of its last claim."""
    for thing in session.new:
        if isinstance(thing, TimelineEvent) and thing.kind == EventKind.claimed \
                and thing.task_id is not None:
            noted = session.info.setdefault(_CLAIMS, {})
            earlier = noted.get(thing.task_id)
            noted[thing.task_id] = (thing.created_at if earlier is None
                                    else max(earlier, thing.created_at))


def _lead_time(request: ServiceRequest) -> LeadTime:
    assert request.closed_at is not None  # a completed request
    return (request.service_id, utc(request.closed_at),
            _seconds(request.created_at, request.closed_at))


@cache
def _upsert_statement(dialect: str, model: type) -> Any:
    """INSERT ... ON CONFLICT adding to the sums, made once per dialect and table."""
    insert_into = sqlite_insert if dialect == "sqlite" else postgresql_insert
    table = model.__table__  # type: ignore[attr-defined]
    statement = insert_into(table)
    keys = [column.name for column in table.primary_key.columns]
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_={column.name: column + getattr(statement.excluded, column.name)
              for column in table.columns if column.name not in keys},
    )


_STEP_SUMS = ("finished_count", "waited_seconds", "worked_seconds", "targeted_count",
              "within_target_count")
_SERVICE_SUMS = ("submitted_count", "completed_count", "lead_seconds")


def _step_row(key: StepKey, sums: StepSums) -> dict[str, Any]:
    service, position, team, week = key
    return {"service_id": service, "position": position, "team_id": team, "week": week,
            **dict(zip(_STEP_SUMS, sums, strict=True))}


def _service_row(key: ServiceKey, sums: ServiceSums) -> dict[str, Any]:
    service, week = key
    return {"service_id": service, "week": week, **dict(zip(_SERVICE_SUMS, sums, strict=True))}


def _duration_row(task_id: int, row: Duration) -> dict[str, Any]:
    service, position, team, finished_at, waited, worked, within = row
    return {"task_id": task_id, "service_id": service, "position": position,
            "team_id": team, "finished_at": finished_at, "waited_seconds": waited,
            "worked_seconds": worked, "within_target": within}


def _lead_row(request_id: int, row: LeadTime) -> dict[str, Any]:
    service, completed_at, lead = row
    return {"request_id": request_id, "service_id": service, "completed_at": completed_at,
            "lead_seconds": lead}


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    if in_batch():  # the batch writes these once, at its own commit
        return
    if not session.info.get(_PENDING):
        return
    session.flush()  # the change's rows (and its "claimed" event) first
    pending: list[tuple[str, Any]] = session.info.pop(_PENDING)
    connection = session.connection()
    figures = Figures()
    claims = _last_claims(connection, [thing for what, thing in pending if what == "task"],
                          session.info.get(_CLAIMS, {}))
    for what, thing in pending:
        if what == "task":
            duration = task_duration(thing, claims.get(thing.id))
            figures.durations[thing.id] = duration
            _add(figures.step_weeks, *_step_change(duration))
        elif what == "submitted":
            _add(figures.service_weeks, (thing.service_id, week_of(thing.created_at)),
                 (1, 0, 0))
        else:
            lead = _lead_time(thing)
            figures.lead_times[thing.id] = lead
            _add(figures.service_weeks, (thing.service_id, week_of(lead[1])), (0, 1, lead[2]))
    _insert(connection, figures)


@cache
def _insert_statement(model: type) -> Any:
    return model.__table__.insert()  # type: ignore[attr-defined]


@cache
def _rows_with_weeks_sql(model: type, count: int, weekly: type, weekly_count: int) -> str:
    """PostgreSQL (psycopg): WITH (INSERT `count` rows of `model`) INSERT `weekly_count`
    rows of `weekly` ON CONFLICT adding to the sums; row n's values are parameters
    <column>_n (the new rows first). Compiled once per table and number of rows, as SQL
    text: SQLAlchemy's statement cache does not keep this one, and compiling it costs
    more than the round trip it saves."""
    def values(table: Any, first: int, rows: int) -> list[dict[str, Any]]:
        return [{column.name: bindparam(f"{column.name}_{n}", type_=column.type)
                 for column in table.columns} for n in range(first, first + rows)]

    weeks = model_table(weekly)
    statement = _upsert_statement("postgresql", weekly).values(
        values(weeks, count, weekly_count))
    if count:
        statement = statement.add_cte(_insert_statement(model).values(
            values(model_table(model), 0, count)).cte(f"new_{model.__name__}"))
    return str(statement.compile(dialect=postgresql_psycopg.dialect()))


def model_table(model: type) -> Any:
    return model.__table__  # type: ignore[attr-defined]


def _insert(connection: Connection, figures: Figures) -> None:
    """In Core (the ORM's bulk path costs more than the rows), one statement per table;
    on PostgreSQL each table's new rows ride in its weekly upsert (a WITH ... INSERT), so
    a finished task is one round trip and a completed request two. The weekly rows go in
    key order, each table by its own statement (see the docstring)."""
    durations = [_duration_row(task_id, row)
                 for task_id, row in sorted(figures.durations.items())]
    leads = [_lead_row(request_id, row)
             for request_id, row in sorted(figures.lead_times.items())]
    weeks = [_step_row(key, sums) for key, sums in sorted(figures.step_weeks.items())]
    service_weeks = [_service_row(key, sums)
                     for key, sums in sorted(figures.service_weeks.items())]
    dialect = connection.dialect.name
    if dialect == "postgresql":
        for model, rows, weekly, weekly_rows in ((TaskDuration, durations, StepWeek, weeks),
                                                 (RequestLeadTime, leads, ServiceWeek,
                                                  service_weeks)):
            if weekly_rows:  # a new row always adds to its week
                connection.exec_driver_sql(
                    _rows_with_weeks_sql(model, len(rows), weekly, len(weekly_rows)),
                    {f"{name}_{n}": value for n, row in enumerate(rows + weekly_rows)
                     for name, value in row.items()})
        return
    for model, rows in ((TaskDuration, durations), (RequestLeadTime, leads)):
        if rows:
            connection.execute(_insert_statement(model), rows)
    for weekly, weekly_rows in ((StepWeek, weeks), (ServiceWeek, service_weeks)):
        if weekly_rows:
            connection.execute(_upsert_statement(dialect, weekly), weekly_rows)


kept_for_the_transaction(_PENDING, _CLAIMS)


def from_history(session: Session) -> Figures:
    """The figures as the tasks, their events and the requests say, the slow way: a scan
    of every decided task and every request."""
    figures = Figures()
    last_claims = (
        select(TimelineEvent.task_id, func.max(TimelineEvent.created_at).label("claimed_at"))
        .where(TimelineEvent.kind == EventKind.claimed)
        .group_by(col(TimelineEvent.task_id)).subquery()
    )
    # Core rows, not Task objects: at 1M requests, 2.5 million of them.
    rows = session.connection().execute(
        sa_select(col(Task.id), col(Task.service_id), col(Task.position),  # type: ignore[call-overload]
                  col(Task.team_id), col(Task.opened_at), col(Task.closed_at),
                  col(Task.due_at), last_claims.c.claimed_at)
        .outerjoin(last_claims, last_claims.c.task_id == Task.id)
        .where(col(Task.state).in_(DECIDED_STATES), col(Task.opened_at).is_not(None))
        .execution_options(yield_per=5000)
    )
    for task_id, *task in rows:
        duration = _duration(*task)
        figures.durations[task_id] = duration
        _add(figures.step_weeks, *_step_change(duration))
    requests = session.exec(  # type: ignore[call-overload]
        sa_select(ServiceRequest.id, ServiceRequest.service_id,  # type: ignore[call-overload]
                  ServiceRequest.state, ServiceRequest.created_at, ServiceRequest.closed_at)
        .execution_options(yield_per=5000)
    )
    for request_id, service_id, state, created_at, closed_at in requests:
        _add(figures.service_weeks, (service_id, week_of(created_at)), (1, 0, 0))
        if state == RequestState.completed and closed_at is not None:
            lead = (service_id, utc(closed_at), _seconds(created_at, closed_at))
            figures.lead_times[request_id] = lead
            _add(figures.service_weeks, (service_id, week_of(closed_at)), (0, 1, lead[2]))
    return figures


def stored(session: Session) -> Figures:
    """The figures as the tables hold them (weekly rows at zero left out)."""
    figures = Figures()
    for row in session.exec(sa_select(TaskDuration)).scalars():  # type: ignore[call-overload]
        figures.durations[row.task_id] = (
            row.service_id, row.position, row.team_id, utc(row.finished_at),
            row.waited_seconds, row.worked_seconds, row.within_target)
    for lead in session.exec(sa_select(RequestLeadTime)).scalars():  # type: ignore[call-overload]
        figures.lead_times[lead.request_id] = (
            lead.service_id, utc(lead.completed_at), lead.lead_seconds)
    for step in session.exec(sa_select(StepWeek)).scalars():  # type: ignore[call-overload]
        sums = tuple(getattr(step, name) for name in _STEP_SUMS)
        if any(sums):
            figures.step_weeks[(step.service_id, step.position, step.team_id, step.week)] = (
                sums)  # type: ignore[assignment]
    for week in session.exec(sa_select(ServiceWeek)).scalars():  # type: ignore[call-overload]
        service_sums = tuple(getattr(week, name) for name in _SERVICE_SUMS)
        if any(service_sums):
            figures.service_weeks[(week.service_id, week.week)] = (
                service_sums)  # type: ignore[assignment]
    return figures


def recount(session: Session) -> None:
    """Rebuilds every figure from history (after a bulk load; the caller commits)."""
    session.info.pop(_PENDING, None)
    for model in (TaskDuration, RequestLeadTime, StepWeek, ServiceWeek):
        session.execute(delete(model))
    _insert_all(session, from_history(session))


def _insert_all(session: Session, figures: Figures) -> None:
    batches: list[tuple[type, list[dict[str, Any]]]] = [
        (TaskDuration, [_duration_row(k, v) for k, v in sorted(figures.durations.items())]),
        (RequestLeadTime, [_lead_row(k, v) for k, v in sorted(figures.lead_times.items())]),
        (StepWeek, [_step_row(k, v) for k, v in sorted(figures.step_weeks.items())]),
        (ServiceWeek, [_service_row(k, v) for k, v in sorted(figures.service_weeks.items())]),
    ]
    connection = session.connection()
    for model, rows in batches:
        # Core's executemany: the ORM's bulk insert cost more than the rows (at 1M
        # requests, 2.5 million durations).
        for start in range(0, len(rows), 5000):
            connection.execute(_insert_statement(model), rows[start:start + 5000])
