"""Insights for one team (its members and managers): the tasks it finished each week of a
window, its open work by age, and each step it owns with how long its tasks waited and
were worked.

A constant number of statements whatever the number of steps or weeks: the services'
current steps; the team's sums (app.storage.flow_figures' StepWeek) a row a step, with
every team's finished count of the same steps beside them, and a row a week; the
durations for the percentiles (app.reads.step_durations: exact, nearest rank, the weeks
that are over kept in memory); the open work by age, a range count a bucket. When the
team finished all of a step's tasks in the window (the usual case: a step has one team),
the step's durations are read from its covering index without asking for the team;
otherwise only the team's are read.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal_column, tuple_, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.reads.insights import AGE_BUCKETS, FinishedWeekly, Spread, Window, age_bounds
from app.reads.step_durations import StepRange, Sums, rank_steps
from app.storage.models import (
    Service,
    ServiceVersion,
    StepWeek,
    Task,
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
    # The team's tasks finished in the window's weeks before this one, and this week.
    before: Sums = field(default_factory=lambda: Sums(0, 0, 0))
    this_week: int = 0

    @property
    def within_share(self) -> float | None:
        return self.within_target / self.targeted if self.targeted else None


@dataclass
class TeamInsights(FinishedWeekly):
    team: Team
    window: Window
    counted_at: datetime  # the moment the open work's ages were counted
    finished: list[int]  # tasks finished, one count a week of the window
    ages: list[int]  # open and claimed tasks, one count an AGE_BUCKETS bucket
    steps: list[TeamStep]

    @property
    def open_total(self) -> int:
        return sum(self.ages)


def _owned_steps(session: Session, team: Team) -> dict[StepKey, TeamStep]:
    """The steps of every service's current version that name the team, by service name.
    Read from the stored definitions' step names and teams, without validating each whole
    definition again (sixty of them took 10 ms a page): they were valid when saved, and a
    version never changes."""
    steps: dict[StepKey, TeamStep] = {}
    rows = session.exec(  # type: ignore[call-overload]
        sa_select(Service, col(ServiceVersion.definition))
        .join(ServiceVersion, col(ServiceVersion.id) == col(Service.current_version_id))
        .order_by(col(Service.name), col(Service.id)))
    for service, definition in rows:
        for position, step in enumerate(definition.get("steps", ())):
            if step.get("team") == team.slug:
                steps[(service.id, position)] = TeamStep(service, position, step["name"])
    return steps


def _weekly_sums(session: Session, team: Team, window: Window, steps: dict[StepKey, TeamStep],
                 this_week: date) -> list[int]:
    """Fills each step's sums (adding the steps the team finished tasks of that its
    current definition no longer names) and returns the team's finished count a week:
    two statements, a row a step and a row a week."""
    in_window = [col(StepWeek.week) >= window.start, col(StepWeek.week) < window.end]
    ours = col(StepWeek.team_id) == team.id
    before = col(StepWeek.week) < this_week
    team_steps = (sa_select(col(StepWeek.service_id), col(StepWeek.position))
                  .where(ours, *in_window).distinct())

    def of_team(column: Any, *also: Any) -> Any:
        return func.sum(case((and_(ours, *also), column), else_=0))

    rows = session.connection().execute(
        sa_select(col(StepWeek.service_id), col(StepWeek.position),
                  of_team(StepWeek.finished_count), of_team(StepWeek.targeted_count),
                  of_team(StepWeek.within_target_count), func.sum(StepWeek.finished_count),
                  of_team(StepWeek.finished_count, before),
                  of_team(StepWeek.waited_seconds, before),
                  of_team(StepWeek.worked_seconds, before))
        .where(*in_window,
               tuple_(col(StepWeek.service_id), col(StepWeek.position)).in_(team_steps))
        .group_by(col(StepWeek.service_id), col(StepWeek.position))).all()
    unknown = {service_id for service_id, position, *_ in rows
               if (service_id, position) not in steps}
    services: dict[int, Service] = {}
    if unknown:
        # Steps the team no longer owns (their service's definition changed since):
        # named by their number.
        services = {service.id: service for service in session.exec(  # type: ignore[call-overload]
            sa_select(Service).where(col(Service.id).in_(unknown))).scalars()}
    for service_id, position, done, targeted, within, anyone, *closed in rows:
        step = steps.get((service_id, position))
        if step is None:
            step = steps[(service_id, position)] = TeamStep(
                services[service_id], position, f"Step {position + 1}")
        step.finished, step.targeted = int(done), int(targeted)
        step.within_target, step.finished_by_anyone = int(within), int(anyone)
        step.before = Sums(*(int(value) for value in closed))
        step.this_week = step.finished - step.before.count
    index = {week: n for n, week in enumerate(window.weeks)}
    finished = [0] * len(index)
    for week, done in session.connection().execute(
        sa_select(col(StepWeek.week), func.sum(StepWeek.finished_count))
        .where(ours, *in_window).group_by(col(StepWeek.week))
    ):
        finished[index[week]] = int(done)
    return finished


def _spreads(session: Session, team: Team, window: Window, steps: list[TeamStep],
             this_week: date) -> None:
    """Each step's median and 90th percentile of waiting and worked (app.reads.
    step_durations: the weeks before this one kept in memory, two statements at most)."""
    busy = [step for step in steps if step.finished]
    ranked = rank_steps(session, team.id, [
        (StepRange(step.service.id, step.position,
                   None if step.finished_by_anyone == step.finished else team.id),
         step.before, step.this_week) for step in busy],
        start=window.start, this_week=this_week, end=window.end)
    for step, figures in zip(busy, ranked, strict=True):
        step.waited = Spread(figures.count, *figures.waited)
        step.worked = Spread(figures.count, *figures.worked)


def team_ages(session: Session, team: Team, *, now: datetime) -> list[int]:
    """The team's open and claimed tasks in each of AGE_BUCKETS at `now`, each counted
    within the bounds app.reads.insights.age_bounds gives a list of it (so the list holds
    the number): one count a bucket, each a range of the team's queue index (the same
    count grouped by bucket read every queued task of the team: 34 ms for 23,000)."""
    counts: list[Any] = []
    for n in range(len(AGE_BUCKETS)):
        after, until = age_bounds(n, now=now)
        where = [is_queued(), col(Task.team_id) == team.id]
        if after is not None:
            where.append(col(Task.opened_at) > after)
        if until is not None:
            where.append(col(Task.opened_at) <= until)
        counts.append(sa_select(literal_column(str(n)).label("n"), func.count()).where(*where))
    ages = [0] * len(AGE_BUCKETS)
    for n, count in session.exec(union_all(*counts)):  # type: ignore[call-overload]
        ages[int(n)] = int(count)
    return ages


def team_insights(session: Session, *, team: Team, window: Window, now: datetime,
                  ) -> TeamInsights:
    """The team over the window, its open work counted at `now`."""
    owned = _owned_steps(session, team)
    this_week = now.date() - timedelta(days=now.weekday())
    finished = _weekly_sums(session, team, window, owned, this_week)
    steps = sorted(owned.values(),
                   key=lambda s: (s.service.name.lower(), s.service.id, s.position))
    _spreads(session, team, window, steps, this_week)
    return TeamInsights(team=team, window=window, counted_at=now, finished=finished,
                        ages=team_ages(session, team, now=now), steps=steps)

