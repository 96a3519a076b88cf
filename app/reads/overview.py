"""The manager overview: all open work at a glance, by team and by service × step.

Each table is one query over the open work counters (app.storage.work_counts), which stay a few
hundred rows however many requests there are."""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.reads.queues import TaskFilter, conditions_of
from app.storage.models import (
    OpenWorkCount,
    Service,
    ServiceVersion,
    Task,
    Team,
    is_queued,
    utcnow,
)


@dataclass
class WorkCount:
    """Open work in one group: how many tasks, how many claimed, how many past their
    due time, since when."""

    count: int
    claimed: int
    oldest_opened_at: datetime | None
    overdue: int = 0

    @property
    def unclaimed(self) -> int:
        return self.count - self.claimed


@dataclass
class TeamLine:
    team: Team
    work: WorkCount


@dataclass
class StepLine:
    service: Service
    position: int
    step_name: str
    work: WorkCount


def _open_work(*keys: Any, now: datetime) -> Any:
    """Counts per group from the counters, and per group one seek for the oldest task
    and one range count of the tasks not due yet, on the partial indexes of queued
    tasks. Overdue = those with a due time (a counter) less those not due yet: the tasks
    not due yet opened within their step's target, so there are about as many as
    arrive in a target's time, while overdue ones pile up with the backlog (75,000 at a
    million requests in the benchmark, counted in 30 ms). The cost follows the groups
    and the recent work, not all tasks."""
    matches = [task_column == counter_column for task_column, counter_column in keys]
    counts = [counter for _task_column, counter in keys]
    open_count = func.sum(OpenWorkCount.open_count)
    claimed_count = func.sum(OpenWorkCount.claimed_count)
    oldest = (select(func.min(Task.opened_at)).where(*matches, is_queued())
              .scalar_subquery())
    not_due_yet = (select(func.count()).select_from(Task)
                   .where(*matches, is_queued(), col(Task.due_at) >= now).scalar_subquery())
    return (
        sa_select(*counts, open_count + claimed_count, claimed_count, oldest,
                  func.sum(OpenWorkCount.due_count) - not_due_yet)
        .group_by(*counts)
        .having(open_count + claimed_count > 0)
    )


def open_work_by_team(session: Session, *, now: datetime | None = None) -> list[TeamLine]:
    rows = session.exec(_open_work(  # type: ignore[call-overload]
        (Task.team_id, OpenWorkCount.team_id), now=now or utcnow())).all()
    teams = {team.id: team for team in session.exec(select(Team))}
    lines = [
        TeamLine(teams[team_id], WorkCount(int(count), int(claimed), oldest, int(late)))
        for team_id, count, claimed, oldest, late in rows
    ]
    return sorted(lines, key=lambda line: line.team.name)


def open_work_by_step(session: Session, *, now: datetime | None = None) -> list[StepLine]:
    rows = session.exec(_open_work(  # type: ignore[call-overload]
        (Task.service_id, OpenWorkCount.service_id), (Task.position, OpenWorkCount.position),
        (Task.step_name, OpenWorkCount.step_name), now=now or utcnow())).all()
    services = {service.id: service for service in session.exec(select(Service))}
    lines = [
        StepLine(services[service_id], position, step_name,
                 WorkCount(int(count), int(claimed), oldest, int(late)))
        for service_id, position, step_name, count, claimed, oldest, late in rows
    ]
    # A service's lines together, even beside another service of the same name.
    return sorted(lines, key=lambda line: (line.service.name, line.service.id or 0,
                                           line.position))


def oldest_first(lines: list[StepLine]) -> StepLine | None:
    dated = [line for line in lines if line.work.oldest_opened_at is not None]
    return min(dated, key=lambda line: line.work.oldest_opened_at) if dated else None  # type: ignore[arg-type,return-value]


def has_step(session: Session, *, position: int, service_id: int | None = None) -> bool:
    """Whether the service (any service, without one) has a step at `position`: in its
    current version, or as open work left by an earlier version that had more steps.
    A list behind a step that does not exist is not found, not an empty page."""
    current = (select(ServiceVersion.definition)
               .join(Service, col(Service.current_version_id) == ServiceVersion.id))
    open_work = select(OpenWorkCount.position).where(
        OpenWorkCount.position == position,
        OpenWorkCount.open_count + OpenWorkCount.claimed_count > 0,
    )
    if service_id is not None:
        current = current.where(Service.id == service_id)
        open_work = open_work.where(OpenWorkCount.service_id == service_id)
    if any(len(definition.get("steps", ())) > position for definition in session.exec(current)):
        return True
    return session.exec(open_work.limit(1)).first() is not None


def any_on_teams(session: Session, *, filters: TaskFilter, team_ids: Iterable[int]) -> bool:
    """Whether any task of the list `filters` describes is on one of these teams (a
    manager's own, for whom its rows have buttons): one probe of the queued-task
    indexes, none when no team of the list is theirs."""
    mine = set(team_ids)
    if filters.team_ids is not None:
        mine &= set(filters.team_ids)
    if not mine:
        return False
    probe = replace(filters, team_ids=sorted(mine))
    return session.exec(select(Task.id).where(*conditions_of(probe)).limit(1)
                        ).first() is not None
