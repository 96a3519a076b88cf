"""Targets: when a task is due, from its step's target duration. Display and sorting
only: Baton tells no one when something is overdue, it shows it."""

from datetime import UTC, datetime, timedelta

from app.format.definitions import StepDefinition


def add_business_days(start: datetime, days: int) -> datetime:
    """`days` weekdays after `start`, at the same time of day; Saturday and Sunday do
    not count (public holidays are not known to Baton)."""
    moment = start
    while days > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment


_DAY = 86400
_FIRST_MONDAY = 4 * _DAY  # 1970-01-05 00:00 UTC, as a Unix timestamp


def business_clock(timestamp: float) -> float:
    """Seconds of weekday time (Monday to Friday, UTC) from a fixed Monday to the Unix
    `timestamp`: the difference of two is the business time between them, in O(1)."""
    weeks, into_week = divmod(timestamp - _FIRST_MONDAY, 7 * _DAY)
    return weeks * 5 * _DAY + min(into_week, 5 * _DAY)


def timestamp_of(moment: datetime) -> float:
    """A Unix timestamp; a naive datetime is UTC, as Baton stores them."""
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).timestamp()


def business_seconds(start: datetime, end: datetime) -> float:
    """How much of the time from `start` to `end` falls on weekdays (in UTC), in
    seconds: the measure add_business_days counts in (a business day is a weekday's 24
    hours; Saturday and Sunday do not count). 0 if `end` comes first."""
    return max(0.0, business_clock(timestamp_of(end)) - business_clock(timestamp_of(start)))


def due_time(opened_at: datetime, step: StepDefinition) -> datetime | None:
    if step.target_hours is not None:
        return opened_at + timedelta(hours=step.target_hours)
    if step.target_business_days is not None:
        return add_business_days(opened_at, step.target_business_days)
    return None


def is_overdue(due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and due_at < now
