"""Exact percentiles (nearest rank) of a step's waiting and worked times over a window of
whole weeks, for a team's insights, quickly however many steps and weeks.

Sorting each step's durations in the database for every page cost a second for a busy
team over 52 weeks (20 steps, 174,000 tasks: 80 sorts). But the weeks before this one are
over: no task finishes in them any more, so their durations, once read, are kept here in
memory, sorted, per step and window (bounded: MAX_KEPT). A page then reads only this
week's durations, a few, and finds each percentile by bisecting the two sorted lists.

What is kept is checked against the weekly sums read for the page (app.storage.models
StepWeek, kept exact with the durations by app.storage.flow_figures): count, waited and
worked seconds of the weeks kept. A difference (a recount after a bulk load, say) reads
the weeks again.
"""

from array import array
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from threading import Lock
from typing import Any

from sqlalchemy import literal_column, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.reads.insights import rank
from app.storage.models import TaskDuration

MAX_KEPT = 256  # steps × windows: a step of 52 weeks of 9,000 tasks is 150 kB, 256 at most 40 MB


@dataclass(frozen=True)
class Sums:
    """What the weekly sums say of a step's tasks in some weeks."""

    count: int
    waited: int
    worked: int


@dataclass(frozen=True)
class StepRange:
    """One step's durations to rank: those of `team_id` only (None: every team's, when
    the team finished all of them), finished from `start` up to `end`, excluded."""

    service_id: int
    position: int
    team_id: int | None

    def where(self, start: datetime, end: datetime) -> list[Any]:
        where = [col(TaskDuration.service_id) == self.service_id,
                 col(TaskDuration.position) == self.position,
                 col(TaskDuration.finished_at) >= start, col(TaskDuration.finished_at) < end]
        if self.team_id is not None:
            where.append(col(TaskDuration.team_id) == self.team_id)
        return where


@dataclass
class _Kept:
    sums: Sums
    waited: array  # sorted
    worked: array


_kept: OrderedDict[tuple[StepRange, date, date], _Kept] = OrderedDict()
_lock = Lock()


def forget_kept() -> None:
    """Drops every kept week (tests)."""
    with _lock:
        _kept.clear()


def _moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _values(session: Session, ranges: list[StepRange], start: date, end: date,
            ) -> list[tuple[array, array]]:
    """Each range's (waited, worked) seconds finished in [start, end), sorted: one
    statement for all of them."""
    found: list[tuple[list[int], list[int]]] = [([], []) for _ in ranges]
    if not ranges or start >= end:
        return [(array("q"), array("q")) for _ in ranges]
    selects: list[Any] = [
        sa_select(literal_column(str(n)).label("n"), col(TaskDuration.waited_seconds),
                  col(TaskDuration.worked_seconds))
        .where(*step.where(_moment(start), _moment(end)))
        for n, step in enumerate(ranges)]
    for n, waited, worked in session.exec(union_all(*selects)):  # type: ignore[call-overload]
        found[n][0].append(waited)
        found[n][1].append(worked)
    return [(array("q", sorted(waited)), array("q", sorted(worked)))
            for waited, worked in found]


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
    """Each step's median and 90th percentile over the weeks [start, end): the weeks
    before `this_week` from memory (read once, checked against their sums), this week's
    read now. `steps`: the range, the sums of its weeks before this week, and how many
    of its tasks finished this week. Two statements at most, whatever the steps.

    This week's tasks of a step are the team's alone, even for a range of every team's:
    a range asks for every team's only when all of them are the team's."""
    closed_end = min(end, this_week)
    keys = [(step, start, closed_end) for step, _sums, _now in steps]
    with _lock:
        kept = [_kept.get(key) for key in keys]
    stale = [n for n, (entry, (_step, sums, _now)) in enumerate(zip(kept, steps, strict=True))
             if entry is None or entry.sums != sums]
    if stale:
        read = _values(session, [steps[n][0] for n in stale], start, closed_end)
        with _lock:
            for n, (waited, worked) in zip(stale, read, strict=True):
                kept[n] = _Kept(steps[n][1], waited, worked)
                _kept[keys[n]] = kept[n]  # type: ignore[assignment]
                _kept.move_to_end(keys[n])
            while len(_kept) > MAX_KEPT:
                _kept.popitem(last=False)
    recent = (_this_week(session, team_id, max(start, this_week), end)
              if any(now_count for _step, _sums, now_count in steps) else {})
    nothing = (array("q"), array("q"))
    ranked = []
    for (step, _sums, _now), entry in zip(steps, kept, strict=True):
        assert entry is not None
        extra = recent.get((step.service_id, step.position), nothing)
        waits, works = [entry.waited, extra[0]], [entry.worked, extra[1]]
        count = len(entry.waited) + len(extra[0])
        if count == 0:
            ranked.append(Ranked(0, (0, 0), (0, 0)))
            continue
        middle, ninetieth = rank(count, 0.5), rank(count, 0.9)
        ranked.append(Ranked(count, (kth(waits, middle), kth(waits, ninetieth)),
                             (kth(works, middle), kth(works, ninetieth))))
    return ranked
