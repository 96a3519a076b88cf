"""/api/v1: the catalog, a service's definition, filing a request, my requests, a request
with its steps and timeline, commenting and cancelling. Each goes through the rules and
reads the pages use (app.web.routes.catalog and requests), with the same visibility
(app.rules.policy)."""

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from sqlmodel import Session

from app.config import get_settings
from app.reads.my_requests import MyFilters, requests_of
from app.reads.request_detail import request_detail
from app.rules.catalog import active_services, current_version, definition_of, get_service_by_slug
from app.rules.errors import IntakeInvalid, ServiceChanged
from app.rules.intake import validate_intake
from app.rules.policy import RequestAccess
from app.rules.requests import add_comment, cancel_request
from app.rules.submission import submit_request
from app.storage.models import MAX_ID, RequestState, Service, ServiceRequest
from app.web.access import request_for_viewer
from app.web.api.caller import Caller, Writer
from app.web.api.idempotency import KeyDep, run_change
from app.web.api.problems import ApiProblem
from app.web.api.schemas import (
    AnswerValue,
    CommentIn,
    EventOut,
    Filed,
    NewRequest,
    ReasonIn,
    RequestList,
    RequestOut,
    ServiceOut,
    ServiceSummary,
    event_out,
    filed,
    public_step,
    request_out,
    request_summary,
    service_summary,
)
from app.web.session import SessionDep

router = APIRouter()
Slug = Annotated[str, Path(max_length=80)]
RequestId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _service_or_404(session: Session, slug: str) -> Service:
    service = get_service_by_slug(session, slug)
    if service is None or not service.is_active or service.current_version_id is None:
        raise ApiProblem(404, "There is no such service in the catalog.", kind="not-found")
    return service


@router.get("/services", response_model=list[ServiceSummary], summary="The catalog")
def list_services(session: SessionDep, caller: Caller,
                  q: Annotated[str, Query(max_length=200)] = "") -> Any:
    return [service_summary(service) for service in active_services(session, search=q)]


@router.get("/services/{slug}", response_model=ServiceOut,
            summary="A service's current definition: its form's fields and its steps")
def show_service(slug: Slug, session: SessionDep, caller: Caller) -> Any:
    service = _service_or_404(session, slug)
    version = current_version(session, service)
    definition = definition_of(version)
    return {**service_summary(service).model_dump(), "version": version.number,
            "ordering": definition.ordering, "fields": definition.fields,
            "steps": [public_step(step) for step in definition.steps]}


def form_values(answers: Mapping[str, AnswerValue]) -> dict[str, list[str]]:
    """JSON answers as the form posts them, so that one validation reads both: a
    checkbox's true is the browser's "on", false and null are no answer."""
    values: dict[str, list[str]] = {}
    for key, value in answers.items():
        if value is None or value is False:
            values[key] = []
        elif value is True:
            values[key] = ["on"]
        elif isinstance(value, list):
            values[key] = list(value)
        else:
            values[key] = [str(value)]
    return values


@router.post("/services/{slug}/requests", status_code=201, response_model=Filed,
             summary="File a request", description=(
                 "Checked as the form is: every problem comes back at once, in errors, "
                 "keyed by field. Send an Idempotency-Key to retry safely."))
def file_request(slug: Slug, new: NewRequest, session: SessionDep, caller: Writer,
                 key: KeyDep) -> Response:
    service = _service_or_404(session, slug)
    version = current_version(session, service)
    if new.version is not None and new.version != version.number:
        raise ServiceChanged()
    definition = definition_of(version)
    known = {field.key for field in definition.fields}
    unknown = {name[:60]: "This form has no such field." for name in new.answers
               if name not in known}
    if unknown:
        raise IntakeInvalid(unknown)
    settings = get_settings()
    intake = validate_intake(session, definition=definition, values=form_values(new.answers),
                             uploads={}, max_upload_mb=settings.max_upload_mb)
    return run_change(
        session, caller, key,
        lambda: submit_request(session, service=service, version=version,
                               requester=caller.user, intake=intake,
                               attachments_dir=settings.attachments_dir),
        lambda made, acting: (201, filed(made or acting.first["request"])))


@router.get("/requests", response_model=RequestList, summary="My requests, newest first")
def list_my_requests(
    session: SessionDep, caller: Caller,
    state: Annotated[RequestState | None, Query()] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Any:
    lines, next_before = requests_of(session, requester_id=caller.user.id, before=before,
                                     filters=MyFilters(state=state.value if state else None))
    return {"requests": [request_summary(line) for line in lines], "next_before": next_before}


def visible_request(session: Session, caller: Caller, request_id: int
                    ) -> tuple[ServiceRequest, RequestAccess]:
    """The pages' own check (app.web.access.request_for_viewer): not visible is not
    found."""
    viewed = request_for_viewer(session, user=caller.user, request_id=request_id)
    return viewed.request, viewed.access


@router.get("/requests/{request_id}", response_model=RequestOut,
            summary="A request with its steps and its timeline (newest events)")
def show_request(request_id: RequestId, session: SessionDep, caller: Caller,
                 before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> Any:
    found, access = visible_request(session, caller, request_id)
    return request_out(request_detail(session, service_request=found,
                                      with_internal_notes=access.sees_internal_notes,
                                      before=before))


@router.post("/requests/{request_id}/comments", status_code=201, response_model=EventOut,
             summary="Comment on a request (or, for its teams, add an internal note)")
def comment_on_request(request_id: RequestId, comment: CommentIn, session: SessionDep,
                       caller: Writer, key: KeyDep) -> Response:
    found, access = visible_request(session, caller, request_id)
    return run_change(
        session, caller, key,
        lambda: add_comment(session, service_request=found, by=caller.user, body=comment.body,
                            internal=comment.internal, is_team_member=access.is_team_member),
        lambda made, acting: (201, event_out(made or acting.first["event"], caller.user.name,
                                             None)))


@router.post("/requests/{request_id}/cancel", response_model=Filed,
             summary="Cancel your own open request, with a reason")
def cancel_my_request(request_id: RequestId, reason: ReasonIn, session: SessionDep,
                      caller: Writer, key: KeyDep) -> Response:
    found, _access = visible_request(session, caller, request_id)
    return run_change(
        session, caller, key,
        lambda: cancel_request(session, service_request=found, by=caller.user,
                               reason=reason.reason),
        lambda made, acting: (200, filed(made or acting.first["request"])))
