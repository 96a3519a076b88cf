"""The requests behind the insights' "completed" figures: a service's requests completed
in a window, slowest first (lead time) or latest first.

Read from request_lead_time (one row a completed request, kept by
app.storage.flow_figures) through its covering index (service, completed at, lead
seconds): first the page's keys, then the fifty requests' titles and names by id. Pages
continue by keyset. The count is the weekly sums' (service_week), the number the insights
page shows. (The typed-answer report filters by the submitted date, not the completed.)
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, tuple_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.reads.finished_tasks import sort_named
from app.reads.insights import Window
from app.reads.queues import BadCursor
from app.storage.models import (
    MAX_ID,
    RequestLeadTime,
    ServiceRequest,
    ServiceWeek,
    User,
    request_number,
)

PAGE_SIZE = 50
EXPORT_BATCH = 1000

@dataclass(slots=True)
class CompletedLine:
    request_id: int
    completed_at: datetime
    lead_seconds: int
    title: str = ""
    requester_name: str = ""
    state: str = ""
    submitted_at: datetime | None = None

    @property
    def number(self) -> str:
        return request_number(self.request_id)


@dataclass
class CompletedPage:
    rows: list[CompletedLine]
    total: int | None
    next_cursor: str | None


def _encode(line: CompletedLine, sort: str) -> str:
    key = line.completed_at.isoformat() if sort == "latest" else str(line.lead_seconds)
    return f"{sort}_{key}_{line.request_id}"


def _after(text: str, sort: str) -> Any:
    try:
        prefix, key, request_id = text.split("_")
        if prefix != sort or not 0 < int(request_id) <= MAX_ID:
            raise ValueError(text)
        if sort == "latest":
            return (tuple_(RequestLeadTime.completed_at, RequestLeadTime.request_id)
                    < tuple_(datetime.fromisoformat(key), int(request_id)))
        if not 0 <= int(key) <= 10**12:
            raise ValueError(text)
        return (tuple_(RequestLeadTime.lead_seconds, RequestLeadTime.request_id)
                < tuple_(int(key), int(request_id)))
    except ValueError:
        raise BadCursor(text) from None


def count_completed(session: Session, *, service_id: int, window: Window) -> int:
    return int(session.exec(  # type: ignore[call-overload]
        sa_select(func.coalesce(func.sum(ServiceWeek.completed_count), 0)).where(
            col(ServiceWeek.service_id) == service_id,
            col(ServiceWeek.week) >= window.start, col(ServiceWeek.week) < window.end)
    ).scalar_one())


_NAMES = sa_select(  # type: ignore[call-overload]
    col(ServiceRequest.id), col(ServiceRequest.title), col(ServiceRequest.state),
    col(ServiceRequest.created_at),
    select(User.name).where(User.id == ServiceRequest.requester_id).scalar_subquery(),
)


def completed_requests(session: Session, *, service_id: int, window: Window,
                       sort: str = "slowest", after: str | None = None,
                       limit: int = PAGE_SIZE, counted: bool = True) -> CompletedPage:
    sort = sort_named(sort)
    where = [col(RequestLeadTime.service_id) == service_id,
             col(RequestLeadTime.completed_at) >= window.starts_at,
             col(RequestLeadTime.completed_at) < window.ends_at]
    if after:
        where.append(_after(after, sort))
    order = ([col(RequestLeadTime.completed_at).desc(), col(RequestLeadTime.request_id).desc()]
             if sort == "latest" else
             [col(RequestLeadTime.lead_seconds).desc(), col(RequestLeadTime.request_id).desc()])
    keys = session.exec(  # type: ignore[call-overload]
        sa_select(col(RequestLeadTime.request_id), col(RequestLeadTime.completed_at),
                  col(RequestLeadTime.lead_seconds))
        .where(*where).order_by(*order).limit(limit + 1)).all()
    more = len(keys) > limit
    lines = [CompletedLine(*key) for key in keys[:limit]]
    if lines:
        by_id = {line.request_id: line for line in lines}
        for request_id, title, state, created_at, requester in session.execute(
            _NAMES.where(col(ServiceRequest.id).in_(list(by_id)))
        ):
            line = by_id[request_id]
            line.title, line.state, line.submitted_at, line.requester_name = (
                title, state, created_at, requester)
    total = (count_completed(session, service_id=service_id, window=window)
             if counted and not after else None)
    return CompletedPage(lines, total, _encode(lines[-1], sort) if more else None)


def all_completed_requests(session: Session, *, service_id: int, window: Window,
                           sort: str = "slowest", batch: int | None = None
                           ) -> Iterator[CompletedLine]:
    after = None
    while True:
        page = completed_requests(session, service_id=service_id, window=window, sort=sort,
                                  after=after, limit=batch or EXPORT_BATCH, counted=False)
        yield from page.rows
        if page.next_cursor is None:
            return
        after = page.next_cursor
