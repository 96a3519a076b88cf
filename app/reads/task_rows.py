"""The rows of a page of tasks: one query for the rows, with the names a row shows, and
one for the exact count on the first page (app.reads.queues says which tasks and in what
order)."""

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, partial
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Integer,
    bindparam,
    func,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.format.definitions import ServiceDefinition
from app.reads.queues import (
    SORTS,
    Cursor,
    TaskFilter,
    after_cursor,
    conditions_of,
    order_of,
    searches_titles,
    sort_named,
)
from app.reads.task_counts import count_from_counters, service_names, team_names
from app.reads.task_lines import names_by_id
from app.rules.catalog import definition_of
from app.rules.policy import decides, requester_may_approve
from app.storage.directory_cache import directory_noted
from app.storage.driver_reads import DriverRead, rows_of
from app.storage.models import (
    Service,
    ServiceRequest,
    ServiceVersion,
    StepKind,
    Task,
    Team,
    User,
    is_queued,
    request_number,
    utcnow,
)

PAGE_SIZE = 50


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
        return decides(user_id=viewer_id, requester_id=self.requester_id,
                       kind=self.task.kind, requester_may_approve=self.requester_may_approve)


# A queue's title search counts its matches up to this many, then says "more than": an
# exact count reads every match, as many as the team has queued tasks (224 at 10k
# requests, 23,346 at 1M on the benchmark's busiest team), so it grew with the database.
SEARCH_COUNTED_AT_MOST = 1000


@dataclass
class TaskPage:
    rows: list[TaskRow]
    total: int | None  # None on pages after the first
    next_cursor: str | None
    filters: TaskFilter = field(default_factory=TaskFilter)
    # True when there are more than `total` (a title search counted up to a limit).
    more: bool = False


def list_tasks(
    session: Session, *, filters: TaskFilter, after: str | None = None,
    limit: int = PAGE_SIZE, counted: bool = True, search_counted_at_most: int | None = None,
) -> TaskPage:
    """A page of the list: `limit` rows after the cursor `after` (from the start
    without one), and on the first page the exact count, unless `counted` is False;
    `search_counted_at_most`: a title search's count stops there (TaskPage.more)."""
    sort = sort_named(filters.sort)
    if filters.overdue and filters.now is None:
        # One moment for the count and the rows, so they agree.
        filters.now = utcnow()
    total, more = None, False
    plain = _plain_first_page(filters, sort) if limit == _PLAIN_LIMIT and not after else None
    # Built when a statement first says them: the plain first page, the one asked most,
    # has them in its own statement, built once (_PLAIN_FIRST_PAGES), and its count from
    # the counters.
    conditions = cache(partial(conditions_of, filters))
    if not after and counted:
        # Only the first page shows the count; "show more" pages only add rows.
        total = count_from_counters(session, filters)
        if total is None and search_counted_at_most is not None and searches_titles(filters):
            matches = select(Task.id).where(*conditions()).limit(search_counted_at_most + 1)
            total = session.exec(select(func.count()).select_from(matches.subquery())).one()
            more = total > search_counted_at_most
            total = min(total, search_counted_at_most)
        elif total is None:
            total = session.exec(select(func.count()).select_from(Task)
                                 .where(*conditions())).one()
    if plain is not None:
        rows = _rows(session, plain[0], {"team_id": plain[1]})
    else:
        rows = _rows(session, _page_statement(filters, conditions(), sort=sort, after=after,
                                              limit=limit))
    allow_own_approvals(session, rows, filters.viewer_id)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1].task
        moment = last.due_at if sort == "due" else last.opened_at
        if moment is None and sort != "due":  # every queued task has opened
            raise ValueError(f"task {last.id} is in a list but never opened")
        next_cursor = Cursor(moment, last.id, sort).encode()
    return TaskPage(rows=rows, total=total, next_cursor=next_cursor, filters=filters,
                    more=more)


def _page_statement(filters: TaskFilter, conditions: list[Any], *, sort: str,
                    after: str | None, limit: int) -> Any:
    """The statement of a page that _PLAIN_FIRST_PAGES does not hold, from the filters'
    conditions (conditions_of)."""
    conditions = [*conditions]
    if after:
        conditions.append(after_cursor(Cursor.decode(after, sort)))
    if searches_titles(filters):
        # PostgreSQL guesses that `LIKE '%word%'` keeps 5 of a queue's 16,000 tasks, so it
        # read all of them from the table and sorted them (13,000 matched the bench's
        # word: 10-500 ms). The page's ids first, walking the queue's covering index in
        # order, then their rows.
        page_of = _ROWS.where(col(Task.id).in_(
            select(Task.id).where(*conditions).order_by(*order_of(sort)).limit(limit + 1)))
        return page_of.order_by(*order_of(sort)).limit(limit + 1)
    return _ROWS.where(*conditions).order_by(*order_of(sort)).limit(limit + 1)


def task_row(session: Session, task: Task, viewer_id: int | None = None) -> TaskRow:
    """One row, as a list would show it (for re-rendering a row after an action): the
    list's own query for that one task, so the row is read fresh in one statement."""
    rows = _rows(session, _ONE_ROW, {"task_id": task.id})
    allow_own_approvals(session, rows, viewer_id)
    return rows[0]


def _rows_query() -> Any:
    """The rows of a list of tasks, with the people's names a row shows. The names are
    scalar subqueries, not joins: PostgreSQL then plans a query of one table (planning
    the six-table join cost more than running it, 2.4-3.5 ms at every execution, and
    for My work it chose a join order 5 times slower than this), and looks the names up
    for the page's rows only, after the ORDER BY and LIMIT. The service's and the team's
    names come from the directory kept in memory (`_rows`): two subqueries a row cost
    PostgreSQL a quarter of the statement (0.2-0.6 ms a page of 50)."""
    assignee = aliased(User)
    return (
        # Past the arity of sqlmodel's typed select, so SQLAlchemy's.
        sa_select(  # type: ignore[call-overload]  # model attributes typed as plain str
            *_TASK_LINE_COLUMNS,
            Task.request_title,
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
# A team queue's first page with no filter, the list opened most, built once per order
# with the team bound (the same statement conditions_of builds for it): built again at
# every page, its cache key was worked out again too, a twentieth of the page's time.
_PLAIN_LIMIT = PAGE_SIZE
_PLAIN_FIRST_PAGES = {
    sort: DriverRead(
        _ROWS.where(is_queued(), col(Task.team_id) == bindparam("team_id", type_=Integer))
        .order_by(*order_of(sort)).limit(_PLAIN_LIMIT + 1))
    for sort in SORTS}


def _plain_first_page(filters: TaskFilter, sort: str) -> tuple[Any, int] | None:
    """_PLAIN_FIRST_PAGES's statement and its team, when the filters ask for nothing but
    one team's queued tasks in an order."""
    if filters.team_ids is None or len(filters.team_ids) != 1:
        return None
    bare = TaskFilter(team_ids=filters.team_ids, viewer_id=filters.viewer_id,
                      sort=filters.sort, now=filters.now)
    return (_PLAIN_FIRST_PAGES[sort], next(iter(filters.team_ids))) if filters == bare else None


_ONE_ROW = DriverRead(_ROWS.where(Task.id == bindparam("task_id")))


def _rows(session: Session, query: Any, params: dict[str, Any] | None = None
          ) -> list[TaskRow]:
    width = len(_TASK_LINE_COLUMNS)
    rows = []
    # On the session's connection: columns need none of the ORM's work on a result,
    # which cost a third of reading a page of rows (SQLite 20k). Rows are read after the
    # rules committed, so there is nothing unflushed for it to miss.
    for row in rows_of(session.connection(), query, params or {}):
        task = TaskLine(*row[:width])
        title, requester_name, assignee_name, requester_id = row[width:]
        rows.append(TaskRow(task, RequestLine(task.request_id, title), "", "",
                            requester_name, assignee_name, requester_id))
    _name_services_and_teams(session, rows)
    return rows


def _name_services_and_teams(session: Session, rows: list[TaskRow]) -> None:
    """Each row's service and team names: from the directory kept at the request's
    version; or read for these rows alone (names_by_id, as a download names its rows)
    when no version is noted (after a rollback, say) or the kept names lack one (on
    PostgreSQL the rows may be newer than that version: each statement sees what is
    committed when it starts)."""
    if not rows:
        return
    services: dict[int, str] = {}
    teams: dict[int, str] = {}
    if directory_noted(session):
        services, teams = service_names(session), team_names(session)
    if any(row.task.service_id not in services or row.task.team_id not in teams
           for row in rows):
        services = names_by_id(session, Service, {row.task.service_id for row in rows})
        teams = names_by_id(session, Team, {row.task.team_id for row in rows})
    for row in rows:
        row.service_name = services[row.task.service_id]
        row.team_name = teams[row.task.team_id]


def allow_own_approvals(session: Session, rows: list[TaskRow], viewer_id: int | None
                        ) -> None:
    """Marks the approvals of the viewer's own requests whose step lets the requester
    decide (rule 7, app.rules.policy): one query for those few rows' versions, and
    each version's definition read once."""
    own = [row for row in rows
           if row.task.kind == StepKind.approval and row.requester_id == viewer_id]
    if not own:
        return
    versions = session.exec(
        select(ServiceRequest.id, ServiceVersion)
        .join(ServiceVersion, col(ServiceVersion.id) == ServiceRequest.version_id)
        .where(col(ServiceRequest.id).in_({row.task.request_id for row in own}))
    ).all()
    version_of = {request_id: version for request_id, version in versions}
    definitions: dict[int, ServiceDefinition] = {}
    for row in own:
        version = version_of[row.task.request_id]
        if version.id not in definitions:
            definitions[version.id] = definition_of(version)  # type: ignore[index]
        row.requester_may_approve = requester_may_approve(
            definitions[version.id], row.task.position)  # type: ignore[index]


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
