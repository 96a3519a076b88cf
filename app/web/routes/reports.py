"""Reports on typed answers, for managers: a service's requests filtered by its form's
fields (in the condition language of steps), by state and by the submitted date."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from sqlmodel import col, select

from app.reads.answer_report import (
    MAX_CONDITION_LENGTH,
    STATES,
    ReportInvalid,
    answer_report,
    columns_of,
    read_query,
    sort_choices,
)
from app.rules.catalog import current_version, definition_of, get_service_by_slug
from app.rules.inputs import raw_limit
from app.storage.models import Service
from app.web.auth import ManagerUser
from app.web.render import render
from app.web.session import SessionDep

router = APIRouter()

MAX_PAGE = 100_000


@router.get("/reports", name="reports.index")
def list_reports(request: Request, session: SessionDep, user: ManagerUser) -> Response:
    services = list(session.exec(select(Service).order_by(col(Service.category),
                                                          col(Service.name))))
    return render(request, "reports/index.html", {"services": services})


@router.get("/reports/{slug}", name="reports.show")
def show_report(
    request: Request, session: SessionDep, user: ManagerUser, slug: str,
    where: Annotated[str, Query(max_length=raw_limit(MAX_CONDITION_LENGTH))] = "",
    state: Annotated[list[str] | None, Query()] = None,
    submitted_from: Annotated[str, Query(alias="from", max_length=40)] = "",
    submitted_to: Annotated[str, Query(alias="to", max_length=40)] = "",
    sort: Annotated[str, Query(max_length=80)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    service = get_service_by_slug(session, slug)
    if service is None:
        raise HTTPException(status_code=404, detail="There is no such service.")
    definition = definition_of(current_version(session, service))
    # What was typed comes back in the form as it was, right or wrong.
    form = {"where": where, "state": state or [], "from": submitted_from,
            "to": submitted_to, "sort": sort or "-submitted"}
    context = {"service": service, "form": form, "states": STATES,
               "sort_choices": sort_choices(definition), "fields": definition.fields,
               "columns": columns_of(definition), "errors": {}, "report": None,
               "where_limit": raw_limit(MAX_CONDITION_LENGTH)}
    try:
        query = read_query(definition, where=where, states=state, submitted_from=submitted_from,
                           submitted_to=submitted_to, sort=sort, page=page)
    except ReportInvalid as invalid:
        context["errors"] = invalid.problems
        return render(request, "reports/report.html", context, status=422)
    report = answer_report(session, service=service, definition=definition, query=query)
    params = [(key, value) for key, value in (
        ("where", where.strip()), ("from", submitted_from), ("to", submitted_to),
        ("sort", sort if sort and sort != "-submitted" else ""),
    ) if value] + [("state", s) for s in query.states]

    def page_url(number: int) -> str:
        return f"/reports/{service.slug}?" + urlencode([*params, ("page", str(number))])

    context.update(report=report, page_url=page_url)
    return render(request, "reports/report.html", context)
