"""A requester's list of their own requests, each with its steps' progress, filtered by
state, service, filing dates and words of the title (or its number)."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.storage.models import (
    QUEUED_TASK_STATES,
    Service,
    ServiceRequest,
    Task,
    TaskState,
    Team,
    request_number,
)

PAGE_SIZE = 25
MAX_TEXT_LENGTH = 100
FINISHED_STATES = (TaskState.done, TaskState.approved, TaskState.skipped)


@dataclass(frozen=True)
class MyFilters:
    """What My requests is narrowed to; each part already checked (the route's job)."""

    state: str | None = None
    service_id: int | None = None
    filed_from: date | None = None  # UTC days, both ends included
    filed_until: date | None = None
    text: str = ""  # part of the title, at most MAX_TEXT_LENGTH characters
    number: int | None = None  # the request number the text is, if it is one


@dataclass
class StepProgress:
    step_name: str
    team_name: str
    state: str


@dataclass
class RequestLine:
    request: ServiceRequest
    service_name: str
    steps: list[StepProgress]

    @property
    def current(self) -> list[StepProgress]:
        return [step for step in self.steps if step.state in QUEUED_TASK_STATES]

    @property
    def finished(self) -> int:
        return sum(step.state in FINISHED_STATES for step in self.steps)


def steps_by_request(session: Session, request_ids: list[int]) -> dict[int, list[StepProgress]]:
    """One query for the steps of many requests (no query per request)."""
    progress: dict[int, list[StepProgress]] = {request_id: [] for request_id in request_ids}
    if not request_ids:
        return progress
    rows = session.exec(
        select(Task.request_id, Task.step_name, Team.name, Task.state)
        .join(Team, col(Team.id) == Task.team_id)
        .where(col(Task.request_id).in_(request_ids))
        .order_by(col(Task.request_id), col(Task.position))
    )
    for request_id, step_name, team_name, state in rows:
        progress[request_id].append(StepProgress(step_name, team_name, state))
    return progress


def requests_of(
    session: Session, *, requester_id: int, before: int | None = None,
    filters: MyFilters = MyFilters(), limit: int = PAGE_SIZE,
) -> tuple[list[RequestLine], int | None]:
    """Newest first, keyset-paginated by id; returns the lines and the next cursor."""
    query = (
        select(ServiceRequest, Service.name)
        .join(Service, col(Service.id) == ServiceRequest.service_id)
        .where(ServiceRequest.requester_id == requester_id)
    )
    if filters.state:
        query = query.where(ServiceRequest.state == filters.state)
    if filters.service_id:
        query = query.where(ServiceRequest.service_id == filters.service_id)
    if filters.filed_from:
        query = query.where(col(ServiceRequest.created_at)
                            >= datetime.combine(filters.filed_from, time.min, UTC))
    if filters.filed_until:
        query = query.where(col(ServiceRequest.created_at) < datetime.combine(
            filters.filed_until + timedelta(days=1), time.min, UTC))
    if filters.text:
        in_title = func.lower(ServiceRequest.title).contains(filters.text.lower(),
                                                             autoescape=True)
        query = query.where(or_(in_title, col(ServiceRequest.id) == filters.number)
                            if filters.number else in_title)
    if before is not None:
        query = query.where(col(ServiceRequest.id) < before)
    rows = list(session.exec(query.order_by(col(ServiceRequest.id).desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    progress = steps_by_request(session, [request.id for request, _ in rows])
    lines = [RequestLine(request, name, progress[request.id]) for request, name in rows]
    next_before = rows[-1][0].id if more else None
    return lines, next_before


EXPORT_BATCH = 500


def services_of(session: Session, *, requester_id: int) -> list[tuple[int, str]]:
    """(id, name) of the services the requester has asked for, for the service filter."""
    asked = select(ServiceRequest.service_id).where(
        ServiceRequest.requester_id == requester_id).distinct()
    return list(session.exec(select(Service.id, Service.name)
                             .where(col(Service.id).in_(asked)).order_by(col(Service.name))))


def all_requests_of(
    session: Session, *, requester_id: int, filters: MyFilters = MyFilters(),
    batch: int | None = None,
) -> Iterator[RequestLine]:
    """Every line of the list, newest first, read a batch at a time by the list's own
    cursor (for a CSV that streams in constant memory). `batch`: EXPORT_BATCH lines unless
    said (read when called, so a test may make it small)."""
    before = None
    while True:
        lines, before = requests_of(session, requester_id=requester_id, before=before,
                                    filters=filters, limit=batch or EXPORT_BATCH)
        yield from lines
        if before is None:
            return


# How long after sending a service's form its page says so (a form sent again after the
# Back button, its answers restored by the browser, files a second request).
JUST_SENT = timedelta(minutes=30)
# The requester's newest requests looked at for it: a bounded read of their index.
_NEWEST_LOOKED_AT = 5


@dataclass(frozen=True)
class SentRequest:
    id: int
    title: str
    created_at: datetime

    @property
    def number(self) -> str:
        return request_number(self.id)


def just_sent(session: Session, *, requester_id: int, service_id: int,
              now: datetime) -> SentRequest | None:
    """The request this person filed with this service's form within JUST_SENT, if it is
    among their newest few: what the form's page tells them before they send it again."""
    rows = session.exec(
        select(ServiceRequest.id, ServiceRequest.service_id, ServiceRequest.title,
               ServiceRequest.created_at)
        .where(ServiceRequest.requester_id == requester_id)
        .order_by(col(ServiceRequest.id).desc()).limit(_NEWEST_LOOKED_AT)
    ).all()
    for request_id, of_service, title, created_at in rows:
        if of_service == service_id and created_at >= now - JUST_SENT:
            return SentRequest(id=request_id, title=title, created_at=created_at)
    return None
