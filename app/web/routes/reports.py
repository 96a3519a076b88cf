"""Reports on typed answers, for managers: a service's requests filtered by its form's
fields (in the condition language of steps), by state and by the submitted date."""

from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from sqlmodel import col, select

from app.reads.answer_report import (
    MAX_CONDITION_LENGTH,
    STATES,
    TESTABLE_TYPES,
    ReportInvalid,
    ReportRow,
    all_report_rows,
    answer_report,
    columns_of,
    read_query,
    sort_choices,
)
from app.reads.request_detail import AnswerLine
from app.rules.catalog import current_version, definition_of, get_service_by_slug
from app.rules.inputs import raw_limit
from app.storage.models import Service
from app.web.auth import ManagerUser
from app.web.csv_export import csv_response
from app.web.render import render
from app.web.session import SessionDep

router = APIRouter()

MAX_PAGE = 100_000


@router.get("/reports", name="reports.index")
def list_reports(request: Request, session: SessionDep, user: ManagerUser) -> Response:
    services = list(session.exec(select(Service).order_by(col(Service.category),
                                                          col(Service.name))))
    return render(request, "reports/index.html", {"services": services})


Where = Annotated[str, Query(max_length=raw_limit(MAX_CONDITION_LENGTH))]
States = Annotated[list[str] | None, Query()]
From = Annotated[str, Query(alias="from", max_length=40)]
To = Annotated[str, Query(alias="to", max_length=40)]
SortText = Annotated[str, Query(max_length=80)]


def answer_cell(line: AnswerLine) -> Any:
    """An answer as the request page words it (app/templates/_macros.html `answer`)."""
    value = line.value
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):  # a person
        return f"{value.get('name')} <{value.get('email')}>"
    return value


def report_cells(row: ReportRow) -> list[Any]:
    request = row.request
    return [request.number, request.title, row.requester_name, request.state,
            request.created_at, *(answer_cell(line) for line in row.answers)]


# Before /reports/{slug}, which would otherwise take "purchase.csv" for a slug.
@router.get("/reports/{slug}.csv", name="reports.csv")
def download_report(
    request: Request, session: SessionDep, user: ManagerUser, slug: str,
    where: Where = "", state: States = None, submitted_from: From = "",
    submitted_to: To = "", sort: SortText = "",
) -> Response:
    """Every request the report's filters select, as the page's table, streamed."""
    service = _service(session, slug)
    definition = definition_of(current_version(session, service))
    try:
        query = read_query(definition, where=where, states=state, submitted_from=submitted_from,
                           submitted_to=submitted_to, sort=sort)
    except ReportInvalid:
        # Only a hand-made link gets here: the page offers the download for a good filter.
        return show_report(request, session, user, slug, where, state, submitted_from,
                           submitted_to, sort)

    def rows() -> Iterator[list[Any]]:
        for row in all_report_rows(session, service=service, definition=definition,
                                   query=query):
            yield report_cells(row)

    header = ["Request", "Title", "Requester", "State", "Submitted (UTC)",
              *(f.label for f in columns_of(definition, long_text=True))]
    return csv_response(rows(), header=header, name=f"report-{service.slug}")


def _service(session: SessionDep, slug: str) -> Service:
    service = get_service_by_slug(session, slug)
    if service is None:
        raise HTTPException(status_code=404, detail="There is no such service.")
    return service


@router.get("/reports/{slug}", name="reports.show")
def show_report(
    request: Request, session: SessionDep, user: ManagerUser, slug: str,
    where: Where = "", state: States = None, submitted_from: From = "",
    submitted_to: To = "", sort: SortText = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    service = _service(session, slug)
    definition = definition_of(current_version(session, service))
    # What was typed comes back in the form as it was, right or wrong.
    form = {"where": where, "state": state or [], "from": submitted_from,
            "to": submitted_to, "sort": sort or "-submitted"}
    context = {"service": service, "form": form, "states": STATES,
               "sort_choices": sort_choices(definition),
               "fields": [f for f in definition.fields if f.type in TESTABLE_TYPES],
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

    context.update(report=report, page_url=page_url,
                   csv_url=f"/reports/{service.slug}.csv?" + urlencode(params))
    return render(request, "reports/report.html", context)
