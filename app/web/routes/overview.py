"""The manager overview and the lists behind its numbers."""

import math
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import groupby
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.reads.overview import (
    StepLine,
    WorkCount,
    any_on_teams,
    has_step,
    oldest_first,
    open_work_by_step,
    open_work_by_team,
)
from app.reads.queues import TaskFilter, sort_named
from app.reads.saved_views import views_of
from app.reads.task_rows import list_tasks
from app.reads.teammates import teammates_of
from app.rules.catalog import current_version, definition_of, get_service_by_slug
from app.rules.inputs import parse_flag
from app.rules.saved_views import OVERVIEW_KEYS, OVERVIEW_PAGE, view_query
from app.rules.teams import get_team_by_slug
from app.storage.models import Service, User, utcnow
from app.web.age_query import AgeQuery, AtQuery, opened_within
from app.web.auth import ManagerUser, ViewerDep
from app.web.csv_export import csv_response
from app.web.render import is_htmx, render
from app.web.session import SessionDep
from app.web.task_csv import task_csv
from app.web.viewer import Viewer

router = APIRouter()


@dataclass(frozen=True)
class Heat:
    """How old a group's oldest task is, drawn as a bar: its length against the oldest
    of the page (on a log scale, so four hours still shows beside six weeks) and its
    colour by how long (under a day, under a week, longer)."""

    width: int  # percent
    level: str  # "fresh", "days" or "weeks"


def age_heat(oldest: datetime | None, *, now: datetime, longest: float) -> Heat:
    seconds = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    width = round(100 * math.log1p(seconds / 3600) / math.log1p(longest / 3600)) \
        if longest > 0 else 0
    level = "fresh" if seconds < 86400 else "days" if seconds < 7 * 86400 else "weeks"
    return Heat(max(width, 4) if seconds else 0, level)


@dataclass
class ServiceGroup:
    """A service's lines of the table by step: the service named once, above them."""

    service: Service
    lines: list[StepLine]


@router.get("/overview", name="overview.show")
def show_overview(request: Request, session: SessionDep, user: ManagerUser) -> Response:
    # One moment for both tables, so their overdue numbers agree with each other.
    now = utcnow()
    by_step = open_work_by_step(session, now=now)
    by_team = open_work_by_team(session, now=now)
    longest = max((max(0.0, (now - line.work.oldest_opened_at).total_seconds())
                   for line in by_team if line.work.oldest_opened_at), default=0.0)
    # by_step comes sorted by service: each service's lines are together.
    groups = [ServiceGroup(lines[0].service, lines) for lines in
              (list(group) for _, group in groupby(by_step, key=lambda line: line.service.id))]
    return render(request, "overview/overview.html", {
        "by_team": by_team, "groups": groups,
        "oldest": oldest_first(by_step),
        "open_total": sum(line.work.count for line in by_team),
        "unclaimed_total": sum(line.work.unclaimed for line in by_team),
        "overdue_total": sum(line.work.overdue for line in by_team),
        "heat": partial(age_heat, now=now, longest=longest),
    })


def _drill_down(
    session: Session, user: User, *, team: str | None, service: str | None, step: int | None,
    state: str, overdue: str, sort: str, age: str = "", at: str = "",
) -> tuple[TaskFilter, str, dict[str, Any]]:
    """The list behind a number of the overview or of insights, as its link asks for it:
    its filters, its title, and the parameters a link back to it carries (for the page
    and its CSV, so both hold the same tasks). An unknown team, service or step is not
    found; an age that is not one is a 400."""
    now = utcnow()
    within = opened_within(age, at, now=now)
    filters = TaskFilter(
        viewer_id=user.id,  # the approvals of their own requests (rule 7)
        state=state if state in ("open", "claimed") else None,
        overdue=parse_flag(overdue) or state == "overdue", now=now,
        sort=sort_named(sort),
        opened_after=within.after if within else None,
        opened_until=within.until if within else None,
    )
    title_parts = []
    if team:
        team_row = get_team_by_slug(session, team)
        if team_row is None:
            raise HTTPException(status_code=404, detail="There is no such team.")
        filters.team_ids = [team_row.id]  # type: ignore[list-item]
        title_parts.append(team_row.name)
    step_names: list[str] = []
    if service:
        service_row = get_service_by_slug(session, service)
        if service_row is None:
            raise HTTPException(status_code=404, detail="There is no such service.")
        filters.service_id = service_row.id
        title_parts.append(service_row.name)
        step_names = [s.name for s in definition_of(current_version(session, service_row)).steps]
    if step is not None:
        if not has_step(session, position=step, service_id=filters.service_id):
            raise HTTPException(status_code=404, detail="There is no such step.")
        filters.position = step
        if not service:
            title_parts.append(f"step {step + 1} of every service")
        elif step < len(step_names):
            title_parts.append(f"step {step + 1}: {step_names[step]}")
        else:
            title_parts.append(f"step {step + 1}")
    title = " · ".join(title_parts) or "All open work"
    if filters.overdue:
        title = f"{title} · overdue" if title_parts else "All overdue work"
    if within:
        title = f"{title} · {within.label}"
    params = {"team": team, "service": service, "step": step, "state": filters.state,
              "overdue": "1" if filters.overdue else None,
              "sort": "due" if filters.sort == "due" else None,
              **(within.params if within else {})}
    return filters, title, params


TeamQuery = Annotated[str | None, Query(max_length=60)]
ServiceQuery = Annotated[str | None, Query(max_length=80)]
StepQuery = Annotated[int | None, Query(ge=0, le=1000)]
FlagQuery = Annotated[str, Query(max_length=10)]


@router.get("/overview/tasks", name="overview.tasks")
def show_overview_tasks(
    request: Request, session: SessionDep, user: ManagerUser, viewer: ViewerDep,
    team: TeamQuery = None, service: ServiceQuery = None, step: StepQuery = None,
    state: str = "", overdue: FlagQuery = "", sort: FlagQuery = "",
    after: Annotated[str | None, Query(max_length=100)] = None,
    age: AgeQuery = "", at: AtQuery = "",
) -> Response:
    """Who has each task behind a number, and for how long."""
    context = overview_tasks_context(session, user, viewer, team=team, service=service,
                                     step=step, state=state, overdue=overdue, sort=sort,
                                     age=age, at=at, after=after)
    return render(request, "overview/tasks.html", context,
                  block="more_rows" if is_htmx(request) and after else None)


def overview_tasks_context(
    session: Session, user: User, viewer: Viewer, *, team: str | None, service: str | None,
    step: int | None, state: str, overdue: str, sort: str, age: str = "", at: str = "",
    after: str | None = None,
) -> dict[str, Any]:
    """What overview/tasks.html shows: for its page, and for the page a refused saved
    view's form re-renders (app.web.routes.saved_views)."""
    filters, title, params = _drill_down(session, user, team=team, service=service,
                                         step=step, state=state, overdue=overdue, sort=sort,
                                         age=age, at=at)
    page = list_tasks(session, filters=filters, after=after)
    acts = any_on_teams(session, filters=filters, team_ids=viewer.team_ids)
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    saved = {k: str(v) for k, v in params.items() if k in OVERVIEW_KEYS and v not in (None, "")}
    return {
        # The manager's saved views as tabs, the filters a new one would keep.
        "views": views_of(session, user_id=user.id, page=OVERVIEW_PAGE),
        "view_filters": saved, "view_current": view_query(saved, OVERVIEW_KEYS),
        "page": page, "title": title,
        "params": params, "now": filters.now,
        "more_url": "/overview/tasks?" + query + "&",
        "results_url": "/overview/tasks" + (f"?{query}" if query else ""),
        "csv_url": "/overview/tasks.csv" + (f"?{query}" if query else ""),
        # A manager on a team acts on its rows here too: the "Hand to" suggestions. A
        # list of none of their teams' tasks has no Actions column (on every page of it).
        "view": "overview", "teammates": teammates_of(session, set(viewer.team_ids)),
        "actions_column": acts,
    }


@router.get("/overview/tasks.csv", name="overview.tasks_csv")
def export_overview_tasks(
    session: SessionDep, user: ManagerUser,
    team: TeamQuery = None, service: ServiceQuery = None, step: StepQuery = None,
    state: str = "", overdue: FlagQuery = "", sort: FlagQuery = "",
    age: AgeQuery = "", at: AtQuery = "",
) -> Response:
    """The list behind a number as CSV: the tasks its page shows, all its pages."""
    filters, _title, params = _drill_down(session, user, team=team, service=service,
                                          step=step, state=state, overdue=overdue, sort=sort,
                                          age=age, at=at)
    name = "-".join(["open-work", *(str(v) for k, v in params.items()
                                    if k in ("team", "service") and v)])
    return task_csv(session, filters=filters, name=name)


_WORK_HEADER = ["Open tasks", "Unclaimed", "Claimed", "Overdue", "Oldest opened (UTC)"]


def _work_cells(work: WorkCount) -> list[Any]:
    return [work.count, work.unclaimed, work.claimed, work.overdue, work.oldest_opened_at]


@router.get("/overview/teams.csv", name="overview.teams_csv")
def export_open_work_by_team(session: SessionDep, user: ManagerUser) -> Response:
    """The overview's table by team (a row a team: a few hundred at most)."""
    lines = open_work_by_team(session)
    return csv_response(([line.team.name, *_work_cells(line.work)] for line in lines),
                        header=["Team", *_WORK_HEADER], name="open-work-by-team")


@router.get("/overview/steps.csv", name="overview.steps_csv")
def export_open_work_by_step(session: SessionDep, user: ManagerUser) -> Response:
    """The overview's table by service and step."""
    lines = open_work_by_step(session)
    return csv_response(
        ([line.service.name, line.position + 1, line.step_name, *_work_cells(line.work)]
         for line in lines),
        header=["Service", "Step", "Step name", *_WORK_HEADER], name="open-work-by-step")
