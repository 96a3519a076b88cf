"""Insights for one team (its members and managers): the tasks it finished each week of a
window, its open work by age, and each step it owns with how long its tasks waited and
were worked.

A constant number of statements whatever the number of steps: the services' current
steps, the team's weekly sums (app.storage.flow_figures' StepWeek, with every team's
finished count of the same steps beside them), one union of every percentile probe, and
the open work by age. Percentiles are exact, nearest rank (app.reads.insights.rank):
each probe one row of the window's durations sorted by the database. When the team
finished all of a step's tasks in the window (the usual case: a step has one team),
the probe reads the step's covering index without asking for the team, which would
cost a read of each task's row; otherwise it asks for the team too.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal_column, tuple_, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.format.definitions import ServiceDefinition
from app.reads.insights import AGE_BUCKETS, Spread, Window, rank
from app.storage.models import (
    Service,
    ServiceVersion,
    StepWeek,
    Task,
    TaskDuration,
    Team,
    is_queued,
)

StepKey = tuple[int, int]  # service id, position


@dataclass
class TeamStep:
    """One step the team owns, over the window."""

    service: Service
    position: int
    name: str
    finished: int = 0
    targeted: int = 0
    within_target: int = 0
    # Every team's tasks of this step finished in the window (the team's own included).
    finished_by_anyone: int = 0
    waited: Spread = field(default_factory=lambda: Spread(0))
    worked: Spread = field(default_factory=lambda: Spread(0))

    @property
    def key(self) -> StepKey:
        return (self.service.id, self.position)

    @property
    def within_share(self) -> float | None:
        return self.within_target / self.targeted if self.targeted else None


@dataclass
class TeamInsights:
    team: Team
    window: Window
    counted_at: datetime  # the moment the open work's ages were counted
    finished: list[int]  # tasks finished, one count a week of the window
    ages: list[int]  # open and claimed tasks, one count an AGE_BUCKETS bucket
    steps: list[TeamStep]

    @property
    def total(self) -> int:
        return sum(self.finished)

    @property
    def per_week(self) -> float:
        return self.total / len(self.finished) if self.finished else 0.0

    @property
    def open_total(self) -> int:
        return sum(self.ages)


def _owned_steps(session: Session, team: Team) -> dict[StepKey, TeamStep]:
    """The steps of every service's current version that name the team, by service name."""
    steps: dict[StepKey, TeamStep] = {}
    rows = session.exec(  # type: ignore[call-overload]
        sa_select(Service, col(ServiceVersion.definition))
        .join(ServiceVersion, col(ServiceVersion.id) == col(Service.current_version_id))
        .order_by(col(Service.name), col(Service.id)))
    for service, definition in rows:
        for position, step in enumerate(ServiceDefinition.model_validate(definition).steps):
            if step.team == team.slug:
                steps[(service.id, position)] = TeamStep(service, position, step.name)
    return steps


def _weekly_sums(session: Session, team: Team, window: Window, steps: dict[StepKey, TeamStep],
                 ) -> list[int]:
    """Fills each step's sums (adding the steps the team finished tasks of that its
    current definition no longer names) and returns the team's finished count a week."""
    weeks = window.weeks
    index = {week: n for n, week in enumerate(weeks)}
    finished = [0] * len(weeks)
    in_window = [col(StepWeek.week) >= window.start, col(StepWeek.week) < window.end]
    ours = col(StepWeek.team_id) == team.id
    team_steps = (sa_select(col(StepWeek.service_id), col(StepWeek.position))
                  .where(ours, *in_window).distinct())

    def of_team(column: Any) -> Any:
        return func.sum(case((ours, column), else_=0))

    rows = session.exec(  # type: ignore[call-overload]
        sa_select(col(StepWeek.service_id), col(StepWeek.position), col(StepWeek.week),
                  of_team(StepWeek.finished_count), of_team(StepWeek.targeted_count),
                  of_team(StepWeek.within_target_count), func.sum(StepWeek.finished_count))
        .where(*in_window,
               tuple_(col(StepWeek.service_id), col(StepWeek.position)).in_(team_steps))
        .group_by(col(StepWeek.service_id), col(StepWeek.position), col(StepWeek.week)))
    unknown: dict[StepKey, list[int]] = {}
    for service_id, position, week, done, targeted, within, anyone in rows:
        key = (service_id, position)
        sums = [int(done), int(targeted), int(within), int(anyone)]
        step = steps.get(key)
        if step is None:
            unknown.setdefault(key, [0, 0, 0, 0])
            unknown[key] = [a + b for a, b in zip(unknown[key], sums, strict=True)]
        else:
            step.finished += sums[0]
            step.targeted += sums[1]
            step.within_target += sums[2]
            step.finished_by_anyone += sums[3]
        finished[index[week]] += sums[0]
    if unknown:
        # Steps the team no longer owns (a service changed its definition since): named
        # by their service and number.
        services = {service.id: service for service in session.exec(  # type: ignore[call-overload]
            sa_select(Service).where(col(Service.id).in_({k[0] for k in unknown}))).scalars()}
        for (service_id, position), (done, targeted, within, anyone) in sorted(unknown.items()):
            steps[(service_id, position)] = TeamStep(
                services[service_id], position, f"Step {position + 1}", done, targeted,
                within, anyone)
    return finished


def _spreads(session: Session, team: Team, window: Window, steps: list[TeamStep]) -> None:
    """Each step's median and 90th percentile of waiting and worked, in one statement."""
    probes = []
    for n, step in enumerate(steps):
        if not step.finished:
            continue
        where = [col(TaskDuration.service_id) == step.service.id,
                 col(TaskDuration.position) == step.position,
                 col(TaskDuration.finished_at) >= window.starts_at,
                 col(TaskDuration.finished_at) < window.ends_at]
        if step.finished_by_anyone != step.finished:
            where.append(col(TaskDuration.team_id) == team.id)
        for m, (column, share) in enumerate([
            (TaskDuration.waited_seconds, 0.5), (TaskDuration.waited_seconds, 0.9),
            (TaskDuration.worked_seconds, 0.5), (TaskDuration.worked_seconds, 0.9),
        ]):
            probe = (sa_select(col(column).label("seconds")).where(*where)
                     .order_by(col(column)).offset(rank(step.finished, share)).limit(1)
                     .subquery())
            probes.append(sa_select(literal_column(str(n * 4 + m)).label("probe"), probe.c.seconds))
    if not probes:
        return
    found = dict(session.exec(union_all(*probes)).all())  # type: ignore[call-overload]
    for n, step in enumerate(steps):
        if step.finished:
            at = [int(found[n * 4 + m]) for m in range(4)]
            step.waited = Spread(step.finished, at[0], at[1])
            step.worked = Spread(step.finished, at[2], at[3])


def team_ages(session: Session, team: Team, *, now: datetime) -> list[int]:
    """The team's open and claimed tasks in each of AGE_BUCKETS at `now`, bounded as
    app.reads.insights.age_bounds says (so a list filtered by them holds each number)."""
    bounds = [now - timedelta(days=low) for low, _high in AGE_BUCKETS[1:]]
    bucket = case(*((col(Task.opened_at) > bound, n) for n, bound in enumerate(bounds)),
                  else_=len(bounds))
    ages = [0] * len(AGE_BUCKETS)
    for n, count in session.exec(  # type: ignore[call-overload]
        sa_select(bucket, func.count())
        .where(is_queued(), col(Task.team_id) == team.id).group_by(bucket)
    ):
        ages[int(n)] = int(count)
    return ages


def team_insights(session: Session, *, team: Team, window: Window, now: datetime,
                  ) -> TeamInsights:
    """The team over the window, its open work counted at `now`."""
    owned = _owned_steps(session, team)
    finished = _weekly_sums(session, team, window, owned)
    steps = sorted(owned.values(),
                   key=lambda s: (s.service.name.lower(), s.service.id, s.position))
    _spreads(session, team, window, steps)
    return TeamInsights(team=team, window=window, counted_at=now, finished=finished,
                        ages=team_ages(session, team, now=now), steps=steps)

