"""The catalog, a service's page with its intake form, and submitting a request.

A field shown only when an earlier answer meets a condition carries that condition as
JSON (`data-show-if`), which static/baton.js evaluates as the requester answers, with
the same semantics as app.format.conditions.evaluate. Without JavaScript every field is shown
(the server drops the answers of hidden fields anyway); when the form comes back with
errors, fields whose condition is false start hidden.
"""

import re
import secrets
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.config import get_settings
from app.format.condition_words import step_condition_words
from app.format.conditions import evaluate
from app.format.definitions import ServiceDefinition
from app.reads.expected_finish import service_expectation
from app.reads.my_requests import just_sent
from app.rules.catalog import (
    active_services,
    get_service_by_slug,
    kept_current_version,
    kept_definition,
    kept_service,
    teams_by_slug,
)
from app.rules.errors import IntakeInvalid, ServiceChanged
from app.rules.intake import CHECKERS, FieldProblem, body_allowance, split_form, validate_intake
from app.rules.submission import submit_request, submitted_with
from app.storage.models import Service, User, utcnow
from app.web.auth import CurrentUser, ViewerDep
from app.web.flash import redirect_with_flash
from app.web.render import is_htmx, redirect, render
from app.web.request_body import accepts_large_body, posted_form
from app.web.session import SessionDep

router = APIRouter()


# --- conditional fields ------------------------------------------------------------------

# Conditions cannot test these (app.format.conditions.check refuses them); reading a person
# would cost a query for nothing.
_UNTESTABLE = {"person", "file"}


def hidden_fields(
    session: SessionDep, definition: ServiceDefinition, values: Mapping[str, list[str]]
) -> set[str]:
    """The keys of fields whose condition is false for the answers as typed, read the
    way validate_intake reads them: in form order, a hidden field's answer counts as not
    given, and an answer that does not pass its field's checks as not given either."""
    answers: dict[str, Any] = {}
    hidden: set[str] = set()
    for field in definition.fields:
        condition = definition.shown_if(field.key)
        if condition is not None and not evaluate(condition, answers):
            hidden.add(field.key)
            continue
        if field.type in _UNTESTABLE:
            continue
        try:
            value = CHECKERS[field.type](field, list(values.get(field.key, [])), session)
        except FieldProblem:
            continue
        if value is not None:
            answers[field.key] = value
    return hidden


@router.get("/", name="home")
def home(user: CurrentUser, viewer: ViewerDep) -> Response:
    """Team members start at their queues; everyone else at the catalog."""
    return redirect("/queues" if viewer.is_team_member else "/catalog")


@router.get("/catalog", name="catalog.show")
def show_catalog(
    request: Request, session: SessionDep, user: CurrentUser, q: str = ""
) -> Response:
    q = q[:200]
    services = active_services(session, search=q)
    categories: dict[str, list[Service]] = {}
    for service in services:
        categories.setdefault(service.category, []).append(service)
    # A search that finds nothing offers every service by name instead of an empty page.
    every = active_services(session) if q and not services else []
    return render(
        request, "catalog/catalog.html", {"categories": categories, "q": q, "every": every},
        block="services" if is_htmx(request) else None,
    )


def _service_or_404(session: SessionDep, slug: str, *, fresh: bool = False) -> Service:
    """The active service at `slug`, kept (app.rules.catalog.kept_service) or, `fresh`,
    read now."""
    service = get_service_by_slug(session, slug) if fresh else kept_service(session, slug)
    if service is None or not service.is_active:
        raise HTTPException(status_code=404, detail="There is no such service in the catalog.")
    return service


# A form's one-time key (see submit_request): made by secrets.token_urlsafe; anything
# else sent in its place is ignored, as if the form had none.
_SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _submission_key(values: Mapping[str, list[str]]) -> str | None:
    sent = values.get("submission_key", [""])[0]
    return sent if _SUBMISSION_KEY.fullmatch(sent) else None


def _service_page(
    request: Request, session: SessionDep, service: Service, *,
    values: dict[str, list[str]] | None = None, errors: dict[str, str] | None = None,
    lost_files: list[str] | None = None, notice: str | None = None, status: int = 200,
) -> Response:
    version = kept_current_version(session, service)
    definition = kept_definition(session, version)
    user = request.state.viewer.user
    team_names = {slug: team.name for slug, team in teams_by_slug(session).items()}
    # A blank form shows every field until the browser's script hides some, so that
    # without JavaScript nothing is out of reach; a form that comes back starts right.
    hidden = hidden_fields(session, definition, values) if values else set()
    return render(request, "catalog/service.html", {
        "service": service, "version": version, "definition": definition,
        "stages": definition.stages(), "hidden_fields": hidden,
        # When a step is needed, in the form's words (admins see the condition itself).
        "step_conditions": [step_condition_words(definition, position)
                            for position in range(len(definition.steps))],
        "team_names": team_names, "values": values or {}, "errors": errors or {},
        "lost_files": lost_files or [], "notice": notice,
        "expected": service_expectation(session, service.id) if service.id else None,
        "max_upload_mb": get_settings().max_upload_mb,
        "just_sent": just_sent(session, requester_id=user.id, service_id=service.id,
                               now=utcnow()) if user and service.id else None,
        # A form that comes back keeps its key: nothing was filed with it yet, and a
        # double click on the form sent again must still file one request.
        "submission_key": _submission_key(values or {}) or secrets.token_urlsafe(24),
    }, status=status)


@router.get("/services/{slug}", name="catalog.service")
def show_service(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> Response:
    return _service_page(request, session, _service_or_404(session, slug))


def _submission_allowance(session: SessionDep, _user: User, path_params: dict[str, Any]
                          ) -> int:
    """How large a filled-in form of this service may be (read by app.web.request_body
    before the body is; a service that does not exist gets the small default)."""
    service = kept_service(session, str(path_params.get("slug", "")))
    if service is None or service.current_version_id is None:
        return 0
    definition = kept_definition(session, kept_current_version(session, service))
    return body_allowance(definition, get_settings().max_upload_mb)


@router.post("/services/{slug}/requests", name="catalog.submit")
@accepts_large_body(_submission_allowance)
async def submit_service_request(
    request: Request, session: SessionDep, user: CurrentUser, slug: str
) -> Response:
    # Async only to read the form, uploads and all; the rest waits on the database, so
    # it runs in the thread pool like a sync route's, not on the worker's event loop
    # (where one insert waiting on a lock would stall every request of the worker).
    items = list((await posted_form(request)).multi_items())
    return await run_in_threadpool(_submit, request, session, user, slug, items)


def _submit(request: Request, session: SessionDep, user: CurrentUser, slug: str,
            items: list[tuple[str, Any]]) -> Response:
    values, uploads = split_form(items)
    key = _submission_key(values)
    earlier = submitted_with(session, requester=user, key=key) if key else None
    if earlier is not None:
        # This form was sent before (a double click, a retry after a cut-off answer):
        # the request it made, as if just made, whatever happened to the service since.
        return redirect_with_flash(f"/requests/{earlier.id}", "submitted")
    service = _service_or_404(session, slug)
    version = kept_current_version(session, service)
    definition = kept_definition(session, version)
    lost = [f.label for f in definition.fields if f.type == "file" and uploads.get(f.key)]
    if values.get("version_id", [""])[0] != str(version.id):
        # Shown one version, the form would be checked against another: show the new
        # form, answers kept, to be checked by the person who sends it. Read now, not
        # kept: the form may be of a version newer than the directory this request read.
        return _service_page(request, session, _service_or_404(session, slug, fresh=True),
                             values=values, lost_files=lost, status=409,
                             notice=ServiceChanged().message)
    settings = get_settings()
    try:
        # The form's person fields suggest people as they are typed: a part of a name
        # sent unpicked is answered with whom it could mean.
        intake = validate_intake(
            session, definition=definition, values=values, uploads=uploads,
            max_upload_mb=settings.max_upload_mb, names_people=True,
        )
    except IntakeInvalid as invalid:
        return _service_page(request, session, service, values=values, errors=invalid.errors,
                             lost_files=lost, status=422)
    try:
        created = submit_request(
            session, service=service, version=version, requester=user, intake=intake,
            attachments_dir=settings.attachments_dir, submission_key=key,
        )
    except ServiceChanged as changed:
        # A new version was published between the check above and the transaction: the
        # service read again (the rollback made the session forget the directory
        # version it had read the service at), so the form shown is the new version's.
        return _service_page(request, session, _service_or_404(session, slug, fresh=True),
                             values=values, lost_files=lost, status=409,
                             notice=changed.message)
    return redirect_with_flash(f"/requests/{created.id}", "submitted")
