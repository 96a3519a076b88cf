"""Reports on typed answers, for managers: a service's requests filtered by its form's
fields (in the condition language of steps), by state, and by when they were submitted
and completed.

The inputs, by name (the page's form, its CSV link and any link from elsewhere):
`where` (the condition), `state` (repeated), `submitted_from`, `submitted_to`,
`completed_from`, `completed_to` (YYYY-MM-DD, inclusive UTC days; a completed range
keeps completed requests only), `sort`, and `page` for the page."""

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from sqlmodel import col, select

from app.format.definitions import ServiceDefinition
from app.reads.answer_report import ReportRow, all_report_rows, answer_report, columns_of
from app.reads.report_filters import (
    MAX_CONDITION_LENGTH,
    RANGES,
    STATES,
    TESTABLE_TYPES,
    ReportInvalid,
    ReportQuery,
    examples,
    read_query,
    sort_choices,
)
from app.reads.request_detail import AnswerLine
from app.rules.catalog import current_version, definition_of, get_service_by_slug
from app.rules.inputs import raw_limit
from app.storage.models import Service, utcnow
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


@dataclass
class ReportInputs:
    """The report's inputs as typed. Unbounded here: each is bounded by the function
    that reads it, which refuses a long one with a message next to its input."""

    where: str = ""
    state: list[str] | None = None
    submitted_from: str = ""
    submitted_to: str = ""
    completed_from: str = ""
    completed_to: str = ""
    sort: str = ""

    def typed(self) -> dict[str, Any]:
        """What was typed, to show in the form again, right or wrong (a filter cut to
        the most the box holds)."""
        return {**asdict(self), "where": self.where[:raw_limit(MAX_CONDITION_LENGTH)],
                "state": self.state or [], "sort": self.sort or "-submitted"}

    def link_params(self) -> list[tuple[str, str]]:
        """The inputs that say something, for the links to other pages and the CSV."""
        kept = [("where", self.where.strip()),
                *((name, getattr(self, name)) for name in RANGES),
                ("sort", self.sort if self.sort != "-submitted" else "")]
        return [(key, value) for key, value in kept if value] + [
            ("state", state) for state in dict.fromkeys(self.state or ())]


def report_inputs(
    where: str = "", state: Annotated[list[str] | None, Query()] = None,
    submitted_from: str = "", submitted_to: str = "", completed_from: str = "",
    completed_to: str = "", sort: str = "",
    # The names the submitted range had before `completed_*` came: links kept from then.
    old_from: Annotated[str, Query(alias="from", max_length=40)] = "",
    old_to: Annotated[str, Query(alias="to", max_length=40)] = "",
) -> ReportInputs:
    return ReportInputs(where, state, submitted_from or old_from, submitted_to or old_to,
                        completed_from, completed_to, sort)


Inputs = Annotated[ReportInputs, Depends(report_inputs)]


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
            request.created_at, request.closed_at if request.state == "completed" else None,
            *(answer_cell(line) for line in row.answers)]


def _read(definition: ServiceDefinition, inputs: ReportInputs, page: int = 1) -> ReportQuery:
    return read_query(definition, where=inputs.where, states=inputs.state,
                      submitted_from=inputs.submitted_from, submitted_to=inputs.submitted_to,
                      completed_from=inputs.completed_from, completed_to=inputs.completed_to,
                      sort=inputs.sort, page=page)


# Before /reports/{slug}, which would otherwise take "purchase.csv" for a slug.
@router.get("/reports/{slug}.csv", name="reports.csv")
def download_report(
    request: Request, session: SessionDep, user: ManagerUser, slug: str, inputs: Inputs,
) -> Response:
    """Every request the report's filters select, as the page's table, streamed."""
    service = _service(session, slug)
    definition = definition_of(current_version(session, service))
    try:
        query = _read(definition, inputs)
    except ReportInvalid:
        # Only a hand-made link gets here: the page offers the download for a good filter.
        return show_report(request, session, user, slug, inputs)

    def rows() -> Iterator[list[Any]]:
        for row in all_report_rows(session, service=service, definition=definition,
                                   query=query):
            yield report_cells(row)

    header = ["Request", "Title", "Requester", "State", "Submitted (UTC)", "Completed (UTC)",
              *(f.label for f in columns_of(definition, long_text=True))]
    return csv_response(rows(), header=header, name=f"report-{service.slug}")


def _service(session: SessionDep, slug: str) -> Service:
    service = get_service_by_slug(session, slug)
    if service is None:
        raise HTTPException(status_code=404, detail="There is no such service.")
    return service


@router.get("/reports/{slug}", name="reports.show")
def show_report(
    request: Request, session: SessionDep, user: ManagerUser, slug: str, inputs: Inputs,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    service = _service(session, slug)
    definition = definition_of(current_version(session, service))
    here = f"/reports/{service.slug}"
    context = {"service": service, "form": inputs.typed(), "states": STATES,
               "sort_choices": sort_choices(definition),
               "fields": [f for f in definition.fields if f.type in TESTABLE_TYPES],
               "examples": [(text, f"{here}?" + urlencode({"where": text}))
                            for text in examples(definition, today=utcnow().date())],
               "columns": columns_of(definition), "errors": {}, "report": None,
               "where_limit": raw_limit(MAX_CONDITION_LENGTH)}
    try:
        query = _read(definition, inputs, page)
    except ReportInvalid as invalid:
        context["errors"] = invalid.problems
        return render(request, "reports/report.html", context, status=422)
    report = answer_report(session, service=service, definition=definition, query=query)
    params = inputs.link_params()

    def page_url(number: int) -> str:
        return f"{here}?" + urlencode([*params, ("page", str(number))])

    context.update(report=report, page_url=page_url,
                   csv_url=f"{here}.csv" + (f"?{urlencode(params)}" if params else ""))
    return render(request, "reports/report.html", context)
