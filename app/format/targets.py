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


def due_time(opened_at: datetime, step: StepDefinition) -> datetime | None:
    if step.target_hours is not None:
        return opened_at + timedelta(hours=step.target_hours)
    if step.target_business_days is not None:
        return add_business_days(opened_at, step.target_business_days)
    return None


def is_overdue(due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and due_at < now
