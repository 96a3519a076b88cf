"""The lists behind the insights' numbers, for managers: the tasks of a step or a team
finished in a window (app.reads.finished_tasks) and a service's requests completed in it
(app.reads.completed_requests), a page of 50 at a time, each with its CSV (every row,
streamed)."""

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.reads.completed_requests import all_completed_requests, completed_requests
from app.reads.finished_tasks import (
    FinishedFilter,
    finished_task_lines,
    finished_tasks,
    sort_named,
)
from app.reads.insights import Window
from app.reads.overview import has_step
from app.rules.catalog import current_version, definition_of
from app.rules.teams import get_team_by_slug
from app.web.auth import ManagerUser
from app.web.csv_export import csv_lines_response, csv_response
from app.web.render import render
from app.web.routes.insights_common import (
    From,
    To,
    Weeks,
    dates_of,
    duration,
    link,
    service_or_404,
    window_or_400,
)
from app.web.session import SessionDep
from app.web.task_csv import FINISHED_HEADER, finished_csv_lines

router = APIRouter()

TeamQuery = Annotated[str, Query(max_length=60)]
StepQuery = Annotated[int | None, Query(ge=0, le=1000)]
SortQuery = Annotated[str, Query(max_length=10)]
AfterQuery = Annotated[str | None, Query(max_length=100)]

def _finished_filter(
    session: Session, *, slug: str | None, team: str, step: int | None, window: Window,
    sort: str,
) -> tuple[FinishedFilter, str]:
    """What the list holds, as its link asks, and its title. An unknown service, team or
    step is not found; a team's list of every service needs the team."""
    parts: list[str] = []
    service = service_or_404(session, slug) if slug is not None else None
    team_row = None
    if team:
        team_row = get_team_by_slug(session, team)
        if team_row is None:
            raise HTTPException(status_code=404, detail="There is no such team.")
    if service is None and team_row is None:
        raise HTTPException(status_code=404, detail="Choose a team.")
    if service is not None:
        parts.append(service.name)
        if step is not None:
            if not has_step(session, position=step, service_id=service.id):
                raise HTTPException(status_code=404, detail="There is no such step.")
            names = ([s.name for s in definition_of(current_version(session, service)).steps]
                     if service.current_version_id is not None else [])
            parts.append(f"step {step + 1}: {names[step]}" if step < len(names)
                         else f"step {step + 1}")
    elif step is not None:
        raise HTTPException(status_code=404, detail="A step belongs to a service.")
    if team_row is not None:
        parts.append(team_row.name)
    filters = FinishedFilter(window=window, service_id=service.id if service else None,
                             position=step, team_id=team_row.id if team_row else None,
                             sort=sort_named(sort))
    return filters, " · ".join(parts)


def _finished_page(request: Request, session: Session, *, slug: str | None, team: str,
                   step: int | None, weeks: str, start: str, end: str, sort: str,
                   after: str | None) -> Response:
    window = window_or_400(weeks, start, end)
    filters, title = _finished_filter(session, slug=slug, team=team, step=step,
                                      window=window, sort=sort)
    page = finished_tasks(session, filters=filters, after=after)
    path = f"/insights/{slug}/tasks" if slug is not None else "/insights/tasks"
    params = {"step": step, "team": team, **dates_of(window)}
    sorted_by = {"sort": "latest" if filters.sort == "latest" else None}
    return render(request, "insights/tasks.html", {
        "title": title, "window": window, "page": page, "sort": filters.sort,
        "duration": duration, "slug": slug,
        "back_url": link(f"/insights/{slug}" if slug else "/insights", **dates_of(window)),
        "sort_urls": {"slowest": link(path, **params),
                      "latest": link(path, **params, sort="latest")},
        "next_url": link(path, **params, **sorted_by, after=page.next_cursor)
        if page.next_cursor else None,
        "csv_url": link(path + ".csv", **params, **sorted_by),
    })


def _finished_csv(session: Session, *, slug: str | None, team: str, step: int | None,
                  weeks: str, start: str, end: str, sort: str) -> Response:
    window = window_or_400(weeks, start, end)
    filters, _title = _finished_filter(session, slug=slug, team=team, step=step,
                                       window=window, sort=sort)

    name = "-".join(["finished-tasks", *(part for part in (slug, team) if part),
                     *([f"step-{step + 1}"] if step is not None else [])])
    return csv_lines_response(finished_csv_lines(finished_task_lines(session, filters=filters)),
                              header=FINISHED_HEADER, name=name)


# Before /insights/{slug}: "tasks" is not a service's slug here.
@router.get("/insights/tasks.csv", name="insights.team_tasks_csv")
def export_team_finished_tasks(
    session: SessionDep, user: ManagerUser, team: TeamQuery = "", weeks: Weeks = "",
    start: From = "", end: To = "", sort: SortQuery = "",
) -> Response:
    return _finished_csv(session, slug=None, team=team, step=None, weeks=weeks,
                         start=start, end=end, sort=sort)


@router.get("/insights/tasks", name="insights.team_tasks")
def show_team_finished_tasks(
    request: Request, session: SessionDep, user: ManagerUser, team: TeamQuery = "",
    weeks: Weeks = "", start: From = "", end: To = "", sort: SortQuery = "",
    after: AfterQuery = None,
) -> Response:
    """A team's tasks finished in the window, of every service."""
    return _finished_page(request, session, slug=None, team=team, step=None, weeks=weeks,
                          start=start, end=end, sort=sort, after=after)


@router.get("/insights/{slug}/tasks.csv", name="insights.tasks_csv")
def export_finished_tasks(
    session: SessionDep, user: ManagerUser, slug: str, step: StepQuery = None,
    team: TeamQuery = "", weeks: Weeks = "", start: From = "", end: To = "",
    sort: SortQuery = "",
) -> Response:
    return _finished_csv(session, slug=slug, team=team, step=step, weeks=weeks,
                         start=start, end=end, sort=sort)


@router.get("/insights/{slug}/tasks", name="insights.tasks")
def show_finished_tasks(
    request: Request, session: SessionDep, user: ManagerUser, slug: str,
    step: StepQuery = None, team: TeamQuery = "", weeks: Weeks = "", start: From = "",
    end: To = "", sort: SortQuery = "", after: AfterQuery = None,
) -> Response:
    """A service's tasks (of a step, of a team) finished in the window."""
    return _finished_page(request, session, slug=slug, team=team, step=step, weeks=weeks,
                          start=start, end=end, sort=sort, after=after)


COMPLETED_HEADER = ["Request", "Title", "Requester", "State", "Submitted (UTC)",
                    "Completed (UTC)", "Lead time (s)", "Lead time"]


@router.get("/insights/{slug}/completed.csv", name="insights.completed_csv")
def export_completed_requests(
    session: SessionDep, user: ManagerUser, slug: str, weeks: Weeks = "", start: From = "",
    end: To = "", sort: SortQuery = "",
) -> Response:
    service = service_or_404(session, slug)
    window = window_or_400(weeks, start, end)

    def rows() -> Iterator[list[Any]]:
        for line in all_completed_requests(session, service_id=service.id,  # type: ignore[arg-type]
                                           window=window, sort=sort):
            yield [line.number, line.title, line.requester_name, line.state,
                   line.submitted_at, line.completed_at, line.lead_seconds,
                   duration(line.lead_seconds)]

    return csv_response(rows(), header=COMPLETED_HEADER, name=f"completed-{service.slug}")


@router.get("/insights/{slug}/completed", name="insights.completed")
def show_completed_requests(
    request: Request, session: SessionDep, user: ManagerUser, slug: str, weeks: Weeks = "",
    start: From = "", end: To = "", sort: SortQuery = "", after: AfterQuery = None,
) -> Response:
    """A service's requests completed in the window, slowest first."""
    service = service_or_404(session, slug)
    window = window_or_400(weeks, start, end)
    page = completed_requests(session, service_id=service.id,  # type: ignore[arg-type]
                              window=window, sort=sort, after=after)
    sort = sort_named(sort)
    path = f"/insights/{slug}/completed"
    params = dates_of(window)
    sorted_by = {"sort": "latest" if sort == "latest" else None}
    return render(request, "insights/completed.html", {
        "service": service, "window": window, "page": page, "sort": sort,
        "duration": duration,
        "back_url": link(f"/insights/{slug}", **params),
        "sort_urls": {"slowest": link(path, **params),
                      "latest": link(path, **params, sort="latest")},
        "next_url": link(path, **params, **sorted_by, after=page.next_cursor)
        if page.next_cursor else None,
        "csv_url": link(path + ".csv", **params, **sorted_by),
    })
