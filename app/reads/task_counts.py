"""The counts beside lists of tasks: a list's exact count from the open work counters,
each queue's open, claimed and overdue tasks, the services with work in a queue, and
the changes the live queue polls for."""

from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.reads.queues import TaskFilter, conditions_of
from app.storage.models import (
    QUEUED_TASK_STATES,
    OpenWorkCount,
    Service,
    Task,
    TaskState,
    is_queued,
    utcnow,
)


def count_from_counters(session: Session, filters: TaskFilter) -> int | None:
    """The list's exact count from the open work counters when its filters are ones the
    counters are kept by (teams, service, step, open or claimed), so that a queue of
    twenty thousand tasks is counted by adding a few numbers; None otherwise."""
    if (tuple(filters.states) != QUEUED_TASK_STATES
            or filters.state not in (None, "open", "claimed")
            or filters.assignee_id is not None or filters.overdue or filters.search.strip()
            # The counters know nothing of when a task was opened.
            or filters.opened_after is not None or filters.opened_until is not None):
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
    conditions = [*conditions_of(filters), col(Task.state_changed_at) > since]
    if filters.viewer_id is not None:
        conditions.append(or_(col(Task.state) != TaskState.claimed,
                              col(Task.assignee_id).is_(None),
                              col(Task.assignee_id) != filters.viewer_id))
    return int(session.exec(select(func.count()).select_from(Task).where(*conditions)).one())
