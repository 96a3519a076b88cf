"""Search across requests: the navigation's search box lands here. A request number goes
straight to the request (or to the same "not found" whether it does not exist or is not
the viewer's to see); words list the requests the viewer may see that hold them."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.reads.search import (
    MAX_QUERY_LENGTH,
    SearchFilters,
    number_in,
    request_by_number,
    search_requests,
    words_of,
)
from app.rules.catalog import active_services
from app.rules.inputs import InputInvalid, parse_date
from app.storage.models import MAX_ID, RequestState
from app.web.access import NOT_FOUND
from app.web.auth import CurrentUser, ViewerDep
from app.web.render import is_htmx, redirect, render
from app.web.routes.queues import ServiceFilter
from app.web.session import SessionDep

router = APIRouter()

STATES = tuple(state.value for state in RequestState)
ShortText = Annotated[str, Query(max_length=40)]


@router.get("/search", name="search.show")
def search(
    request: Request, session: SessionDep, user: CurrentUser, viewer: ViewerDep,
    q: str = "", state: ShortText = "", service: ServiceFilter = None,
    filed_from: ShortText = "", filed_until: ShortText = "",
    before: Annotated[int | None, Query(ge=1, le=MAX_ID + 1)] = None,
    words: ShortText = "",
) -> Response:
    problem, status = "", 200
    number = None if words else number_in(q)
    if number is not None:
        found = request_by_number(session, user=user, number=number)
        if found is not None:
            return redirect(f"/requests/{found.id}", request)
        problem, status = NOT_FOUND, 404
    filters = SearchFilters(state=state if state in STATES else None, service_id=service)
    try:
        filters = SearchFilters(state=filters.state, service_id=service,
                                filed_from=parse_date(filed_from),
                                filed_until=parse_date(filed_until))
    except InputInvalid as invalid:
        problem, status = str(invalid), 422
    dates_problem = filters.dates_problem() or ""
    if dates_problem:
        problem, status = dates_problem, 422
    if len(q) > MAX_QUERY_LENGTH:
        problem, status = (f"Use at most {MAX_QUERY_LENGTH} characters "
                           f"(this has {len(q)}).", 422)
    searched = words_of(q) if status == 200 else []
    page = search_requests(session, user=user, team_ids=viewer.team_ids, words=searched,
                           filters=filters, before=before)
    kept = {"q": q[:MAX_QUERY_LENGTH], "state": filters.state, "service": service,
            "filed_from": filed_from, "filed_until": filed_until}
    kept_query = urlencode({key: value for key, value in kept.items() if value})
    context = {
        "q": q[:MAX_QUERY_LENGTH], "searched": searched, "filters": filters,
        "filed_from": filed_from, "filed_until": filed_until, "page": page,
        "problem": problem, "number": number, "states": STATES,
        "services": active_services(session), "kept_query": kept_query,
        "dates_problem": dates_problem, "oob": is_htmx(request),
    }
    block = None
    if is_htmx(request):
        block = "more_results" if before else "results"
    return render(request, "search/search.html", context, block=block, status=status)
