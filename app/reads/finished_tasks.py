"""The tasks behind the insights' step and team figures: the tasks of a step (or of a
team, or both) finished in a window, slowest first (waited + worked) or latest first.

Read from task_duration (one row a decided task, kept by app.storage.flow_figures), so a
page reads the window's range of an index and never the tasks' history: first the page's
keys from task_duration alone (a top-N of the window's range: the sort by waited + worked
cannot come from an index, since the window is a range of another column), then the
fifty tasks' names by id. Pages continue by keyset, never by offset. The count is the
weekly sums' (step_week), the number the insights page shows.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, tuple_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.reads.insights import Window
from app.reads.queues import BadCursor
from app.reads.task_lines import UtcText
from app.storage.models import (
    MAX_ID,
    Service,
    StepWeek,
    Task,
    TaskDuration,
    Team,
    User,
    request_number,
)

PAGE_SIZE = 50
EXPORT_BATCH = 1000
SORTS = ("slowest", "latest")


def sort_named(text: str) -> str:
    """The order a link asks for; anything unknown is the default, slowest first."""
    return text if text in SORTS else "slowest"


@dataclass(frozen=True)
class FinishedFilter:
    window: Window
    service_id: int | None = None
    position: int | None = None
    team_id: int | None = None
    sort: str = "slowest"


@dataclass(slots=True)
class FinishedLine:
    task_id: int
    finished_at: datetime
    waited_seconds: int
    worked_seconds: int
    within_target: bool | None
    request_id: int = 0
    title: str = ""
    service_name: str = ""
    position: int = 0
    step_name: str = ""
    team_name: str = ""
    state: str = ""
    finished_by: str | None = None

    @property
    def number(self) -> str:
        return request_number(self.request_id)

    @property
    def took_seconds(self) -> int:
        return self.waited_seconds + self.worked_seconds


@dataclass
class FinishedPage:
    rows: list[FinishedLine]
    total: int | None  # None on pages after the first
    next_cursor: str | None


# Waited + worked, as ix_task_duration_team_took indexes it (the same expression, so the
# database matches it), and the same sum written the other way round, which no index
# offers in order: the database then reads the window's range and sorts it.
_TOOK = col(TaskDuration.waited_seconds) + col(TaskDuration.worked_seconds)
_TOOK_SORTED = col(TaskDuration.worked_seconds) + col(TaskDuration.waited_seconds)
# Rows a walk down a team's tasks, slowest first, reads for a page, per row in the window
# (one in every N/n of the team's tasks is in it): what a walk costs against a sort.
_WALK_PAGE = PAGE_SIZE


def _encode(line: FinishedLine, sort: str) -> str:
    if sort == "latest":
        return f"latest_{line.finished_at.isoformat()}_{line.task_id}"
    return f"slowest_{line.took_seconds}_{line.finished_at.isoformat()}_{line.task_id}"


def _after(text: str, sort: str, took: Any) -> list[Any]:
    """The rows after the cursor `text` in the list's order; BadCursor for a cursor not
    made by this list in this order."""
    try:
        prefix, *keys, task_id = text.split("_")
        if prefix != sort or not 0 < int(task_id) <= MAX_ID:
            raise ValueError(text)
        if sort == "latest":
            [stamp] = keys
            return [tuple_(TaskDuration.finished_at, TaskDuration.task_id)
                    < tuple_(datetime.fromisoformat(stamp), int(task_id))]
        seconds, moment = int(keys[0]), datetime.fromisoformat(keys[1])
        if not 0 <= seconds <= MAX_ID or len(keys) != 2:  # a 32-bit integer column
            raise ValueError(text)
        # The first condition alone is one an index seeks to; the row value says where
        # among the tasks that took as long the page ended.
        return [took <= seconds, tuple_(took, TaskDuration.finished_at, TaskDuration.task_id)
                < tuple_(seconds, moment, int(task_id))]
    except (ValueError, IndexError):
        raise BadCursor(text) from None


def _where(filters: FinishedFilter, *, walk: bool = False) -> list[Any]:
    window = filters.window
    # Walking a team's tasks slowest first, the window is a test of each row, not a range
    # to read: said as an expression, no index's range is taken for it.
    finished = (func.coalesce(TaskDuration.finished_at, TaskDuration.finished_at) if walk
                else col(TaskDuration.finished_at))
    where = [finished >= window.starts_at, finished < window.ends_at]
    if filters.service_id is not None:
        # Walking, the service too is a test of each row: PostgreSQL otherwise read the
        # service's tasks by the step index and sorted them (300 ms for service-desk).
        service = col(TaskDuration.service_id) + 0 if walk else col(TaskDuration.service_id)
        where.append(service == filters.service_id)
    if filters.position is not None:
        where.append(col(TaskDuration.position) == filters.position)
    if filters.team_id is not None:
        where.append(col(TaskDuration.team_id) == filters.team_id)
    return where


def count_finished(session: Session, filters: FinishedFilter) -> int:
    """How many tasks the list holds, from the weekly sums the insights page adds up."""
    return _count_and_walk(session, filters)[0]


def _count_and_walk(session: Session, filters: FinishedFilter) -> tuple[int, bool]:
    """How many tasks the list holds (the weekly sums the insights page adds up), and
    whether to read it by walking a team's tasks slowest first (ix_task_duration_team_took)
    rather than sorting the window's range: when the walk reads fewer rows. A page's walk
    reads about PAGE_SIZE × N / n of the team's N tasks when n of them are in the list (at
    most N); the sort reads the team's tasks in the window, each from the table when a
    service is asked too (the range index does not hold it). A step's list sorts: a step
    finishes a few thousand tasks a year, and its index covers the sort. One query."""
    window = filters.window
    in_window = and_(col(StepWeek.week) >= window.start, col(StepWeek.week) < window.end)
    listed = [in_window]
    if filters.service_id is not None:
        listed.append(col(StepWeek.service_id) == filters.service_id)
    if filters.position is not None:
        listed.append(col(StepWeek.position) == filters.position)
    if filters.team_id is None:
        return int(session.exec(  # type: ignore[call-overload]
            sa_select(func.coalesce(func.sum(StepWeek.finished_count), 0)).where(*listed)
        ).scalar_one()), False

    def total(*conditions: Any) -> Any:
        return func.coalesce(func.sum(case((and_(*conditions), StepWeek.finished_count),
                                           else_=0)), 0)

    # Through ix_step_week_team: the team's weeks, not every step's.
    count, every, windowed = session.exec(  # type: ignore[call-overload]
        sa_select(total(*listed), func.coalesce(func.sum(StepWeek.finished_count), 0),
                  total(in_window))
        .where(col(StepWeek.team_id) == filters.team_id)).one()
    if filters.sort == "latest" or filters.position is not None:
        return int(count), False
    walk = min(int(every), _WALK_PAGE * int(every) / max(1, int(count)))
    sort = int(windowed) * (3 if filters.service_id is not None else 1)
    return int(count), walk < sort


_TASKS = sa_select(  # type: ignore[call-overload]
    col(Task.id), col(Task.request_id), col(Task.request_title), col(Task.step_name),
    col(Task.state), col(TaskDuration.within_target), col(Task.service_id),
    col(Task.team_id), col(Task.assignee_id),
).join(TaskDuration, col(TaskDuration.task_id) == col(Task.id))
# The same for an export, whose keys read within_target already: the task alone.
_EXPORTED_TASKS = sa_select(  # type: ignore[call-overload]
    col(Task.id), col(Task.request_id), col(Task.request_title), col(Task.step_name),
    col(Task.state), col(Task.service_id), col(Task.team_id), col(Task.assignee_id))


class _Names:
    """Names by id, each read once however many rows name it (a CSV of 100,000 tasks
    names a few dozen services and teams and a few thousand people)."""

    def __init__(self, session: Session):
        self.session = session
        self.of: dict[Any, dict[int, str]] = {Service: {}, Team: {}, User: {}}

    def learn(self, model: Any, ids: set[int | None]) -> dict[int, str]:
        known = self.of[model]
        missing = [n for n in ids - known.keys() if n is not None]
        if missing:
            known.update(self.session.execute(
                sa_select(model.id, model.name).where(model.id.in_(missing))).all())
        return known


def _named(session: Session, keys: Any, names: _Names | None = None) -> list[FinishedLine]:
    """The lines of these keys, with the names a row shows."""
    lines = [FinishedLine(task_id, finished_at, waited, worked, None, position=position)
             for task_id, finished_at, waited, worked, position in keys]
    if not lines:
        return lines
    names = names or _Names(session)
    by_id = {line.task_id: line for line in lines}
    rows = session.connection().execute(_TASKS.where(col(Task.id).in_(list(by_id)))).all()
    services = names.learn(Service, {row[6] for row in rows})
    teams = names.learn(Team, {row[7] for row in rows})
    people = names.learn(User, {row[8] for row in rows})
    for (task_id, request_id, title, step_name, state, within, service_id, team_id,
         assignee_id) in rows:
        line = by_id[task_id]
        (line.request_id, line.title, line.step_name, line.state, line.within_target,
         line.service_name, line.team_name, line.finished_by) = (
            request_id, title, step_name, state, within, services.get(service_id, ""),
            teams.get(team_id, ""), people.get(assignee_id) if assignee_id else None)
    return lines


def _keys(filters: FinishedFilter, *, walk: bool, after: str | None, planned: bool = False,
          export: bool = False) -> Any:
    """The list's keys in its order (from task_duration alone; a covering index's).
    `planned`: the database chooses how to read them (PostgreSQL, whose statistics
    know how many rows each condition keeps: it walks or sorts as _count_and_walk would,
    and the tricks that make SQLite do either would only spoil its estimates).
    `export`: the finishing moment as text (UtcText) and whether it met its target too,
    for finished_task_lines."""
    sort = sort_named(filters.sort)
    took = _TOOK if walk or planned else _TOOK_SORTED
    where = _where(filters, walk=walk and not planned)
    if after:
        where += _after(after, sort, took)
    order: list[Any] = ([col(TaskDuration.finished_at).desc(), col(TaskDuration.task_id).desc()]
             if sort == "latest" else
             [took.desc(), col(TaskDuration.finished_at).desc(),
              col(TaskDuration.task_id).desc()])
    columns: list[Any] = [col(TaskDuration.task_id), col(TaskDuration.finished_at),
                          col(TaskDuration.waited_seconds), col(TaskDuration.worked_seconds),
                          col(TaskDuration.position)]
    if export:
        columns[1] = UtcText(TaskDuration.finished_at)
        columns.append(col(TaskDuration.within_target))
    return (sa_select(*columns)
            .where(*where).order_by(*order))


def _planned(session: Session) -> bool:
    return session.get_bind().dialect.name != "sqlite"


def finished_tasks(session: Session, *, filters: FinishedFilter, after: str | None = None,
                   limit: int = PAGE_SIZE, counted: bool = True) -> FinishedPage:
    """A page of the list: its keys, then their names, and on the first page the count
    (with what _count_and_walk needs to choose how to read it)."""
    sort = sort_named(filters.sort)
    count, walk = _count_and_walk(session, filters)
    keys = session.exec(_keys(filters, walk=walk, after=after, planned=_planned(session))
                        .limit(limit + 1)).all()
    more = len(keys) > limit
    lines = _named(session, keys[:limit])
    total = count if counted and not after else None
    return FinishedPage(lines, total, _encode(lines[-1], sort) if more else None)


# The columns of finished_task_lines' tuples, in order.
LINE_COLUMNS = ("task_id", "request_id", "title", "service_name", "position", "step_name",
                "team_name", "state", "finished_by", "finished_at", "waited_seconds",
                "worked_seconds", "within_target")


def finished_task_lines(session: Session, *, filters: FinishedFilter,
                        batch: int | None = None) -> Iterator[tuple[Any, ...]]:
    """Every row of the list in its order, as LINE_COLUMNS tuples, for a streamed CSV:
    the rows the pages show one after the other, without their objects. One query of
    the keys, read a batch at a time (a keyset per batch would sort the window again for
    each); each batch's tasks then read by id in one statement, and each name once.
    `finished_at` is text, `2026-12-03T09:30:05Z`, made by the database (UtcText)."""
    # Every row: a walk would read all the team's tasks, a sort only the window's.
    names = _Names(session)
    connection = session.connection()
    keys = _keys(filters, walk=False, after=None, planned=_planned(session),
                 export=True)
    # Core, not the ORM: loading each row as an object cost more than reading it.
    for rows in connection.execute(
            keys.execution_options(yield_per=batch or EXPORT_BATCH)).partitions():
        tasks = {row[0]: row for row in connection.execute(
            _EXPORTED_TASKS.where(col(Task.id).in_([row[0] for row in rows])))}
        services = names.learn(Service, {task[5] for task in tasks.values()})
        teams = names.learn(Team, {task[6] for task in tasks.values()})
        people = names.learn(User, {task[7] for task in tasks.values()})
        for task_id, finished_at, waited, worked, position, within in rows:
            (_id, request_id, title, step_name, state, service_id, team_id,
             assignee_id) = tasks[task_id]
            yield (task_id, request_id, title, services.get(service_id, ""), position,
                   step_name, teams.get(team_id, ""), state,
                   None if assignee_id is None else people.get(assignee_id), finished_at,
                   waited, worked, within)
