"""Lists of tasks: team queues, "my work" and the overview's drill-down.

Every list is ordered oldest first by (opened_at, id), or due soonest by (due_at, id)
with the tasks that have no due time after all the dated ones, and paginated by keyset,
never by offset, so a deep page costs what the first page costs. Each page is one query
for the rows and one for the exact count.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, and_, bindparam, false, func, or_, tuple_, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.format.definitions import ServiceDefinition
from app.rules.catalog import definition_of
from app.rules.policy import requester_may_approve
from app.storage.models import (
    MAX_ID,
    QUEUED_TASK_STATES,
    OpenWorkCount,
    Service,
    ServiceRequest,
    ServiceVersion,
    StepKind,
    Task,
    TaskState,
    Team,
    User,
    is_queued,
    request_number,
    utcnow,
)

PAGE_SIZE = 50
_NUMBER = re.compile(r"^\s*(?:req-?)?(\d{1,12})\s*$", re.IGNORECASE)


class BadCursor(ValueError):
    pass


SORTS = ("oldest", "due")
_UNDATED = "none"


def sort_named(text: str) -> str:
    """The list order a link asks for; anything unknown is the default, oldest first."""
    return text if text in SORTS else "oldest"


@dataclass(frozen=True)
class Cursor:
    """Where a page ended, in the list's own sort key: `opened_at` for oldest first,
    `due_at` for due soonest (None: the page ended among the tasks without a due time).

    Oldest first reads `<opened_at>_<id>`; due soonest `due_<due_at or none>_<id>`, so a
    link made for one sort is refused by the other instead of skipping rows."""

    moment: datetime | None
    task_id: int
    sort: str = "oldest"

    def encode(self) -> str:
        stamp = self.moment.isoformat() if self.moment else _UNDATED
        return f"due_{stamp}_{self.task_id}" if self.sort == "due" else f"{stamp}_{self.task_id}"

    @staticmethod
    def decode(text: str, sort: str = "oldest") -> "Cursor":
        try:
            if sort == "due":
                prefix, rest = text.split("_", 1)
                if prefix != "due":
                    raise ValueError(text)
                text = rest
            stamp, task_id = text.rsplit("_", 1)
            moment = None if sort == "due" and stamp == _UNDATED else datetime.fromisoformat(stamp)
            if moment is not None and moment.tzinfo is None:
                raise ValueError(text)
            cursor = Cursor(moment, int(task_id), sort)
            if not 0 < cursor.task_id <= MAX_ID:
                raise ValueError(text)
            return cursor
        except ValueError:
            raise BadCursor(text) from None


@dataclass
class TaskFilter:
    team_ids: list[int] | None = None  # None: every team (managers)
    service_id: int | None = None
    position: int | None = None
    state: str | None = None  # "open", "claimed" or "mine"
    viewer_id: int | None = None
    assignee_id: int | None = None
    search: str = ""
    states: tuple[str, ...] = QUEUED_TASK_STATES
    # Only tasks whose due time has passed (at `now`, or the moment the list is read).
    overdue: bool = False
    now: datetime | None = None
    sort: str = "oldest"  # one of SORTS


@dataclass(slots=True)
class TaskLine:
    """A task as a list shows it: the columns a row renders, read as plain values (ORM
    objects cost more to build than the row costs to render)."""

    id: int
    request_id: int
    service_id: int
    team_id: int
    position: int
    step_name: str
    kind: str
    state: str
    assignee_id: int | None
    opened_at: datetime | None
    due_at: datetime | None
    state_changed_at: datetime


_TASK_LINE_COLUMNS = [getattr(Task, name) for name in TaskLine.__slots__]  # type: ignore[attr-defined]


@dataclass(slots=True)
class RequestLine:
    id: int
    title: str

    @property
    def number(self) -> str:
        return request_number(self.id)


@dataclass
class TaskRow:
    task: TaskLine
    request: RequestLine
    service_name: str
    team_name: str
    requester_name: str
    assignee_name: str | None
    requester_id: int = 0
    # Whether the requester may decide this approval of their own request (PRODUCT.md
    # rule 7): looked up only for the viewer's own requests (see allow_own_approvals);
    # False everywhere else, where it does not matter or is not known.
    requester_may_approve: bool = False

    def may_decide(self, viewer_id: int | None) -> bool:
        """Whether the row offers the viewer Approve and Reject (for an approval)."""
        return (self.task.kind != StepKind.approval or self.requester_id != viewer_id
                or self.requester_may_approve)


@dataclass
class TaskPage:
    rows: list[TaskRow]
    total: int | None  # None on pages after the first
    next_cursor: str | None
    filters: TaskFilter = field(default_factory=TaskFilter)


def _conditions(filters: TaskFilter) -> list:
    # The usual states in the words of the queued-task indexes (see is_queued). A filter
    # on one state replaces it: said both ways, PostgreSQL multiplied the two
    # selectivities, expected a few hundred of 13,000 open tasks, and sorted them all.
    queued = tuple(filters.states) == QUEUED_TASK_STATES
    conditions: list = (
        [] if queued and filters.state in ("open", "claimed", "mine")
        else [is_queued() if queued else col(Task.state).in_(filters.states)])
    search = filters.search.strip()
    number = _NUMBER.match(search) if search else None
    if filters.team_ids is not None:
        # Searching a request's number, the request's own tasks are the few to read; SQLite
        # (no statistics) preferred the team's index, a scan of the whole queue, unless
        # the team is asked as an expression no index answers.
        team = col(Task.team_id) + 0 if number else col(Task.team_id)
        conditions.append(team.in_(filters.team_ids))
    if filters.service_id is not None:
        conditions.append(Task.service_id == filters.service_id)
    if filters.position is not None:
        conditions.append(Task.position == filters.position)
    if filters.state == "open":
        conditions.append(Task.state == TaskState.open)
    elif filters.state == "claimed":
        conditions.append(Task.state == TaskState.claimed)
    elif filters.state == "mine":
        conditions.append(Task.state == TaskState.claimed)
        conditions.append(Task.assignee_id == filters.viewer_id)
    if filters.assignee_id is not None:
        conditions.append(Task.assignee_id == filters.assignee_id)
    if filters.overdue:
        conditions.append(col(Task.due_at) < (filters.now or utcnow()))
    if search:
        if number:
            # A number past any id matches nothing rather than overflowing the column.
            request_id = int(number.group(1))
            conditions.append(
                Task.request_id == request_id if request_id <= MAX_ID else false()
            )
        else:
            # Every word must appear in the title, in any order (as in the catalog search):
            # the title each task carries, so a search reads the team's queued tasks and
            # not the million requests' titles (0.5-1 s a search when it did).
            title = func.lower(Task.request_title)
            for word in search.lower().split():
                conditions.append(title.contains(word, autoescape=True))
    return conditions


def _count_from_counters(session: Session, filters: TaskFilter) -> int | None:
    """The list's exact count from the open work counters when its filters are ones the
    counters are kept by (teams, service, step, open or claimed), so that a queue of
    twenty thousand tasks is counted by adding a few numbers; None otherwise."""
    if (tuple(filters.states) != QUEUED_TASK_STATES
            or filters.state not in (None, "open", "claimed")
            or filters.assignee_id is not None or filters.overdue or filters.search.strip()):
        return None
    counted = {"open": OpenWorkCount.open_count, "claimed": OpenWorkCount.claimed_count}.get(
        filters.state or "", OpenWorkCount.open_count + OpenWorkCount.claimed_count)
    query = select(func.coalesce(func.sum(counted), 0))
    if filters.team_ids is not None:
        query = query.where(col(OpenWorkCount.team_id).in_(filters.team_ids))
    if filters.service_id is not None:
        query = query.where(OpenWorkCount.service_id == filters.service_id)
    if filters.position is not None:
        query = query.where(OpenWorkCount.position == filters.position)
    return int(session.exec(query).one())


def _after(cursor: Cursor) -> Any:
    """The rows that come after the cursor in the cursor's sort."""
    if cursor.sort == "oldest":
        return tuple_(Task.opened_at, Task.id) > tuple_(cursor.moment, cursor.task_id)
    due_at = col(Task.due_at)
    if cursor.moment is None:
        # Past every dated task already: the rest of the undated ones, by id.
        return and_(due_at.is_(None), col(Task.id) > cursor.task_id)
    return or_(
        and_(due_at.is_not(None),
             tuple_(Task.due_at, Task.id) > tuple_(cursor.moment, cursor.task_id)),
        due_at.is_(None),
    )


def _order(sort: str) -> list[Any]:
    if sort == "due":
        # `due_at IS NULL` sorts false (dated) before true (undated) on SQLite and
        # PostgreSQL alike, which NULLS LAST would not say the same way on both.
        return [col(Task.due_at).is_(None), col(Task.due_at), col(Task.id)]
    return [col(Task.opened_at), col(Task.id)]


def list_tasks(
    session: Session, *, filters: TaskFilter, after: str | None = None,
    limit: int = PAGE_SIZE,
) -> TaskPage:
    sort = sort_named(filters.sort)
    if filters.overdue and filters.now is None:
        # One moment for the count and the rows, so they agree.
        filters.now = utcnow()
    conditions = _conditions(filters)
    total = None
    if not after:
        # Only the first page shows the count; "show more" pages only add rows.
        total = _count_from_counters(session, filters)
        if total is None:
            total = session.exec(select(func.count()).select_from(Task).where(*conditions)).one()
    if after:
        conditions.append(_after(Cursor.decode(after, sort)))
    page_of = _ROWS.where(*conditions)
    if filters.search.strip() and not _NUMBER.match(filters.search.strip()):
        # PostgreSQL guesses that `LIKE '%word%'` keeps 5 of a queue's 16,000 tasks, so it
        # read all of them from the table and sorted them (13,000 matched the bench's
        # word: 10-500 ms). The page's ids first, walking the queue's covering index in
        # order, then their rows.
        page_of = _ROWS.where(col(Task.id).in_(
            select(Task.id).where(*conditions).order_by(*_order(sort)).limit(limit + 1)))
    rows = _rows(session, page_of.order_by(*_order(sort)).limit(limit + 1))
    allow_own_approvals(session, rows, filters.viewer_id)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1].task
        moment = last.due_at if sort == "due" else last.opened_at
        assert sort == "due" or moment is not None
        next_cursor = Cursor(moment, last.id, sort).encode()
    return TaskPage(rows=rows, total=total, next_cursor=next_cursor, filters=filters)


def task_row(session: Session, task: Task, viewer_id: int | None = None) -> TaskRow:
    """One row, as a list would show it (for re-rendering a row after an action): the
    list's own query for that one task, so the row is read fresh in one statement."""
    rows = _rows(session, _ONE_ROW, {"task_id": task.id})
    allow_own_approvals(session, rows, viewer_id)
    return rows[0]


def _rows_query() -> Any:
    """The rows of a list of tasks, with the names a row shows. The names are scalar
    subqueries, not joins: PostgreSQL then plans a query of one table (planning the
    six-table join cost more than running it, 2.4-3.5 ms at every execution, and for
    My work it chose a join order 5 times slower than this), and looks the names up
    for the page's rows only, after the ORDER BY and LIMIT."""
    assignee = aliased(User)
    return (
        # Past the arity of sqlmodel's typed select, so SQLAlchemy's.
        sa_select(  # type: ignore[call-overload]  # model attributes typed as plain str
            *_TASK_LINE_COLUMNS,
            Task.request_title,
            select(Service.name).where(Service.id == Task.service_id).scalar_subquery(),
            select(Team.name).where(Team.id == Task.team_id).scalar_subquery(),
            select(User.name)
            .join(ServiceRequest, col(ServiceRequest.requester_id) == User.id)
            .where(ServiceRequest.id == Task.request_id).scalar_subquery(),
            select(assignee.name).where(assignee.id == Task.assignee_id).scalar_subquery(),
            select(ServiceRequest.requester_id)
            .where(ServiceRequest.id == Task.request_id).scalar_subquery(),
        )
    )


# Built once: making the statement (five subqueries, an alias) cost more than running
# it, and a statement kept whole keeps its cache key (SQLAlchemy memoizes it).
_ROWS = _rows_query()
_ONE_ROW = _ROWS.where(Task.id == bindparam("task_id"))


def _rows(session: Session, query: Any, params: dict[str, Any] | None = None
          ) -> list[TaskRow]:
    width = len(_TASK_LINE_COLUMNS)
    rows = []
    for row in session.execute(query, params):
        task = TaskLine(*row[:width])
        title, service_name, team_name, requester_name, assignee_name, requester_id = (
            row[width:])
        rows.append(TaskRow(task, RequestLine(task.request_id, title), service_name,
                            team_name, requester_name, assignee_name, requester_id))
    return rows


def allow_own_approvals(session: Session, rows: list[TaskRow], viewer_id: int | None
                        ) -> None:
    """Marks the approvals of the viewer's own requests whose step lets the requester
    decide (rule 7, app.rules.policy): a lookup for those few rows only, one version
    each."""
    definitions: dict[int, ServiceDefinition] = {}
    for row in rows:
        if row.task.kind != StepKind.approval or row.requester_id != viewer_id:
            continue
        request = session.get(ServiceRequest, row.task.request_id)
        assert request is not None
        if request.version_id not in definitions:
            version = session.get(ServiceVersion, request.version_id)
            assert version is not None
            definitions[request.version_id] = definition_of(version)
        row.requester_may_approve = requester_may_approve(
            definitions[request.version_id], row.task.position)


def copy_missing_request_titles(session: Session) -> int:
    """Copies each request's title into those of its tasks that lack it: tasks written by
    a release older than the copy (during a rolling upgrade) are not found by a title
    search until then. The caller commits; returns how many tasks were filled."""
    title = (select(ServiceRequest.title).where(ServiceRequest.id == Task.request_id)
             .scalar_subquery())
    result = cast(CursorResult[Any], session.execute(
        update(Task).where(col(Task.request_title) == "").values(request_title=title)
    ))
    return int(result.rowcount or 0)


def services_with_queued_tasks(session: Session, team_ids: list[int]) -> list[Service]:
    """The services offered as a queue filter: those with open work in these teams (read
    from the open work counters, not from every queued task)."""
    service_ids = select(OpenWorkCount.service_id).where(
        col(OpenWorkCount.team_id).in_(team_ids),
        OpenWorkCount.open_count + OpenWorkCount.claimed_count > 0,
    )
    return list(session.exec(
        select(Service).where(col(Service.id).in_(service_ids)).order_by(Service.name)
    ))


def queue_counts(session: Session, team_ids: list[int]) -> dict[int, tuple[int, int]]:
    """team id -> (open, claimed) counts, for the list of one's queues."""
    rows = session.exec(
        select(OpenWorkCount.team_id, func.sum(OpenWorkCount.open_count),
               func.sum(OpenWorkCount.claimed_count))
        .where(col(OpenWorkCount.team_id).in_(team_ids))
        .group_by(col(OpenWorkCount.team_id))
    )
    counts: dict[int, tuple[int, int]] = {team_id: (0, 0) for team_id in team_ids}
    counts.update({team_id: (int(opened), int(claimed)) for team_id, opened, claimed in rows})
    return counts


def overdue_counts(
    session: Session, team_ids: list[int], now: datetime | None = None
) -> dict[int, int]:
    """team id -> how many of its open or claimed tasks are past their due time: per team
    its tasks with a due time (counters) less those not due yet (one range count over
    recent work; see app.reads.overview)."""
    not_due_yet = (
        select(func.count()).select_from(Task)
        .where(Task.team_id == OpenWorkCount.team_id, is_queued(),
               col(Task.due_at) >= (now or utcnow()))
        .scalar_subquery()
    )
    rows = session.exec(
        select(OpenWorkCount.team_id, func.sum(OpenWorkCount.due_count) - not_due_yet)
        .where(col(OpenWorkCount.team_id).in_(team_ids))
        .group_by(col(OpenWorkCount.team_id))
    )
    counts = dict.fromkeys(team_ids, 0)
    counts.update({team_id: int(count) for team_id, count in rows})
    return counts


def count_changes(session: Session, *, filters: TaskFilter, since: datetime) -> int:
    """How many of the list's tasks opened or changed state after `since` (the moment the
    page was rendered), for the live queue's poll: a range of the team's index of queued
    tasks by change time, the few recent ones, not the whole queue. A task opening sets
    `state_changed_at` with `opened_at` (progress.set_task_state), so it covers both. The
    viewer's own claims are left out: their row is already on the page."""
    conditions = [*_conditions(filters), col(Task.state_changed_at) > since]
    if filters.viewer_id is not None:
        conditions.append(or_(col(Task.state) != TaskState.claimed,
                              col(Task.assignee_id).is_(None),
                              col(Task.assignee_id) != filters.viewer_id))
    return int(session.exec(select(func.count()).select_from(Task).where(*conditions)).one())
