"""How long a service usually takes, told to the person asking: display only, it promises
nothing and nothing acts on it.

Before filing, the service page says how long requests of the service usually take: the
middle half (25th to 75th percentile) of the lead times of its last WINDOW completed
requests. On an open request, each step now with a team says how soon such a step is
usually picked up (the 75th percentile of how long the step's last WINDOW tasks waited:
three in four were picked up within it) or, once picked up, usually finished.

Times are counted in business time (app.format.targets: weekdays' hours, Saturday and
Sunday left out), so that a request filed on Friday is not "slow" for the weekend, and
said in hours under a business day, in business days above. With fewer than
MIN_HISTORY figures the page says plainly that it cannot tell.

The figures are the ones app.storage.flow_figures keeps as tasks finish: one read of a
covering index each (the service's last lead times; the open steps' last durations), in
its order, never the tasks' history. The calculations are pure functions of those rows.
"""

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from math import ceil, floor
from threading import Lock
from typing import Any

from sqlalchemy import Float, Integer, Select, bindparam, func, literal_column, union_all
from sqlalchemy import select as sa_select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col

from app.format.targets import business_clock
from app.reads.insights import rank
from app.reads.request_rows import StepTask
from app.storage.models import (
    RequestLeadTime,
    ServiceWeek,
    StepWeek,
    TaskDuration,
    TaskState,
)

WINDOW = 200  # the last completed requests (or finished steps) the figures come from
MIN_HISTORY = 10  # fewer than this: too few to tell
HOUR = 3600
BUSINESS_DAY = 24 * HOUR

TOO_FEW_REQUESTS = ("Too few requests of this service have been completed to tell how long "
                    "it takes.")
TOO_FEW_PICKED_UP = ("Too few requests have been through this step yet to tell how soon it "
                     "is picked up.")
TOO_FEW_FINISHED = ("Too few requests have been through this step yet to tell how long it "
                    "takes.")


# --- the calculation -------------------------------------------------------------------

def nearest_rank(ordered: Sequence[float], share: float) -> float:
    """The `share` percentile of values sorted ascending, by nearest rank (the
    ceil(share·n)-th smallest), as the insights page computes its percentiles."""
    assert ordered, "no values"
    return ordered[rank(len(ordered), share)]


def middle_half(values: Sequence[float]) -> tuple[float, float]:
    """The 25th and the 75th percentile: half of the values lie between them."""
    ordered = sorted(values)
    return nearest_rank(ordered, 0.25), nearest_rank(ordered, 0.75)


def _days(count: int) -> str:
    return "a business day" if count == 1 else f"{count} business days"


def _hours(count: int) -> str:
    return "an hour" if count == 1 else f"{count} hours"


def within_words(seconds: float) -> str:
    """"within 3 hours", "within 2 business days": a time rounded up to whole hours
    below a business day, whole business days from there."""
    if seconds <= HOUR:
        return "within an hour"
    if seconds < BUSINESS_DAY:
        return f"within {_hours(ceil(seconds / HOUR))}"
    return f"within {_days(ceil(seconds / BUSINESS_DAY))}"


def span_words(low: float, high: float) -> str:
    """"in 3–6 business days", "in 2–5 hours", "within 5 hours": a range of times,
    rounded outwards to whole hours (when it ends within a business day) or business
    days."""
    if high <= HOUR:
        return "within an hour"
    unit, size, plural = ((_hours, HOUR, "hours") if high < BUSINESS_DAY
                          else (_days, BUSINESS_DAY, "business days"))
    first, last = floor(low / size), ceil(high / size)
    if first == 0:
        return f"within {unit(last)}"
    if first == last:
        return f"in {unit(last)}"
    return f"in {first}–{last} {plural}"


def lead_business_seconds(completed_at: float, lead_seconds: int) -> float:
    """A completed request's lead time in business time, from when it was completed (a
    Unix timestamp) and its lead time (it was filed lead_seconds before)."""
    return business_clock(completed_at) - business_clock(completed_at - lead_seconds)


def step_business_seconds(finished_at: float, waited: int, worked: int
                          ) -> tuple[float, float]:
    """A finished task's waiting and working time in business time, from when it
    finished (a Unix timestamp): it was (last) picked up `worked` seconds before, and
    opened `waited` seconds before that."""
    picked_up = finished_at - worked
    return (business_clock(picked_up) - business_clock(picked_up - waited),
            business_clock(finished_at) - business_clock(picked_up))


class Epoch(FunctionElement[float]):
    """A datetime column as a Unix timestamp, computed by the database as it reads the
    index: converting 200 datetimes in Python would cost more than the read itself."""

    type = Float()
    name = "epoch"
    inherit_cache = True


@compiles(Epoch, "sqlite")
def _epoch_on_sqlite(element: Epoch, compiler: Any, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(Epoch, "postgresql")
def _epoch_on_postgresql(element: Epoch, compiler: Any, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS FLOAT8)"


@dataclass(frozen=True)
class ServiceExpectation:
    """How long the service's requests usually take: `words` after "Usually done" (None:
    too few of them completed), drawn from the last `count` completed."""

    count: int
    words: str | None

    @property
    def sentence(self) -> str:
        return f"Usually done {self.words}." if self.words else TOO_FEW_REQUESTS

    @property
    def basis(self) -> str:
        """Where the figure comes from, said plainly ("" when there is none)."""
        if not self.words:
            return ""
        return (f"Half of the last {self.count} completed requests took that long; a quarter "
                f"were quicker and a quarter slower. Weekends are not counted.")


def service_expectation_of(lead_times: Sequence[tuple[float, int]]) -> ServiceExpectation:
    """From (completed at as a Unix timestamp, lead seconds) of the last completed
    requests."""
    if len(lead_times) < MIN_HISTORY:
        return ServiceExpectation(len(lead_times), None)
    low, high = middle_half([lead_business_seconds(*row) for row in lead_times])
    return ServiceExpectation(len(lead_times), span_words(low, high))


def step_sentence(state: str, durations: Sequence[tuple[float, int, int]]) -> str:
    """What a step in `state` (open or claimed) usually waits for, from (finished at,
    waited, worked) of the step's last finished tasks."""
    picked_up = state == TaskState.open
    if len(durations) < MIN_HISTORY:
        return TOO_FEW_PICKED_UP if picked_up else TOO_FEW_FINISHED
    # step_business_seconds, counting only the figure the sentence needs (a page reads
    # up to WINDOW rows a step: half the clock readings is a third of this read's time).
    clock = business_clock
    if picked_up:
        ordered = sorted(clock(finished - worked) - clock(finished - worked - waited)
                         for finished, waited, worked in durations)
    else:
        ordered = sorted(clock(finished) - clock(finished - worked)
                         for finished, _waited, worked in durations)
    usual = within_words(nearest_rank(ordered, 0.75))
    if picked_up:
        return f"This step is usually picked up {usual}."
    return f"Once picked up, this step is usually finished {usual}."


# --- the reads -------------------------------------------------------------------------

@cache
def _lead_times() -> Select[float, int]:
    """A service's last lead times: a backward range read of ix_request_lead_time_service,
    which covers both columns. Made once; the service and the window are parameters."""
    return (
        sa_select(Epoch(col(RequestLeadTime.completed_at)), col(RequestLeadTime.lead_seconds))
        .where(col(RequestLeadTime.service_id) == bindparam("service"))
        .order_by(col(RequestLeadTime.completed_at).desc())
        .limit(bindparam("window", type_=Integer))
    )


def service_expectation(session: Session, service_id: int) -> ServiceExpectation:
    rows = session.connection().execute(
        _lead_times(), {"service": service_id, "window": WINDOW}).all()
    return service_expectation_of([(completed_at, lead) for completed_at, lead in rows])


@dataclass
class RequestExpectation:
    """For an open request: the whole request, and a sentence per task now with a team
    (by task id)."""

    whole: ServiceExpectation
    steps: dict[int, str] = field(default_factory=dict)


_LEAD = -1  # the position given to the lead times' rows in the request's statement


@cache
def _request_statement(positions: int) -> Any:
    """The service's last lead times and the last durations of `positions` step
    positions (parameters position_0...), in one statement: a backward range read of
    ix_request_lead_time_service, then of ix_task_duration_step per position, each
    covering what it reads. Made once for each number of positions."""
    lead: Any = (
        sa_select(literal_column(str(_LEAD), Integer).label("position"),
                  Epoch(col(RequestLeadTime.completed_at)).label("finished_at"),
                  col(RequestLeadTime.lead_seconds).label("waited_seconds"),
                  literal_column("0", Integer).label("worked_seconds"))
        .where(col(RequestLeadTime.service_id) == bindparam("service"))
        .order_by(col(RequestLeadTime.completed_at).desc())
        .limit(bindparam("window", type_=Integer))
    )
    steps = [
        sa_select(col(TaskDuration.position), Epoch(col(TaskDuration.finished_at)),
                  col(TaskDuration.waited_seconds), col(TaskDuration.worked_seconds))
        .where(col(TaskDuration.service_id) == bindparam("service"),
               col(TaskDuration.position) == bindparam(f"position_{n}"))
        .order_by(col(TaskDuration.finished_at).desc())
        .limit(bindparam("window", type_=Integer))
        for n in range(positions)
    ]
    # SQLite takes ORDER BY and LIMIT in a compound's parts only inside subqueries.
    return union_all(*[sa_select(*part.subquery().c) for part in [lead, *steps]])


def _request_figures(session: Session, service_id: int, positions: list[int]
                     ) -> tuple[list[tuple[float, int]], dict[int, list[tuple[float, int, int]]]]:
    """The service's last lead times, and the last durations of each of `positions`,
    from one statement, in Core: the ORM's loading costs more than these plain rows."""
    leads: list[tuple[float, int]] = []
    found: dict[int, list[tuple[float, int, int]]] = {position: [] for position in positions}
    parameters = {"service": service_id, "window": WINDOW,
                  **{f"position_{n}": position for n, position in enumerate(positions)}}
    for position, finished_at, waited, worked in session.connection().execute(
            _request_statement(len(positions)), parameters).all():
        if position == _LEAD:
            leads.append((finished_at, waited))
        else:
            found[position].append((finished_at, waited, worked))
    return leads, found


@cache
def _versions_statement(positions: int) -> Any:
    """What identifies the figures a request's expectation comes from: the sums of the
    service's weekly completions and of its steps' weekly durations (app.storage.
    flow_figures adds to them in the transaction of every completion and finished task).
    A range read of each table's primary key, ~150 rows a step at 1M requests."""
    lead: Any = (
        sa_select(literal_column(str(_LEAD), Integer).label("position"),
                  func.sum(col(ServiceWeek.completed_count)).label("count"),
                  func.sum(col(ServiceWeek.lead_seconds)).label("waited"),
                  literal_column("0", Integer).label("worked"))
        .where(col(ServiceWeek.service_id) == bindparam("service"))
    )
    steps = (
        sa_select(col(StepWeek.position), func.sum(col(StepWeek.finished_count)),
                  func.sum(col(StepWeek.waited_seconds)), func.sum(col(StepWeek.worked_seconds)))
        .where(col(StepWeek.service_id) == bindparam("service"),
               col(StepWeek.position).in_(bindparam("positions", expanding=True)))
        .group_by(col(StepWeek.position))
    )
    return union_all(lead, steps)


CACHE_SIZE = 1024  # (service, open steps) pairs remembered, per process
_remembering = Lock()
_remembered: OrderedDict[tuple[Any, ...], tuple[frozenset[Any], "StepExpectations"]] = (
    OrderedDict())


def forget_remembered() -> None:
    """Drops every remembered sentence (tests: their rolled-back ids come again)."""
    with _remembering:
        _remembered.clear()


def request_expectation(session: Session, service_id: int, tasks: Sequence[StepTask]
                        ) -> RequestExpectation:
    """An open request's expectations, from its tasks (those open or claimed count).

    The sentences change only when a request of the service completes or one of the
    steps finishes a task, so they are remembered per service and open steps, with the
    sums that change then (`_versions_statement`): one small read instead of up to
    WINDOW rows a figure and their business-time arithmetic. The sums differ whenever a
    figure was added, so a remembered sentence is never older than the figures."""
    current = [task for task in tasks if task.state in (TaskState.open, TaskState.claimed)]
    if not current:
        return RequestExpectation(service_expectation(session, service_id))
    positions = sorted({task.position for task in current})
    connection = session.connection()
    versions = frozenset(connection.execute(
        _versions_statement(len(positions)),
        {"service": service_id, "positions": positions}).all())
    states = tuple(sorted({(task.position, task.state) for task in current}))
    key = (str(connection.engine.url), service_id, states)
    with _remembering:  # pages are served from several threads
        found = _remembered.get(key)
        if found is not None and found[0] == versions:
            _remembered.move_to_end(key)
    if found is not None and found[0] == versions:
        by_step = found[1]
    else:
        by_step = _request_expectation(session, service_id, states)
        with _remembering:
            _remembered[key] = (versions, by_step)
            while len(_remembered) > CACHE_SIZE:
                _remembered.popitem(last=False)
    expectation = RequestExpectation(by_step.whole)
    for task in current:
        assert task.id is not None
        expectation.steps[task.id] = by_step.steps[(task.position, task.state)]
    return expectation


def _request_expectation(session: Session, service_id: int,
                         states: tuple[tuple[int, str], ...]) -> "StepExpectations":
    leads, durations = _request_figures(session, service_id,
                                        sorted({position for position, _state in states}))
    return StepExpectations(service_expectation_of(leads), {
        (position, state): step_sentence(state, durations[position])
        for position, state in states})


@dataclass(frozen=True)
class StepExpectations:
    """A request's expectations by step position and state, as remembered."""

    whole: ServiceExpectation
    steps: dict[tuple[int, str], str]
