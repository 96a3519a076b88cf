"""Insights for managers: how each service performs over a window of whole weeks.

Everything here reads the figures app.storage.flow_figures keeps as tasks finish, never
the tasks' history: weekly sums for counts, shares and the bottleneck, and the narrow
duration rows for percentiles. Percentiles are exact (nearest rank: the p-th percentile
of n values is the ceil(p·n)-th smallest), by app.reads.step_durations: the weeks before
this one are over, so their durations are read once and kept sorted in memory, checked
against the weekly sums at each page; this week's few are read at each page. The open
work by age reads the queued tasks (a few percent of them all) through their partial
index.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.reads.step_durations import LeadRange, Range, StepRange, Sums, rank_ranges
from app.reads.step_durations import rank as rank  # its place before; still imported from here
from app.rules.catalog import current_version, definition_of
from app.rules.inputs import InputInvalid, parse_date
from app.storage.clock import utcnow
from app.storage.models import (
    OpenWorkCount,
    Service,
    ServiceWeek,
    StepWeek,
    Task,
    Team,
    is_queued,
)

WINDOW_WEEKS = (4, 13, 52)
MAX_WEEKS = 52
# Open work by age, in days: [0, 1), [1, 3), [3, 7), [7, 14), [14, ...).
AGE_BUCKETS = ((0, 1), (1, 3), (3, 7), (7, 14), (14, None))


@dataclass(frozen=True)
class Window:
    """Whole ISO weeks (UTC): from the Monday `start` up to the Monday `end`, excluded."""

    start: date
    end: date

    @property
    def weeks(self) -> list[date]:
        return [self.start + timedelta(days=7 * n)
                for n in range((self.end - self.start).days // 7)]

    @property
    def starts_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def ends_at(self) -> datetime:
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def window_of(*, weeks: str = "", start: str = "", end: str = "", today: date) -> Window:
    """The window a page asks for: the last 4, 13 or 52 weeks (this one included), or the
    whole weeks from one date to another, at most 52. InputInvalid says what is wrong."""
    if start or end:
        first, last = parse_date(start), parse_date(end)
        if first is None or last is None:
            raise InputInvalid("Give both dates, the first and the last day.")
        if last < first:
            raise InputInvalid("The last day comes before the first.")
        if (_monday(last) - _monday(first)).days // 7 + 1 > MAX_WEEKS:
            raise InputInvalid(f"Choose at most {MAX_WEEKS} weeks.")
        if last > date.max - timedelta(days=7):
            # Its week would end past the calendar's last day.
            raise InputInvalid("Choose a last day before the last week of year 9999.")
        return Window(_monday(first), _monday(last) + timedelta(days=7))
    if weeks and weeks not in {str(n) for n in WINDOW_WEEKS}:
        raise InputInvalid("Choose the last 4, 13 or 52 weeks.")
    count = int(weeks or 13)
    end_monday = _monday(today) + timedelta(days=7)
    return Window(end_monday - timedelta(days=7 * count), end_monday)


@dataclass
class Spread:
    """Durations in seconds: how many, the median and the 90th percentile."""

    count: int
    median: int | None = None
    p90: int | None = None


@dataclass
class StepFigures:
    position: int
    name: str
    finished: int = 0
    waited_total: int = 0  # seconds, all tasks finished in the window
    worked_total: int = 0
    targeted: int = 0
    within_target: int = 0
    waited: Spread = field(default_factory=lambda: Spread(0))
    worked: Spread = field(default_factory=lambda: Spread(0))

    @property
    def total(self) -> int:
        return self.waited_total + self.worked_total

    @property
    def within_share(self) -> float | None:
        return self.within_target / self.targeted if self.targeted else None

    @property
    def mean_waited(self) -> float:
        return self.waited_total / self.finished if self.finished else 0

    @property
    def mean_worked(self) -> float:
        return self.worked_total / self.finished if self.finished else 0


@dataclass
class WeekFlow:
    week: date
    submitted: int
    completed: int


@dataclass
class ServiceFigures:
    service: Service
    lead: Spread
    steps: list[StepFigures]
    weeks: list[WeekFlow]

    @property
    def bottleneck(self) -> StepFigures | None:
        """The step holding the largest share of the time tasks spent, if any did."""
        busy = [step for step in self.steps if step.total > 0]
        return max(busy, key=lambda step: step.total) if busy else None

    def share_of_time(self, step: StepFigures) -> float:
        total = sum(s.total for s in self.steps)
        return step.total / total if total else 0.0

    @property
    def submitted(self) -> int:
        return sum(week.submitted for week in self.weeks)

    @property
    def completed(self) -> int:
        return sum(week.completed for week in self.weeks)


def _spread(figures: tuple[int, tuple[int, int] | None]) -> Spread:
    count, ranked = figures
    return Spread(count, *ranked) if ranked else Spread(count)


def _step_names(session: Session, service: Service) -> list[str]:
    if service.current_version_id is None:
        return []
    return [step.name for step in definition_of(current_version(session, service)).steps]


def service_figures(session: Session, *, service: Service, window: Window,
                    now: datetime | None = None) -> ServiceFigures:
    """One service over the window: lead time, each step, submitted and completed a week.
    `now` (the clock's by default) says which week is this one: the weeks before it are
    over, their durations ranked from memory (app.reads.step_durations)."""
    names = _step_names(session, service)
    this_week = _monday((now or utcnow()).astimezone(UTC).date())
    in_weeks = [col(StepWeek.service_id) == service.id,
                col(StepWeek.week) >= window.start, col(StepWeek.week) < window.end]
    steps: dict[int, StepFigures] = {
        position: StepFigures(position, name) for position, name in enumerate(names)}
    before: dict[int, Sums] = {}

    def closed(column: Any) -> Any:
        return func.sum(case((col(StepWeek.week) < this_week, column), else_=0))

    for position, finished, waited, worked, targeted, within, *past in session.exec(  # type: ignore[call-overload]
        sa_select(col(StepWeek.position), func.sum(StepWeek.finished_count),
                  func.sum(StepWeek.waited_seconds), func.sum(StepWeek.worked_seconds),
                  func.sum(StepWeek.targeted_count), func.sum(StepWeek.within_target_count),
                  closed(StepWeek.finished_count), closed(StepWeek.waited_seconds),
                  closed(StepWeek.worked_seconds))
        .where(*in_weeks).group_by(col(StepWeek.position))
    ):
        step = steps.setdefault(position, StepFigures(position, f"Step {position + 1}"))
        step.finished, step.waited_total, step.worked_total = (
            int(finished), int(waited), int(worked))
        step.targeted, step.within_target = int(targeted), int(within)
        before[position] = Sums(*(int(value) for value in past))
    flows = {week: WeekFlow(week, 0, 0) for week in window.weeks}
    lead_before = [0, 0]  # completed, seconds: of the weeks before this one
    for week, submitted, completed, seconds in session.exec(  # type: ignore[call-overload]
        sa_select(col(ServiceWeek.week), col(ServiceWeek.submitted_count),
                  col(ServiceWeek.completed_count), col(ServiceWeek.lead_seconds))
        .where(col(ServiceWeek.service_id) == service.id,
               col(ServiceWeek.week) >= window.start, col(ServiceWeek.week) < window.end)
    ):
        flows[week] = WeekFlow(week, submitted, completed)
        if week < this_week:
            lead_before[0] += int(completed)
            lead_before[1] += int(seconds)
    completed = sum(flow.completed for flow in flows.values())
    busy = [step for step in steps.values() if step.finished]
    wanted: list[tuple[Range, object, int]] = [
        (StepRange(service.id, step.position, None), before[step.position],
         step.finished - before[step.position].count) for step in busy]
    if completed:
        wanted.append((LeadRange(service.id), tuple(lead_before), completed - lead_before[0]))
    ranked = rank_ranges(session, wanted, start=window.start, this_week=this_week,
                         end=window.end) if wanted else []
    for step, (waited, worked) in zip(busy, ranked, strict=False):
        step.waited, step.worked = _spread(waited), _spread(worked)
    lead = _spread(ranked[-1][0]) if completed else Spread(0)
    return ServiceFigures(service=service, lead=lead,
                          steps=[steps[p] for p in sorted(steps)],
                          weeks=[flows[week] for week in window.weeks])


@dataclass
class ServiceLine:
    """A service's headline over the window, for the page listing every service."""

    service: Service
    submitted: int
    completed: int


def service_lines(session: Session, *, window: Window) -> list[ServiceLine]:
    """Every service, with what was submitted and completed in the window."""
    sums = {service_id: (int(submitted), int(completed))
            for service_id, submitted, completed in session.exec(  # type: ignore[call-overload]
                sa_select(col(ServiceWeek.service_id), func.sum(ServiceWeek.submitted_count),
                          func.sum(ServiceWeek.completed_count))
                .where(col(ServiceWeek.week) >= window.start, col(ServiceWeek.week) < window.end)
                .group_by(col(ServiceWeek.service_id)))}
    services = session.exec(  # type: ignore[call-overload]
        sa_select(Service).order_by(col(Service.category), col(Service.name))).scalars()
    return [ServiceLine(service, *sums.get(service.id, (0, 0))) for service in services]


class FinishedWeekly:
    """What a team's tasks finished each week of a window (`finished`) add up to."""

    finished: list[int]

    @property
    def total(self) -> int:
        return sum(self.finished)

    @property
    def per_week(self) -> float:
        return self.total / len(self.finished) if self.finished else 0.0


@dataclass
class TeamFlow(FinishedWeekly):
    """A team's tasks finished each week of the window, and its open work by age."""

    team: Team
    finished: list[int]
    ages: list[int]


def team_flows(session: Session, *, window: Window, now: datetime,
               service_id: int | None = None) -> list[TeamFlow]:
    """Every team with work finished in the window or open now (of one service, if
    given), by name."""
    weeks = window.weeks
    index = {week: n for n, week in enumerate(weeks)}
    finished: dict[int, list[int]] = {}
    where = [col(StepWeek.week) >= window.start, col(StepWeek.week) < window.end]
    if service_id is not None:
        where.append(col(StepWeek.service_id) == service_id)
    for team_id, week, count in session.exec(  # type: ignore[call-overload]
        sa_select(col(StepWeek.team_id), col(StepWeek.week),
                  func.sum(StepWeek.finished_count))
        .where(*where).group_by(col(StepWeek.team_id), col(StepWeek.week))
    ):
        finished.setdefault(team_id, [0] * len(weeks))[index[week]] += int(count)
    ages = open_work_by_age(session, now=now, service_id=service_id)
    teams = session.exec(  # type: ignore[call-overload]
        sa_select(Team).where(col(Team.id).in_(set(finished) | set(ages)))
        .order_by(col(Team.name))).scalars()
    return [TeamFlow(team, finished.get(team.id, [0] * len(weeks)),
                     ages.get(team.id, [0] * len(AGE_BUCKETS))) for team in teams]


def age_bounds(bucket: int, *, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The moments a task of the age bucket was opened between: after the first
    (excluded, None for the oldest bucket) and up to the second (included), as
    open_work_by_age counts it. IndexError for a bucket there is not."""
    low, high = AGE_BUCKETS[bucket]
    return (None if high is None else now - timedelta(days=high),
            None if low == 0 else now - timedelta(days=low))


def open_work_by_age(session: Session, *, now: datetime,
                     service_id: int | None = None) -> dict[int, list[int]]:
    """Per team, how many open and claimed tasks opened within each of AGE_BUCKETS.

    Most queued tasks are older than the oldest bound (at 1M requests, 60k of 78k), so
    only the younger ones are read, through a queued-tasks index in the order of
    opened_at, and counted under each bound; the oldest bucket is what remains of the
    team's queued tasks, which app.storage.work_counts keeps exact (OpenWorkCount)."""
    bounds = [now - timedelta(days=low) for low, _high in AGE_BUCKETS[1:]]
    queued = func.sum(OpenWorkCount.open_count + OpenWorkCount.claimed_count)
    totals = sa_select(col(OpenWorkCount.team_id), queued).group_by(
        col(OpenWorkCount.team_id))
    younger = sa_select(col(Task.team_id), *(
        func.sum(case((col(Task.opened_at) > bound, 1), else_=0)) for bound in bounds[:-1]
    ), func.count()).where(is_queued(), col(Task.opened_at) > bounds[-1]).group_by(
        col(Task.team_id))
    if service_id is not None:
        totals = totals.where(col(OpenWorkCount.service_id) == service_id)
        younger = younger.where(col(Task.service_id) == service_id)
    ages: dict[int, list[int]] = {}
    for team_id, total in session.exec(totals):  # type: ignore[call-overload]
        if total:
            ages[team_id] = [0] * (len(AGE_BUCKETS) - 1) + [int(total)]
    for team_id, *opened_after in session.exec(younger):  # type: ignore[call-overload]
        # opened_after[n]: how many opened after bounds[n], the youngest bound first.
        counts = ages.setdefault(team_id, [0] * len(AGE_BUCKETS))
        previous = 0
        for n, after in enumerate(int(count) for count in opened_after):
            counts[n] = after - previous
            previous = after
        counts[-1] -= previous
    return ages
