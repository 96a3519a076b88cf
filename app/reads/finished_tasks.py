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

from sqlalchemy import func, tuple_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.reads.insights import Window
from app.reads.queues import BadCursor
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


_TOOK = col(TaskDuration.waited_seconds) + col(TaskDuration.worked_seconds)


def _encode(line: FinishedLine, sort: str) -> str:
    if sort == "latest":
        return f"latest_{line.finished_at.isoformat()}_{line.task_id}"
    return f"slowest_{line.took_seconds}_{line.task_id}"


def _after(text: str, sort: str) -> Any:
    """The rows after the cursor `text` in the list's order; BadCursor for a cursor not
    made by this list in this order."""
    try:
        prefix, key, task_id = text.split("_")
        if prefix != sort or not 0 < int(task_id) <= MAX_ID:
            raise ValueError(text)
        if sort == "latest":
            moment = datetime.fromisoformat(key)
            return (tuple_(TaskDuration.finished_at, TaskDuration.task_id)
                    < tuple_(moment, int(task_id)))
        took = int(key)
        if not 0 <= took <= 10**12:
            raise ValueError(text)
        return tuple_(_TOOK, TaskDuration.task_id) < tuple_(took, int(task_id))
    except ValueError:
        raise BadCursor(text) from None


def _where(filters: FinishedFilter) -> list[Any]:
    window = filters.window
    where = [col(TaskDuration.finished_at) >= window.starts_at,
             col(TaskDuration.finished_at) < window.ends_at]
    if filters.service_id is not None:
        where.append(col(TaskDuration.service_id) == filters.service_id)
    if filters.position is not None:
        where.append(col(TaskDuration.position) == filters.position)
    if filters.team_id is not None:
        where.append(col(TaskDuration.team_id) == filters.team_id)
    return where


def count_finished(session: Session, filters: FinishedFilter) -> int:
    """How many tasks the list holds, from the weekly sums the insights page adds up."""
    window = filters.window
    where = [col(StepWeek.week) >= window.start, col(StepWeek.week) < window.end]
    if filters.service_id is not None:
        where.append(col(StepWeek.service_id) == filters.service_id)
    if filters.position is not None:
        where.append(col(StepWeek.position) == filters.position)
    if filters.team_id is not None:
        where.append(col(StepWeek.team_id) == filters.team_id)
    return int(session.exec(  # type: ignore[call-overload]
        sa_select(func.coalesce(func.sum(StepWeek.finished_count), 0)).where(*where)
    ).scalar_one())


_NAMES = sa_select(  # type: ignore[call-overload]
    col(Task.id), col(Task.request_id), col(Task.request_title), col(Task.step_name),
    col(Task.state),
    select(Service.name).where(Service.id == Task.service_id).scalar_subquery(),
    select(Team.name).where(Team.id == Task.team_id).scalar_subquery(),
    select(User.name).where(User.id == Task.assignee_id).scalar_subquery(),
)


def finished_tasks(session: Session, *, filters: FinishedFilter, after: str | None = None,
                   limit: int = PAGE_SIZE, counted: bool = True) -> FinishedPage:
    """A page of the list (two queries, and the count on the first page)."""
    sort = sort_named(filters.sort)
    where = _where(filters)
    if after:
        where.append(_after(after, sort))
    order = ([col(TaskDuration.finished_at).desc(), col(TaskDuration.task_id).desc()]
             if sort == "latest" else [_TOOK.desc(), col(TaskDuration.task_id).desc()])
    keys = session.exec(  # type: ignore[call-overload]
        sa_select(col(TaskDuration.task_id), col(TaskDuration.finished_at),
                  col(TaskDuration.waited_seconds), col(TaskDuration.worked_seconds),
                  col(TaskDuration.within_target), col(TaskDuration.position))
        .where(*where).order_by(*order).limit(limit + 1)).all()
    more = len(keys) > limit
    lines = [FinishedLine(task_id, finished_at, waited, worked, within, position=position)
             for task_id, finished_at, waited, worked, within, position in keys[:limit]]
    if lines:
        by_id = {line.task_id: line for line in lines}
        for task_id, request_id, title, step_name, state, service, team, by in session.execute(
            _NAMES.where(col(Task.id).in_(list(by_id)))
        ):
            line = by_id[task_id]
            (line.request_id, line.title, line.step_name, line.state, line.service_name,
             line.team_name, line.finished_by) = (
                request_id, title, step_name, state, service, team, by)
    total = count_finished(session, filters) if counted and not after else None
    return FinishedPage(lines, total, _encode(lines[-1], sort) if more else None)


def all_finished_tasks(session: Session, *, filters: FinishedFilter,
                       batch: int | None = None) -> Iterator[FinishedLine]:
    """Every row of the list in its order, a batch at a time (for a streamed CSV)."""
    after = None
    while True:
        page = finished_tasks(session, filters=filters, after=after,
                              limit=batch or EXPORT_BATCH, counted=False)
        yield from page.rows
        if page.next_cursor is None:
            return
        after = page.next_cursor
