"""Lists of tasks (team queues, "my work" and the overview's drill-down): which tasks a
list holds (TaskFilter), in what order, and where a page ends (Cursor). The rows of a
page are app.reads.task_rows'; the counts beside a list, app.reads.task_counts'.

Every list is ordered oldest first by (opened_at, id), or due soonest by (due_at, id)
with the tasks that have no due time after all the dated ones, and paginated by keyset,
never by offset, so a deep page costs what the first page costs.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, func, or_, tuple_
from sqlmodel import col

from app.storage.models import (
    MAX_ID,
    QUEUED_TASK_STATES,
    Task,
    TaskState,
    is_queued,
    utcnow,
)

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
    # Only tasks opened within an age bucket (app.reads.insights.AGE_BUCKETS): after the
    # first moment (excluded) and up to the second (included); None: no bound.
    opened_after: datetime | None = None
    opened_until: datetime | None = None


def conditions_of(filters: TaskFilter) -> list:
    """The WHERE conditions of the list's tasks (not where a page starts: after_cursor)."""
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
    if filters.opened_after is not None:
        conditions.append(col(Task.opened_at) > filters.opened_after)
    if filters.opened_until is not None:
        conditions.append(col(Task.opened_at) <= filters.opened_until)
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


def searches_titles(filters: TaskFilter) -> bool:
    """Whether the list's search is words of a title (not a request's number)."""
    search = filters.search.strip()
    return bool(search) and not _NUMBER.match(search)


def after_cursor(cursor: Cursor) -> Any:
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


def order_of(sort: str) -> list[Any]:
    if sort == "due":
        # `due_at IS NULL` sorts false (dated) before true (undated) on SQLite and
        # PostgreSQL alike, which NULLS LAST would not say the same way on both.
        return [col(Task.due_at).is_(None), col(Task.due_at), col(Task.id)]
    return [col(Task.opened_at), col(Task.id)]
