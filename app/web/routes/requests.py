"""A requester's requests, the request page, comments, cancelling, attachments."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response

from app.config import get_settings
from app.reads.my_requests import (
    MAX_TEXT_LENGTH,
    MyFilters,
    RequestLine,
    all_requests_of,
    requests_of,
    services_of,
)
from app.reads.request_changes import newer_events, page_version, poll_request
from app.reads.request_detail import request_detail, timeline_page
from app.reads.search import number_in
from app.rules.attachments import content_disposition, locate
from app.rules.errors import InvalidNote, TooManyComments
from app.rules.inputs import (
    InputInvalid,
    dates_out_of_order,
    parse_date,
    raw_limit,
    without_control_characters,
)
from app.rules.policy import access_by
from app.rules.requests import add_comment, cancel_request
from app.storage.models import MAX_ID, Attachment, RequestState, ServiceRequest, utcnow
from app.web.access import (
    NOT_FOUND,
    IdPath,
    RequestForViewer,
    get_request_for_viewer,
    request_page_for_viewer,
)
from app.web.auth import CurrentUser
from app.web.csv_export import csv_response
from app.web.flash import flash_for, forget_flash
from app.web.render import is_htmx, redirect, render
from app.web.routes.queues import ServiceFilter
from app.web.session import SessionDep

router = APIRouter()

REQUEST_STATES = {state.value for state in RequestState}


@router.get("/requests", name="requests.mine")
def show_my_requests(
    request: Request, session: SessionDep, user: CurrentUser,
    state: str = "", service: ServiceFilter = None, filed_from: str = "",
    filed_until: str = "", q: str = "",
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    filters, problems = _my_filters(state, service, filed_from, filed_until, q)
    lines, next_before = requests_of(
        session, requester_id=user.id, before=before, filters=filters
    )
    typed = {"state": filters.state, "service": filters.service_id, "filed_from": filed_from,
             "filed_until": filed_until, "q": q[:MAX_TEXT_LENGTH]}
    kept = {key: value for key, value in typed.items() if value}
    htmx = is_htmx(request)
    return render(request, "requests/my_requests.html", {
        "lines": lines, "next_before": next_before, "filters": filters, "typed": typed,
        "kept": kept, "problems": problems, "oob": htmx,
        "states": [s.value for s in RequestState],
        "services": services_of(session, requester_id=user.id),
    }, block="results" if htmx else None, status=422 if problems else 200)


def _request_state(text: str) -> str:
    """The state My requests is filtered by; anything unknown is all of them."""
    return text if text in REQUEST_STATES else ""


def _my_filters(state: str, service: int | None, filed_from: str, filed_until: str,
                text: str) -> tuple[MyFilters, dict[str, str]]:
    """The filters as typed, checked: each wrong one is left out and said by its input."""
    problems: dict[str, str] = {}
    dates: dict[str, date | None] = {}
    for name, typed in (("filed_from", filed_from), ("filed_until", filed_until)):
        try:
            dates[name] = parse_date(typed)
        except InputInvalid as invalid:
            problems[name], dates[name] = str(invalid), None
    first, last = dates["filed_from"], dates["filed_until"]
    if out_of_order := dates_out_of_order(first, last):
        problems["filed_until"], last = out_of_order, None
    # Bounded before anything reads it further (inputs.raw_limit).
    words = (without_control_characters(text).strip()
             if len(text) <= raw_limit(MAX_TEXT_LENGTH) else text)
    if len(words) > MAX_TEXT_LENGTH:
        problems["q"] = f"Use at most {MAX_TEXT_LENGTH} characters (this has {len(words)})."
        words = ""
    return MyFilters(state=_request_state(state) or None, service_id=service,
                     filed_from=first, filed_until=last, text=words,
                     number=number_in(words) if words else None), problems


def _request_cells(line: RequestLine) -> list[Any]:
    request = line.request
    now_at = "; ".join(f"{step.step_name} ({step.team_name}, {step.state})"
                       for step in line.current) if request.state == RequestState.open else ""
    return [request.number, request.title, line.service_name, request.state, now_at,
            request.created_at, request.closed_at]


@router.get("/requests.csv", name="requests.mine_csv")
def export_my_requests(
    session: SessionDep, user: CurrentUser, state: str = "", service: ServiceFilter = None,
    filed_from: str = "", filed_until: str = "", q: str = "",
) -> Response:
    """My requests as CSV: the viewer's own requests (rule 6), with the page's filters
    (a wrong one is left out, as on the page)."""
    filters, _ = _my_filters(state, service, filed_from, filed_until, q)
    lines = all_requests_of(session, requester_id=user.id, filters=filters)
    return csv_response(
        (_request_cells(line) for line in lines),
        header=["Request", "Title", "Service", "State", "Now at", "Filed (UTC)",
                "Closed (UTC)"],
        name=f"my-requests-{filters.state}" if filters.state else "my-requests")


def _request_page(
    request: Request, session: SessionDep, viewed: RequestForViewer, user: CurrentUser, *,
    errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
    status: int = 200, before: int | None = None, headers: dict[str, str] | None = None,
) -> Response:
    detail = request_detail(
        session, service_request=viewed.request,
        with_internal_notes=viewed.access.sees_internal_notes, before=before, follower=user,
        head=viewed.head,
    )
    flash = flash_for(request)
    response = render(request, "requests/request.html", {
        "detail": detail, "timeline": detail.timeline, "showing_earlier": before is not None,
        "access": viewed.access, "errors": errors or {}, "values": values or {},
        # Said once, on the page the form's redirect lands on (app.web.flash).
        "submitted": flash == "submitted", "now": utcnow(),
        "version": page_version(detail.timeline),
        "following": detail.following, "chose_to_follow": detail.chose_to_follow,
    }, status=status, headers=headers)
    if flash:
        forget_flash(response, f"/requests/{viewed.request.id}")
    return response


@router.get("/requests/{request_id}", name="requests.show")
def show_request(
    request: Request, session: SessionDep, user: CurrentUser, request_id: IdPath,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The request page with its newest events; `before` (an event's id): the events
    just before that one, as the whole page or, for htmx, as the list items that go
    where its "show earlier" link was."""
    viewed = request_page_for_viewer(session, user=user, request_id=request_id)
    if before is not None and is_htmx(request):
        timeline = timeline_page(
            session, service_request=viewed.request,
            with_internal_notes=viewed.access.sees_internal_notes, before=before,
        )
        return render(request, "requests/request.html", {"timeline": timeline},
                      block="earlier_events")
    return _request_page(request, session, viewed, user, before=before)


@router.get("/requests/{request_id}/changes", name="requests.changes")
def request_changes(
    request: Request, session: SessionDep, user: CurrentUser,
    request_id: IdPath, since: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Response:
    """The live request page's poll (app.reads.request_changes): 204 while the viewer has
    nothing newer than `since`, the page's version; else a new poll, the head and the
    steps swapped in place (htmx out-of-band swaps) and the new events appended.

    Every open request page asks this every 15 s, so its "nothing changed" answer is one
    statement that reads who may see the request with whether it changed; the access
    is still decided by app.rules.policy (access_by), as RequestForViewer would."""
    answer = poll_request(session, request_id=request_id, since=since, user_id=user.id)
    access = (access_by(user, requester_id=answer.requester_id,
                        is_team_member=answer.on_team) if answer else None)
    if answer is None or access is None or not access.can_view:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    with_notes = access.sees_internal_notes
    if not (answer.newer if with_notes else answer.newer_public):
        return Response(status_code=204, headers={"Vary": "HX-Request"})
    service_request = session.get_one(ServiceRequest, request_id)
    detail = request_detail(session, service_request=service_request,
                            with_internal_notes=with_notes)
    new_lines, gap = newer_events(session, service_request=service_request, since=since,
                                  with_internal_notes=with_notes)
    return render(request, "requests/request.html", {
        "detail": detail, "access": access, "now": utcnow(), "oob": True,
        "new_lines": new_lines, "gap": gap, "version": page_version(detail.timeline),
    }, block="live")


@router.post("/requests/{request_id}/comments", name="requests.comment")
def comment_on_request(
    request: Request, session: SessionDep, user: CurrentUser, viewed: RequestForViewer,
    body: Annotated[str, Form()] = "", internal: Annotated[bool, Form()] = False,
) -> Response:
    try:
        add_comment(
            session, service_request=viewed.request, by=user, body=body, internal=internal,
            is_team_member=viewed.access.is_team_member,
        )
    except (InvalidNote, TooManyComments) as error:
        # Too long or too many: next to the box, with the text kept in it (htmx: in its
        # toast, the typed text left as it is in the box). A refusal (NotAllowed) goes
        # to the error page. The rule has rolled its transaction back already.
        if is_htmx(request):
            raise
        retry_after = error.retry_after if isinstance(error, TooManyComments) else None
        return _request_page(request, session, viewed, user, status=error.status_code,
                             errors={"body": error.message},
                             values={"body": body, "internal": "true" if internal else ""},
                             headers={"Retry-After": str(retry_after)} if retry_after else None)
    return redirect(f"/requests/{viewed.request.id}#timeline", request)


@router.post("/requests/{request_id}/cancel", name="requests.cancel")
def cancel_my_request(
    request: Request, session: SessionDep, user: CurrentUser, viewed: RequestForViewer,
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        cancel_request(session, service_request=viewed.request, by=user, reason=reason)
    except InvalidNote as error:
        # Only a missing or too long reason belongs next to the reason box; a closed
        # request no longer shows that box, so its 409 goes to the error page.
        return _request_page(request, session, viewed, user, status=error.status_code,
                             errors={"reason": error.message}, values={"reason": reason})
    return redirect(f"/requests/{viewed.request.id}", request)


@router.get("/attachments/{attachment_id}", name="requests.attachment")
def download_attachment(
    attachment_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    # The same answer as for a file that does not exist: ids reveal nothing.
    get_request_for_viewer(attachment.request_id, session, user)
    path = locate(get_settings().attachments_dir, attachment.storage_path)
    if path is None:
        raise HTTPException(status_code=404, detail="This file is missing from storage.")
    # Served as a download, never inline: an uploaded HTML file must not run as Baton.
    # The name is cleaned again: rows of earlier releases may hold a path or controls.
    return FileResponse(
        path, media_type="application/octet-stream",
        headers={"Content-Disposition": content_disposition(attachment.filename)},
    )
