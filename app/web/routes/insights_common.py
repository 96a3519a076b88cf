"""What the insights pages, their drill-down lists and their CSVs share: the window a
link asks for, durations in words, and the links behind the numbers."""

from datetime import date, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import HTTPException, Query
from sqlmodel import Session

from app.format.numbers import duration as duration  # the pages' and CSVs' one
from app.reads.insights import Window, window_of
from app.rules.catalog import get_service_by_slug
from app.rules.inputs import InputInvalid
from app.storage.models import Service, utcnow

Weeks = Annotated[str, Query(max_length=10)]
From = Annotated[str, Query(alias="from", max_length=40)]
To = Annotated[str, Query(alias="to", max_length=40)]


def window_or_problem(weeks: str, start: str, end: str) -> tuple[Window | None, str]:
    try:
        return window_of(weeks=weeks, start=start, end=end, today=utcnow().date()), ""
    except InputInvalid as invalid:
        return None, str(invalid)


def window_or_400(weeks: str, start: str, end: str) -> Window:
    """The window a list or a CSV asks for; one that is not a window is a 400 saying why
    (a page shows the problem beside its form instead: window_or_problem)."""
    window, problem = window_or_problem(weeks, start, end)
    if window is None:
        raise HTTPException(status_code=400, detail=problem)
    return window


def service_or_404(session: Session, slug: str) -> Service:
    service = get_service_by_slug(session, slug[:80])
    if service is None:
        raise HTTPException(status_code=404, detail="There is no such service.")
    return service


def form_of(weeks: str, start: str, end: str) -> dict[str, str]:
    return {"weeks": weeks if not (start or end) else "", "from": start, "to": end}


def query_of(form: dict[str, str]) -> str:
    return urlencode({key: value for key, value in form.items() if value})


def dates_of(window: Window) -> dict[str, str]:
    """The window as two dates: what a drill-down link carries, so the list holds the
    weeks the page counted even when the click comes after a new week began."""
    return {"from": window.start.isoformat(), "to": window.last_day.isoformat()}


def week_dates(week: date) -> dict[str, str]:
    """One week (its Monday) as a window's two dates."""
    return {"from": week.isoformat(), "to": (week + timedelta(days=6)).isoformat()}


def link(path: str, **params: object) -> str:
    """`path` with the parameters that have a value, in the order given."""
    query = urlencode({key: str(value) for key, value in params.items()
                       if value not in (None, "")})
    return f"{path}?{query}" if query else path
