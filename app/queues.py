"""Lists of tasks: team queues, "my work" and the overview's drill-down.

Every list is ordered oldest first by (opened_at, id) and paginated by keyset, never by
offset, so a deep page costs what the first page costs. Each page is one query for the
rows and one for the exact count.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import false, func, tuple_
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.models import (
    MAX_ID,
    QUEUED_TASK_STATES,
    Service,
    ServiceRequest,
    Task,
    TaskState,
    Team,
    User,
)

PAGE_SIZE = 50
_NUMBER = re.compile(r"^\s*(?:req-?)?(\d{1,12})\s*$", re.IGNORECASE)


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    opened_at: datetime
    task_id: int

    def encode(self) -> str:
        return f"{self.opened_at.isoformat()}_{self.task_id}"

    @staticmethod
    def decode(text: str) -> "Cursor":
        try:
            stamp, task_id = text.rsplit("_", 1)
            cursor = Cursor(datetime.fromisoformat(stamp), int(task_id))
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


@dataclass
class TaskRow:
    task: Task
    request: ServiceRequest
    service_name: str
    team_name: str
    requester_name: str
    assignee_name: str | None


@dataclass
class TaskPage:
    rows: list[TaskRow]
    total: int | None  # None on pages after the first
    next_cursor: str | None
    filters: TaskFilter = field(default_factory=TaskFilter)


def _conditions(filters: TaskFilter) -> list:
    conditions: list = [col(Task.state).in_(filters.states)]
    if filters.team_ids is not None:
        conditions.append(col(Task.team_id).in_(filters.team_ids))
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
    search = filters.search.strip()
    if search:
        number = _NUMBER.match(search)
        if number:
            # A number past any id matches nothing rather than overflowing the column.
            request_id = int(number.group(1))
            conditions.append(
                Task.request_id == request_id if request_id <= MAX_ID else false()
            )
        else:
            # Every word must appear in the title, in any order (as in the catalog search).
            titles = select(ServiceRequest.id)
            title = func.lower(ServiceRequest.title)
            for word in search.lower().split():
                titles = titles.where(title.contains(word, autoescape=True))
            conditions.append(col(Task.request_id).in_(titles))
    return conditions


def list_tasks(
    session: Session, *, filters: TaskFilter, after: str | None = None,
    limit: int = PAGE_SIZE,
) -> TaskPage:
    conditions = _conditions(filters)
    total = None
    if not after:
        # Only the first page shows the count; "show older" pages only add rows.
        total = session.exec(select(func.count()).select_from(Task).where(*conditions)).one()
    if after:
        cursor = Cursor.decode(after)
        conditions.append(
            tuple_(Task.opened_at, Task.id) > tuple_(cursor.opened_at, cursor.task_id)
        )
    requester = aliased(User)
    assignee = aliased(User)
    query = (
        # Six columns: past the arity of sqlmodel's typed select, so SQLAlchemy's.
        sa_select(  # type: ignore[call-overload]  # model attributes typed as plain str
            Task, ServiceRequest, Service.name, Team.name, requester.name, assignee.name
        )
        .join(ServiceRequest, col(ServiceRequest.id) == Task.request_id)
        .join(Service, col(Service.id) == Task.service_id)
        .join(Team, col(Team.id) == Task.team_id)
        .join(requester, requester.id == ServiceRequest.requester_id)
        .outerjoin(assignee, assignee.id == Task.assignee_id)
        .where(*conditions)
        .order_by(col(Task.opened_at), col(Task.id))
        .limit(limit + 1)
    )
    rows = [TaskRow(*row) for row in session.exec(query)]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1].task
        assert last.opened_at is not None and last.id is not None
        next_cursor = Cursor(last.opened_at, last.id).encode()
    return TaskPage(rows=rows, total=total, next_cursor=next_cursor, filters=filters)


def task_row(session: Session, task: Task) -> TaskRow:
    """One row, as a list would show it (for re-rendering a row after an action)."""
    service_request = session.get(ServiceRequest, task.request_id)
    service = session.get(Service, task.service_id)
    team = session.get(Team, task.team_id)
    assert service_request and service and team
    requester = session.get(User, service_request.requester_id)
    assignee = session.get(User, task.assignee_id) if task.assignee_id else None
    return TaskRow(
        task=task, request=service_request, service_name=service.name, team_name=team.name,
        requester_name=requester.name if requester else "",
        assignee_name=assignee.name if assignee else None,
    )


def services_with_queued_tasks(session: Session, team_ids: list[int]) -> list[Service]:
    """The services offered as a queue filter: those that route steps to these teams."""
    service_ids = select(Task.service_id).where(
        col(Task.team_id).in_(team_ids), col(Task.state).in_(QUEUED_TASK_STATES)
    ).distinct()
    return list(session.exec(
        select(Service).where(col(Service.id).in_(service_ids)).order_by(Service.name)
    ))


def queue_counts(session: Session, team_ids: list[int]) -> dict[int, tuple[int, int]]:
    """team id -> (open, claimed) counts, for the list of one's queues."""
    rows = session.exec(
        select(Task.team_id, Task.state, func.count())
        .where(col(Task.team_id).in_(team_ids), col(Task.state).in_(QUEUED_TASK_STATES))
        .group_by(col(Task.team_id), col(Task.state))
    )
    counts: dict[int, tuple[int, int]] = {team_id: (0, 0) for team_id in team_ids}
    for team_id, state, count in rows:
        open_count, claimed = counts[team_id]
        counts[team_id] = (count, claimed) if state == TaskState.open else (open_count, count)
    return counts

