"""Everything the request page shows, gathered in a fixed number of queries."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.catalog import definition_of
from app.definitions import FieldDefinition
from app.models import (
    Attachment,
    Service,
    ServiceRequest,
    ServiceVersion,
    Task,
    Team,
    TimelineEvent,
    User,
)


@dataclass
class AnswerLine:
    field: FieldDefinition
    value: Any
    attachments: list[Attachment]


@dataclass
class StepLine:
    task: Task
    team_name: str
    assignee_name: str | None
    instructions: str


@dataclass
class TimelineLine:
    event: TimelineEvent
    actor_name: str
    step_name: str | None


@dataclass
class RequestDetail:
    request: ServiceRequest
    service: Service
    version: ServiceVersion
    requester: User
    answers: list[AnswerLine]
    steps: list[StepLine]
    timeline: list[TimelineLine]


def request_detail(
    session: Session, *, service_request: ServiceRequest, with_internal_notes: bool
) -> RequestDetail:
    version = session.get(ServiceVersion, service_request.version_id)
    service = session.get(Service, service_request.service_id)
    requester = session.get(User, service_request.requester_id)
    assert version and service and requester
    definition = definition_of(version)

    attachments: dict[str, list[Attachment]] = {}
    for attachment in session.exec(
        select(Attachment).where(Attachment.request_id == service_request.id)
        .order_by(col(Attachment.id))
    ):
        attachments.setdefault(attachment.field_key, []).append(attachment)
    answers = [
        AnswerLine(field, service_request.answers.get(field.key), attachments.get(field.key, []))
        for field in definition.fields
    ]

    assignee = aliased(User)
    steps = [
        StepLine(task, team_name, assignee_name, definition.steps[task.position].instructions)
        for task, team_name, assignee_name in session.exec(
            select(Task, Team.name, assignee.name)
            .join(Team, col(Team.id) == Task.team_id)
            .outerjoin(assignee, assignee.id == col(Task.assignee_id))  # type: ignore[arg-type]
            .where(Task.request_id == service_request.id)
            .order_by(col(Task.position))
        )
    ]

    query = (
        select(TimelineEvent, User.name, Task.step_name)
        .outerjoin(User, col(User.id) == TimelineEvent.actor_id)
        .outerjoin(Task, col(Task.id) == TimelineEvent.task_id)
        .where(TimelineEvent.request_id == service_request.id)
        .order_by(col(TimelineEvent.id))
    )
    if not with_internal_notes:
        query = query.where(TimelineEvent.is_internal == False)  # noqa: E712
    timeline = [
        TimelineLine(event, actor_name or "Baton", step_name)
        for event, actor_name, step_name in session.exec(query)
    ]
    return RequestDetail(
        request=service_request, service=service, version=version, requester=requester,
        answers=answers, steps=steps, timeline=timeline,
    )
