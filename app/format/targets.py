"""Targets: when a task is due, from its step's target duration. Display and sorting
only: Baton tells no one when something is overdue, it shows it."""

from datetime import datetime, timedelta

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


# A Monday at midnight: business time is counted in whole weeks from it.
_A_MONDAY = datetime(1970, 1, 5)
_DAY = 86400


def _business_seconds_since_a_monday(moment: datetime) -> float:
    """Seconds of Monday-to-Friday time from _A_MONDAY to `moment` (naive or aware: its
    own clock's days)."""
    elapsed = (moment.replace(tzinfo=None) - _A_MONDAY).total_seconds()
    weeks, into_week = divmod(elapsed, 7 * _DAY)
    return weeks * 5 * _DAY + min(into_week, 5 * _DAY)


def business_seconds(start: datetime, end: datetime) -> float:
    """How much of the time from `start` to `end` falls on weekdays, in seconds: the
    measure add_business_days counts in (a business day is a weekday's 24 hours;
    Saturday and Sunday do not count). Both in the same time zone; 0 if `end` is first."""
    return max(0.0, _business_seconds_since_a_monday(end)
               - _business_seconds_since_a_monday(start))


def due_time(opened_at: datetime, step: StepDefinition) -> datetime | None:
    if step.target_hours is not None:
        return opened_at + timedelta(hours=step.target_hours)
    if step.target_business_days is not None:
        return add_business_days(opened_at, step.target_business_days)
    return None


def is_overdue(due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and due_at < now
