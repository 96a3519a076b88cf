"""What /api/v1 answers, as Pydantic models (they make the OpenAPI document), and the
functions that turn the reads' and rules' objects into them. Nothing here reads the
database: the reads (app.reads.*) did."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from app.format.definitions import FieldDefinition, StepDefinition
from app.reads.my_requests import RequestLine
from app.reads.request_detail import Event, RequestDetail, StepTask, TimelineLine
from app.reads.search import SearchResult
from app.reads.task_rows import TaskRow
from app.storage.models import Service, ServiceRequest

# An answer as JSON: text (text, long text, date, e-mail, a select's option, a person's
# e-mail), a number, a checkbox's true or false, a multi-select's options, or null.
AnswerValue = str | int | float | bool | list[str] | None
MAX_ANSWERS = 200
NOT_TEXT = "Not storable text: it holds a lone surrogate (\\ud800-\\udfff)."


def storable(text: str) -> bool:
    """Whether text is real Unicode: JSON may carry a lone surrogate (\\ud800), which
    can be neither stored nor sent back, so it is refused by the field (422), not a 500."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class ServiceSummary(BaseModel):
    slug: str
    name: str
    category: str
    description: str


class PublicStep(BaseModel):
    """A step as anyone may see it: its instructions are for its team only (the
    request page shows them to the step's team alone), so they are not here."""

    name: str
    team: str
    kind: Literal["task", "approval"]
    condition: str | None = None
    stage: int | None = None
    target_hours: float | None = None
    target_business_days: int | None = None
    requester_may_approve: bool | None = None


def public_step(step: StepDefinition) -> dict[str, Any]:
    return step.model_dump(include=set(PublicStep.model_fields))


class ServiceOut(ServiceSummary):
    """A service's current definition: the form its requests are checked against and
    the steps they become."""

    version: int = Field(description="The current version's number: send it with a new "
                                     "request to be told if the form changed meanwhile.")
    ordering: Literal["enforced", "flexible"]
    fields: list[FieldDefinition]
    steps: list[PublicStep]


class NewRequest(BaseModel):
    answers: dict[str, AnswerValue] = Field(
        default_factory=dict, max_length=MAX_ANSWERS,
        description="One answer per field key, checked as the form checks it. A file "
                    "field cannot be answered through the API.")
    version: int | None = Field(default=None, ge=1, le=2**31 - 1, description=(
        "The version the answers were written for; when the service has a newer one, "
        "nothing is filed (409)."))

    @field_validator("answers")
    @classmethod
    def _answers_are_text(cls, answers: dict[str, AnswerValue]) -> dict[str, AnswerValue]:
        for name, value in answers.items():
            texts = value if isinstance(value, list) else [value]
            if not storable(name) or not all(
                    storable(text) for text in texts if isinstance(text, str)):
                raise ValueError(NOT_TEXT)
        return answers


class Filed(BaseModel):
    id: int
    number: str
    title: str
    state: str
    created_at: datetime


class Person(BaseModel):
    id: int | None
    name: str


class TaskOut(BaseModel):
    id: int
    request_id: int
    position: int
    step_name: str
    kind: str
    state: str
    team_id: int
    assignee_id: int | None
    opened_at: datetime | None
    due_at: datetime | None
    state_changed_at: datetime


class StepOut(TaskOut):
    team_name: str
    assignee_name: str | None


class EventOut(BaseModel):
    id: int
    kind: str
    actor: Person
    step_name: str | None
    task_id: int | None
    note: str
    internal: bool
    via: str | None = Field(description="'API token <name>' when made through the API.")
    created_at: datetime


class RequestOut(BaseModel):
    id: int
    number: str
    title: str
    state: str
    service: ServiceSummary
    version: int
    requester: Person
    answers: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    steps: list[StepOut]
    timeline: list[EventOut]
    timeline_earlier_before: int | None = Field(description=(
        "When earlier events exist: pass it as `before` for the page before these."))


class StepProgress(BaseModel):
    step_name: str
    team_name: str
    state: str


class RequestSummary(BaseModel):
    id: int
    number: str
    title: str
    state: str
    service_name: str
    created_at: datetime
    closed_at: datetime | None
    steps: list[StepProgress]


class RequestList(BaseModel):
    requests: list[RequestSummary]
    next_before: int | None = Field(description="Pass as `before` for the next page.")


class QueueTask(TaskOut):
    request_number: str
    request_title: str
    service_name: str
    team_name: str
    requester_name: str
    assignee_name: str | None


class QueuePage(BaseModel):
    tasks: list[QueueTask]
    total: int | None = Field(description="How many tasks match (first page only).")
    next_cursor: str | None = Field(description="Pass as `after` for the next page.")


class SearchHit(BaseModel):
    id: int
    number: str
    title: str
    state: str
    service_name: str
    requester_name: str
    created_at: datetime


class SearchPage(BaseModel):
    results: list[SearchHit]
    next_before: int | None
    count: int
    count_is_exact: bool


class TokenInfo(BaseModel):
    name: str
    read_only: bool


class Me(BaseModel):
    id: int
    name: str
    email: str
    is_manager: bool
    is_admin: bool
    team_ids: list[int]
    token: TokenInfo


class CommentIn(BaseModel):
    body: str = Field(max_length=20_000)
    internal: bool = False


class NoteIn(BaseModel):
    note: str = Field(default="", max_length=20_000)


class ReasonIn(BaseModel):
    reason: str = Field(max_length=20_000)


class HandIn(BaseModel):
    to: str = Field(max_length=400, description="The teammate: an e-mail, a name, or an id.")


def service_summary(service: Service) -> ServiceSummary:
    return ServiceSummary(slug=service.slug, name=service.name, category=service.category,
                          description=service.description)


def task_out(task: StepTask) -> dict[str, Any]:
    return {"id": task.id, "request_id": task.request_id, "position": task.position,
            "step_name": task.step_name, "kind": task.kind, "state": task.state,
            "team_id": task.team_id, "assignee_id": task.assignee_id,
            "opened_at": task.opened_at, "due_at": task.due_at,
            "state_changed_at": task.state_changed_at}


def filed(request: ServiceRequest) -> dict[str, Any]:
    return {"id": request.id, "number": request.number, "title": request.title,
            "state": request.state, "created_at": request.created_at}


def event_out(event: Event, actor_name: str, step_name: str | None) -> dict[str, Any]:
    return {"id": event.id, "kind": event.kind,
            "actor": {"id": event.actor_id, "name": actor_name}, "step_name": step_name,
            "task_id": event.task_id, "note": event.note, "internal": event.is_internal,
            "via": event.via, "created_at": event.created_at}


def timeline_out(line: TimelineLine) -> dict[str, Any]:
    return event_out(line.event, line.actor_name, line.step_name)


def request_out(detail: RequestDetail) -> dict[str, Any]:
    request = detail.request
    return {
        "id": request.id, "number": request.number, "title": request.title,
        "state": request.state, "service": service_summary(detail.service).model_dump(),
        "version": detail.version.number,
        "requester": {"id": detail.requester.id, "name": detail.requester.name},
        "answers": request.answers, "created_at": request.created_at,
        "updated_at": request.updated_at, "closed_at": request.closed_at,
        "steps": [{**task_out(step.task), "team_name": step.team_name,
                   "assignee_name": step.assignee_name} for step in detail.steps],
        "timeline": [timeline_out(line) for line in detail.timeline.lines],
        "timeline_earlier_before": detail.timeline.earlier_before,
    }


def request_summary(line: RequestLine) -> dict[str, Any]:
    request = line.request
    return {"id": request.id, "number": request.number, "title": request.title,
            "state": request.state, "service_name": line.service_name,
            "created_at": request.created_at, "closed_at": request.closed_at,
            "steps": [{"step_name": step.step_name, "team_name": step.team_name,
                       "state": step.state} for step in line.steps]}


def queue_task(row: TaskRow) -> dict[str, Any]:
    task = row.task
    return {"id": task.id, "request_id": task.request_id, "position": task.position,
            "step_name": task.step_name, "kind": task.kind, "state": task.state,
            "team_id": task.team_id, "assignee_id": task.assignee_id,
            "opened_at": task.opened_at, "due_at": task.due_at,
            "state_changed_at": task.state_changed_at,
            "request_number": row.request.number, "request_title": row.request.title,
            "service_name": row.service_name, "team_name": row.team_name,
            "requester_name": row.requester_name, "assignee_name": row.assignee_name}


def search_hit(result: SearchResult) -> dict[str, Any]:
    return {"id": result.id, "number": result.number, "title": result.title,
            "state": result.state, "service_name": result.service_name,
            "requester_name": result.requester_name, "created_at": result.created_at}
