"""Insights for managers: how each service performs over a window of whole weeks.

Everything here reads the figures app.storage.flow_figures keeps as tasks finish, never
the tasks' history: weekly sums for counts, shares and the bottleneck, and the narrow
duration rows for percentiles. Percentiles are exact (nearest rank: the p-th percentile
of n values is the ceil(p·n)-th smallest), each one row the database picks from the
window's range of a covering index, sorted; a page asks all of its percentiles in one
statement, however many steps the service has. The open work by age reads the queued
tasks (a few percent of them all) through their partial index.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from math import ceil
from typing import Any

from sqlalchemy import Integer, bindparam, case, func, literal, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.rules.catalog import current_version, definition_of
from app.rules.inputs import InputInvalid, parse_date
from app.storage.models import (
    OpenWorkCount,
    RequestLeadTime,
    Service,
    ServiceWeek,
    StepWeek,
    Task,
    TaskDuration,
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
        window = Window(_monday(first), _monday(last) + timedelta(days=7))
        if len(window.weeks) > MAX_WEEKS:
            raise InputInvalid(f"Choose at most {MAX_WEEKS} weeks.")
        return window
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


def rank(count: int, share: float) -> int:
    """The nearest rank (0-based) of the `share` percentile among `count` values."""
    return max(0, ceil(share * count) - 1)


# A probe: the value at one nearest rank of one column over the window. The database
# sorts only the window's range of a covering index, keeping the first OFFSET + 1 values:
# a rank in the upper half is counted from the top (the 90th percentile of n values is
# the (n - ceil(0.9n) + 1)-th largest), so that it keeps a tenth of them, not nine.
_STEP_COLUMNS = {"waited": TaskDuration.waited_seconds, "worked": TaskDuration.worked_seconds}
SHARES = (0.5, 0.9)  # the median and the 90th percentile
Probe = tuple[str, bool]  # the column ("waited", "worked" or "lead"), from the top


def _step_probe(column: Any, n: int, from_top: bool) -> Any:
    return (sa_select(column.label("value"))
            .where(col(TaskDuration.service_id) == bindparam("service"),
                   col(TaskDuration.position) == bindparam(f"position_{n}"),
                   col(TaskDuration.finished_at) >= bindparam("starts_at"),
                   col(TaskDuration.finished_at) < bindparam("ends_at"))
            .order_by(column.desc() if from_top else column)
            .offset(bindparam(f"rank_{n}", type_=Integer)).limit(1))


def _lead_probe(n: int, from_top: bool) -> Any:
    column = col(RequestLeadTime.lead_seconds)
    return (sa_select(column.label("value"))
            .where(col(RequestLeadTime.service_id) == bindparam("service"),
                   col(RequestLeadTime.completed_at) >= bindparam("starts_at"),
                   col(RequestLeadTime.completed_at) < bindparam("ends_at"))
            .order_by(column.desc() if from_top else column)
            .offset(bindparam(f"rank_{n}", type_=Integer)).limit(1))


@cache
def _probes_statement(probes: tuple[Probe, ...]) -> Any:
    """One statement for every probe of a page, probes[n] saying which column probe n
    reads and in which direction (parameters position_n and rank_n): each part reads
    the window's range of ix_task_duration_step (or ix_request_lead_time_service), which
    covers it. Made once for each sequence of probes."""
    parts = [_lead_probe(n, from_top) if kind == "lead"
             else _step_probe(_STEP_COLUMNS[kind], n, from_top)
             for n, (kind, from_top) in enumerate(probes)]
    # SQLite takes ORDER BY and OFFSET in a compound's parts only inside subqueries; the
    # probe's number says which row answers which.
    numbered = []
    for n, part in enumerate(parts):
        sub = part.subquery()
        numbered.append(sa_select(literal(n, Integer).label("probe"), sub.c.value))
    return numbered[0] if len(numbered) == 1 else union_all(*numbered)


def _spreads(session: Session, service: Service, window: Window,
             counts: dict[tuple[str, int], int]) -> dict[tuple[str, int], Spread]:
    """The spreads of ("waited" or "worked", position) and ("lead", 0), given how many
    values each has in the window, in one statement (none when nothing finished)."""
    spreads = {key: Spread(count) for key, count in counts.items()}
    probes = [(key, share) for key, count in counts.items() if count for share in SHARES]
    if not probes:
        return spreads
    parameters: dict[str, Any] = {"service": service.id, "starts_at": window.starts_at,
                                  "ends_at": window.ends_at}
    kinds: list[Probe] = []
    for n, ((kind, position), share) in enumerate(probes):
        count = counts[(kind, position)]
        at = rank(count, share)
        from_top = at > count - 1 - at
        parameters[f"rank_{n}"] = count - 1 - at if from_top else at
        kinds.append((kind, from_top))
        if kind != "lead":
            parameters[f"position_{n}"] = position
    for n, value in session.execute(_probes_statement(tuple(kinds)), parameters):
        (key, share) = probes[n]
        if share == SHARES[0]:
            spreads[key].median = int(value)
        else:
            spreads[key].p90 = int(value)
    return spreads


def _step_names(session: Session, service: Service) -> list[str]:
    if service.current_version_id is None:
        return []
    return [step.name for step in definition_of(current_version(session, service)).steps]


def service_figures(session: Session, *, service: Service, window: Window) -> ServiceFigures:
    """One service over the window: lead time, each step, submitted and completed a week."""
    names = _step_names(session, service)
    in_weeks = [col(StepWeek.service_id) == service.id,
                col(StepWeek.week) >= window.start, col(StepWeek.week) < window.end]
    steps: dict[int, StepFigures] = {
        position: StepFigures(position, name) for position, name in enumerate(names)}
    for position, finished, waited, worked, targeted, within in session.exec(  # type: ignore[call-overload]
        sa_select(col(StepWeek.position), func.sum(StepWeek.finished_count),
                  func.sum(StepWeek.waited_seconds), func.sum(StepWeek.worked_seconds),
                  func.sum(StepWeek.targeted_count), func.sum(StepWeek.within_target_count))
        .where(*in_weeks).group_by(col(StepWeek.position))
    ):
        step = steps.setdefault(position, StepFigures(position, f"Step {position + 1}"))
        step.finished, step.waited_total, step.worked_total = (
            int(finished), int(waited), int(worked))
        step.targeted, step.within_target = int(targeted), int(within)
    flows = {week: WeekFlow(week, 0, 0) for week in window.weeks}
    for week, submitted, completed in session.exec(  # type: ignore[call-overload]
        sa_select(col(ServiceWeek.week), col(ServiceWeek.submitted_count),
                  col(ServiceWeek.completed_count))
        .where(col(ServiceWeek.service_id) == service.id,
               col(ServiceWeek.week) >= window.start, col(ServiceWeek.week) < window.end)
    ):
        flows[week] = WeekFlow(week, submitted, completed)
    counts = {("lead", 0): sum(flow.completed for flow in flows.values())}
    for step in steps.values():
        counts[("waited", step.position)] = counts[("worked", step.position)] = step.finished
    spreads = _spreads(session, service, window, counts)
    for step in steps.values():
        step.waited = spreads[("waited", step.position)]
        step.worked = spreads[("worked", step.position)]
    lead = spreads[("lead", 0)]
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


@dataclass
class TeamFlow:
    """A team's tasks finished each week of the window, and its open work by age."""

    team: Team
    finished: list[int]
    ages: list[int]

    @property
    def total(self) -> int:
        return sum(self.finished)

    @property
    def per_week(self) -> float:
        return self.total / len(self.finished) if self.finished else 0.0


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
