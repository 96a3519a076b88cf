"""The manager overview: all open work at a glance, by team and by service × step.

Each table is one grouped query: counts, claimed, overdue and the oldest in one pass."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.models import QUEUED_TASK_STATES, Service, Task, TaskState, Team, utcnow


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


def _claimed_count():  # type: ignore[no-untyped-def]
    return func.sum(case((Task.state == TaskState.claimed, 1), else_=0))


def _overdue_count(now: datetime):  # type: ignore[no-untyped-def]
    # A task without a due time compares NULL, which is not < now: never overdue.
    return func.sum(case((col(Task.due_at) < now, 1), else_=0))


def open_work_by_team(session: Session, *, now: datetime | None = None) -> list[TeamLine]:
    rows = session.exec(
        sa_select(  # type: ignore[call-overload]  # model attributes typed as plain values
            Task.team_id, func.count(), _claimed_count(), func.min(Task.opened_at),
            _overdue_count(now or utcnow()),
        )
        .where(col(Task.state).in_(QUEUED_TASK_STATES))
        .group_by(col(Task.team_id))
    ).all()
    teams = {team.id: team for team in session.exec(select(Team))}
    lines = [
        TeamLine(teams[team_id], WorkCount(count, int(claimed or 0), oldest, int(late or 0)))
        for team_id, count, claimed, oldest, late in rows
    ]
    return sorted(lines, key=lambda line: line.team.name)


def open_work_by_step(session: Session, *, now: datetime | None = None) -> list[StepLine]:
    rows = session.exec(
        sa_select(  # type: ignore[call-overload]  # model attributes typed as plain values
            Task.service_id, Task.position, Task.step_name, func.count(),
            _claimed_count(), func.min(Task.opened_at), _overdue_count(now or utcnow()),
        )
        .where(col(Task.state).in_(QUEUED_TASK_STATES))
        .group_by(Task.service_id, Task.position, Task.step_name)
    ).all()
    services = {service.id: service for service in session.exec(select(Service))}
    lines = [
        StepLine(services[service_id], position, step_name,
                 WorkCount(count, int(claimed or 0), oldest, int(late or 0)))
        for service_id, position, step_name, count, claimed, oldest, late in rows
    ]
    return sorted(lines, key=lambda line: (line.service.name, line.position))


def oldest_first(lines: list[StepLine]) -> StepLine | None:
    dated = [line for line in lines if line.work.oldest_opened_at is not None]
    return min(dated, key=lambda line: line.work.oldest_opened_at) if dated else None  # type: ignore[arg-type,return-value]
