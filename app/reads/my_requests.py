"""A requester's list of their own requests, each with its steps' progress."""

from collections.abc import Iterator
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.storage.models import QUEUED_TASK_STATES, Service, ServiceRequest, Task, Team

PAGE_SIZE = 25


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
    session: Session, *, requester_id: int, before: int | None = None, state: str | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[RequestLine], int | None]:
    """Newest first, keyset-paginated by id; returns the lines and the next cursor."""
    query = (
        select(ServiceRequest, Service.name)
        .join(Service, col(Service.id) == ServiceRequest.service_id)
        .where(ServiceRequest.requester_id == requester_id)
    )
    if state:
        query = query.where(ServiceRequest.state == state)
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


def all_requests_of(
    session: Session, *, requester_id: int, state: str | None = None, batch: int | None = None
) -> Iterator[RequestLine]:
    """Every line of the list, newest first, read a batch at a time by the list's own
    cursor (for a CSV that streams in constant memory). `batch`: EXPORT_BATCH lines unless
    said (read when called, so a test may make it small)."""
    before = None
    while True:
        lines, before = requests_of(session, requester_id=requester_id, before=before,
                                    state=state, limit=batch or EXPORT_BATCH)
        yield from lines
        if before is None:
            return
