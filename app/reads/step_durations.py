"""Exact percentiles (nearest rank) of durations over a window of whole weeks, for the
insights pages, quickly however many steps and weeks: a step's waiting and worked times
(a team's page, a service's), a service's lead times (a service's page).

Sorting each step's durations in the database for every page cost a second for a busy
team over 52 weeks (20 steps, 174,000 tasks: 80 sorts), and 0.2-0.5 s for a service's
page. But the weeks before this one are over: no task finishes in them any more (its
figures are recorded when it finishes, at that moment), so their durations, once read,
are kept here in memory, sorted, per range and window (bounded: MAX_KEPT entries and
MAX_KEPT_BYTES). A page then reads only this week's durations, a few, and finds each
percentile by bisecting the sorted lists.

What is kept is checked against the weekly sums read for the page (app.storage.models
StepWeek and ServiceWeek, kept exact with the durations by app.storage.flow_figures):
count and seconds of the weeks kept. A difference (a recount after a bulk load, say)
reads the weeks again.
"""

from array import array
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from math import ceil
from threading import Lock
from typing import Any, ClassVar

from sqlalchemy import Text, cast, func, literal_column, null, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.storage.models import RequestLeadTime, TaskDuration

# A step of 52 weeks of 9,000 tasks is 150 kB; the bytes bound the memory whatever the
# sizes (at most 64 MB of values), the entries the bookkeeping.
MAX_KEPT = 256
MAX_KEPT_BYTES = 64 * 2**20
_ARRAY_OVERHEAD = 64  # bytes of an array object besides its values (CPython: 64 to 80)
SHARES = (0.5, 0.9)  # the median and the 90th percentile


def rank(count: int, share: float) -> int:
    """The nearest rank (0-based) of the `share` percentile among `count` values."""
    return max(0, ceil(share * count) - 1)


@dataclass(frozen=True)
class Sums:
    """What the weekly sums say of a step's tasks in some weeks."""

    count: int
    waited: int
    worked: int


@dataclass(frozen=True)
class StepRange:
    """One step's durations to rank, waited and worked: those of `team_id` only (None:
    every team's), finished from `start` up to `end`, excluded."""

    service_id: int
    position: int
    team_id: int | None

    width: ClassVar[int] = 2  # waited, worked

    def where(self, start: datetime, end: datetime) -> list[Any]:
        where = [col(TaskDuration.service_id) == self.service_id,
                 col(TaskDuration.position) == self.position,
                 col(TaskDuration.finished_at) >= start, col(TaskDuration.finished_at) < end]
        if self.team_id is not None:
            where.append(col(TaskDuration.team_id) == self.team_id)
        return where

    def columns(self) -> list[Any]:
        return [col(TaskDuration.waited_seconds), col(TaskDuration.worked_seconds)]


@dataclass(frozen=True)
class LeadRange:
    """One service's lead times to rank, of the requests completed from `start` up to
    `end`, excluded (its sums: ServiceWeek's completed count and lead seconds)."""

    service_id: int

    width: ClassVar[int] = 1

    def where(self, start: datetime, end: datetime) -> list[Any]:
        return [col(RequestLeadTime.service_id) == self.service_id,
                col(RequestLeadTime.completed_at) >= start,
                col(RequestLeadTime.completed_at) < end]

    def columns(self) -> list[Any]:
        return [col(RequestLeadTime.lead_seconds)]


Range = StepRange | LeadRange
Values = tuple[array, ...]  # a range's columns, each sorted


@dataclass
class _Kept:
    sums: object  # Sums, or (count, seconds) of a LeadRange
    values: Values
    size: int  # bytes


_kept: OrderedDict[tuple[Range, date, date], _Kept] = OrderedDict()
_kept_bytes = 0
_lock = Lock()


def forget_kept() -> None:
    """Drops every kept week (tests)."""
    global _kept_bytes
    with _lock:
        _kept.clear()
        _kept_bytes = 0


def kept_bytes() -> tuple[int, int]:
    """How many windows are kept and their bytes."""
    with _lock:
        return len(_kept), _kept_bytes


def _moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _joined(session: Session, column: Any) -> Any:
    """The column's values of a range as one text, comma-separated: one row a range,
    not one a value (a step of 52 weeks is 8,000 rows; fetching them as rows cost twice
    the time of fetching them joined and splitting them)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.string_agg(cast(column, Text), literal_column("','"))
    return func.group_concat(column)


def _values(session: Session, ranges: list[Range], start: date, end: date) -> list[Values]:
    """Each range's values finished in [start, end), each column sorted: one statement
    for all of them."""
    if not ranges or start >= end:
        return [tuple(array("q") for _ in range(r.width)) for r in ranges]
    selects: list[Any] = []
    for n, r in enumerate(ranges):
        joined = [_joined(session, column) for column in r.columns()]
        # Every part has two columns of values: a compound statement needs as many.
        selects.append(sa_select(literal_column(str(n)).label("n"), *joined,
                                 *([null()] * (2 - len(joined))))
                       .where(*r.where(_moment(start), _moment(end))))
    statement: Any = selects[0]
    if len(selects) > 1:
        statement = union_all(*selects)
    found: dict[int, Values] = {}
    for n, *columns in session.connection().execute(statement):
        found[n] = tuple(array("q", sorted(map(int, text.split(",")))) if text else array("q")
                         for text in columns[:ranges[n].width])
    return [found.get(n) or tuple(array("q") for _ in range(r.width))
            for n, r in enumerate(ranges)]


def _size(values: Values) -> int:
    return sum(len(column) * column.itemsize + _ARRAY_OVERHEAD for column in values)


def kept_values(session: Session, wanted: list[tuple[Range, object]], start: date,
                end: date) -> list[Values]:
    """Each range's values of the weeks [start, end), all over: from memory when what is
    kept still matches the sums given (one statement for those that do not)."""
    global _kept_bytes
    keys = [(r, start, end) for r, _sums in wanted]
    with _lock:
        kept = [_kept.get(key) for key in keys]
        for key, entry in zip(keys, kept, strict=True):
            if entry is not None:
                _kept.move_to_end(key)
    stale = [n for n, (entry, (_r, sums)) in enumerate(zip(kept, wanted, strict=True))
             if entry is None or entry.sums != sums]
    if stale:
        read = _values(session, [wanted[n][0] for n in stale], start, end)
        with _lock:
            for n, values in zip(stale, read, strict=True):
                entry = kept[n] = _Kept(wanted[n][1], values, _size(values))
                old = _kept.pop(keys[n], None)
                _kept_bytes -= old.size if old else 0
                _kept[keys[n]] = entry
                _kept_bytes += entry.size
            # The least recently used go first; a page's own values stay in `kept` for
            # this page even when they alone exceed the bound.
            while _kept and (len(_kept) > MAX_KEPT or _kept_bytes > MAX_KEPT_BYTES):
                _key, dropped = _kept.popitem(last=False)
                _kept_bytes -= dropped.size
    return [entry.values for entry in kept]  # type: ignore[union-attr]


def kth(lists: list[array], k: int) -> int:
    """The k-th smallest (0-based) of the values of sorted lists: the smallest value v
    with more than k values at or below it."""
    low = min(values[0] for values in lists if values)
    high = max(values[-1] for values in lists if values)
    while low < high:
        middle = (low + high) // 2
        if sum(bisect_right(values, middle) for values in lists) > k:
            high = middle
        else:
            low = middle + 1
    return low


def percentiles(lists: list[array]) -> tuple[int, tuple[int, int] | None]:
    """How many values the sorted lists hold, and their median and 90th percentile
    (None when they hold none)."""
    count = sum(len(values) for values in lists)
    if count == 0:
        return 0, None
    return count, (kth(lists, rank(count, SHARES[0])), kth(lists, rank(count, SHARES[1])))


def rank_ranges(session: Session, wanted: list[tuple[Range, object, int]], *, start: date,
                this_week: date, end: date) -> list[list[tuple[int, tuple[int, int] | None]]]:
    """Each range's count, median and 90th percentile, per column, over the weeks
    [start, end): the weeks before `this_week` from memory (read once, checked against
    their sums), this week's read now. `wanted`: the range, the sums of its weeks before
    this week, and how many of its values are of this week. Two statements at most."""
    closed = kept_values(session, [(r, sums) for r, sums, _now in wanted], start,
                         min(end, this_week))
    fresh = [n for n, (_r, _sums, now) in enumerate(wanted) if now]
    recent = dict(zip(fresh, _values(session, [wanted[n][0] for n in fresh],
                                     max(start, this_week), end), strict=True))
    return [[percentiles([column, *([recent[n][c]] if n in recent else [])])
             for c, column in enumerate(values)] for n, values in enumerate(closed)]


@dataclass(frozen=True)
class Ranked:
    count: int
    waited: tuple[int, int]  # median, 90th percentile
    worked: tuple[int, int]


def _this_week(session: Session, team_id: int, start: date, end: date,
               ) -> dict[tuple[int, int], tuple[array, array]]:
    """The team's (waited, worked) seconds of the tasks it finished in [start, end), by
    step, sorted: a few days of one team, from its index."""
    found: dict[tuple[int, int], tuple[list[int], list[int]]] = {}
    for service_id, position, waited, worked in session.exec(  # type: ignore[call-overload]
        sa_select(col(TaskDuration.service_id), col(TaskDuration.position),
                  col(TaskDuration.waited_seconds), col(TaskDuration.worked_seconds))
        .where(col(TaskDuration.team_id) == team_id,
               col(TaskDuration.finished_at) >= _moment(start),
               col(TaskDuration.finished_at) < _moment(end))
    ):
        waits, works = found.setdefault((service_id, position), ([], []))
        waits.append(waited)
        works.append(worked)
    return {key: (array("q", sorted(waits)), array("q", sorted(works)))
            for key, (waits, works) in found.items()}


def rank_steps(session: Session, team_id: int, steps: list[tuple[StepRange, Sums, int]], *,
               start: date, this_week: date, end: date) -> list[Ranked]:
    """A team's steps' median and 90th percentile over the weeks [start, end), as
    rank_ranges, this week's tasks read from the team's index (one statement for all
    its steps).

    This week's tasks of a step are the team's alone, even for a range of every team's:
    a range asks for every team's only when all of them are the team's."""
    closed = kept_values(session, [(step, sums) for step, sums, _now in steps], start,
                         min(end, this_week))
    recent = (_this_week(session, team_id, max(start, this_week), end)
              if any(now_count for _step, _sums, now_count in steps) else {})
    nothing = (array("q"), array("q"))
    ranked = []
    for (step, _sums, _now), (waited, worked) in zip(steps, closed, strict=True):
        extra = recent.get((step.service_id, step.position), nothing)
        count, waits = percentiles([waited, extra[0]])
        _count, works = percentiles([worked, extra[1]])
        ranked.append(Ranked(count, waits or (0, 0), works or (0, 0)))
    return ranked
