"""Insights for managers: every service's flow over a window, and one service's steps,
its bottleneck and its teams, with charts drawn on the server (app.web.charts)."""

from datetime import date, datetime
from math import ceil
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from app.reads.insights import (
    AGE_BUCKETS,
    WINDOW_WEEKS,
    ServiceFigures,
    TeamFlow,
    Window,
    service_figures,
    service_lines,
    team_flows,
)
from app.rules.catalog import get_service_by_slug
from app.storage.models import Service
from app.web.age_query import AGE_LABELS, counted_at
from app.web.auth import ManagerUser
from app.web.charts import Chart, grouped_columns, stacked_rows
from app.web.render import render
from app.web.routes import insights_csv, insights_lists
from app.web.routes.insights_common import (
    dates_of,
    duration,
    form_of,
    link,
    query_of,
    week_dates,
    window_or_problem,
)
from app.web.routes.insights_csv import now_whole
from app.web.session import SessionDep

router = APIRouter()
# First: their paths (/insights/tasks, /insights/services.csv) would otherwise be taken
# for a service's slug by /insights/{slug}.
router.include_router(insights_lists.router)
router.include_router(insights_csv.router)

Weeks = Annotated[str, Query(max_length=10)]
Day = Annotated[str, Query(max_length=40)]


class Links:
    """The addresses of the lists behind a page's numbers, for its window: each number
    and each bar drills to the requests or tasks it counts."""

    def __init__(self, window: Window, now: datetime, service: Service | None):
        self.window, self.at, self.service = window, counted_at(now), service
        self.dates = dates_of(window)

    def open_tasks(self, team: str | None = None, age: int | None = None,
                   step: int | None = None) -> str:
        """The open tasks counted: of a team (of the service) opened within an age bucket
        at the moment the page counted them."""
        return link("/overview/tasks", team=team,
                    service=self.service.slug if self.service else None, step=step,
                    age=age, at=self.at if age is not None else None)

    def finished(self, *, step: int | None = None, team: str | None = None,
                 week: date | None = None) -> str:
        dates = week_dates(week) if week is not None else self.dates
        path = f"/insights/{self.service.slug}/tasks" if self.service else "/insights/tasks"
        return link(path, step=step, team=team, **dates)

    def submitted(self, slug: str, week: date | None = None) -> str:
        """The typed-answer report (app/web/routes/reports.py), which filters by the days
        a request was submitted, inclusive, in UTC: the days of the counted weeks."""
        dates = week_dates(week) if week else self.dates
        return link(f"/reports/{slug}", submitted_from=dates["from"],
                    submitted_to=dates["to"])

    def completed(self, slug: str, week: date | None = None) -> str:
        return link(f"/insights/{slug}/completed",
                    **(week_dates(week) if week else self.dates))

    def csv(self, table: str) -> str:
        path = f"/insights/{self.service.slug}" if self.service else "/insights"
        return link(f"{path}/{table}.csv", **self.dates)


def _week_label(week: date) -> str:
    return f"{week.day} {week.strftime('%b')}"


def throughput_chart(figures: ServiceFigures, links: Links) -> Chart:
    weeks = figures.weeks
    slug = figures.service.slug
    return grouped_columns(
        f"Requests submitted and completed each week, {figures.service.name}",
        [(_week_label(flow.week), [
            (flow.submitted, "series-submitted",
             f"Week of {flow.week.isoformat()}: {flow.submitted} submitted",
             links.submitted(slug, flow.week)),
            (flow.completed, "series-completed",
             f"Week of {flow.week.isoformat()}: {flow.completed} completed",
             links.completed(slug, flow.week)),
        ]) for flow in weeks],
        every=max(1, ceil(len(weeks) / 4)))


def split_chart(figures: ServiceFigures, links: Links) -> Chart:
    steps = figures.steps
    return stacked_rows(
        f"Mean time waiting and worked per step, {figures.service.name}",
        [(f"{step.position + 1}. {step.name}", [
            (step.mean_waited, "series-waited",
             f"{step.name}: waited {duration(step.mean_waited)} on average, "
             f"{step.finished} tasks", links.finished(step=step.position)),
            (step.mean_worked, "series-worked",
             f"{step.name}: worked {duration(step.mean_worked)} on average, "
             f"{step.finished} tasks", links.finished(step=step.position)),
        ]) for step in steps],
        scale_label="mean time per task")


def age_chart(flows: list[TeamFlow], age_labels: list[str], links: Links) -> Chart:
    totals = [sum(flow.ages[n] for flow in flows) for n in range(len(AGE_BUCKETS))]
    return grouped_columns(
        "Open tasks by how long they have been open",
        [(label, [(count, "series-age", f"{label}: {count} open tasks",
                   links.open_tasks(age=n))])
         for n, (label, count) in enumerate(zip(age_labels, totals, strict=True))])


def _page(request: Request, context: dict[str, Any], *, status: int = 200) -> Response:
    return render(request, "insights/insights.html", {
        "window_weeks": WINDOW_WEEKS, "age_labels": AGE_LABELS, "duration": duration,
        **context}, status=status)


@router.get("/insights", name="insights.show")
def show_insights(
    request: Request, session: SessionDep, user: ManagerUser,
    weeks: Weeks = "", start: Annotated[str, Query(alias="from", max_length=40)] = "",
    end: Annotated[str, Query(alias="to", max_length=40)] = "",
) -> Response:
    form = form_of(weeks, start, end)
    window, problem = window_or_problem(weeks, start, end)
    if window is None:
        return _page(request, {"form": form, "problem": problem, "service": None},
                     status=400)
    # Ages counted at a whole second, the moment the links carry, so each list behind an
    # age holds exactly the tasks its number counted.
    now = now_whole()
    links = Links(window, now, None)
    flows = team_flows(session, window=window, now=now)
    return _page(request, {
        "form": form, "query": query_of(form), "window": window, "service": None,
        "lines": service_lines(session, window=window), "flows": flows, "links": links,
        "age_chart": age_chart(flows, AGE_LABELS, links),
    })


@router.get("/insights/{slug}", name="insights.service")
def show_service_insights(
    request: Request, session: SessionDep, user: ManagerUser, slug: str,
    weeks: Weeks = "", start: Annotated[str, Query(alias="from", max_length=40)] = "",
    end: Annotated[str, Query(alias="to", max_length=40)] = "",
) -> Response:
    service = get_service_by_slug(session, slug[:80])
    if service is None:
        raise HTTPException(status_code=404, detail="There is no such service.")
    form = form_of(weeks, start, end)
    window, problem = window_or_problem(weeks, start, end)
    if window is None:
        return _page(request, {"form": form, "problem": problem, "service": service},
                     status=400)
    now = now_whole()
    links = Links(window, now, service)
    figures = service_figures(session, service=service, window=window)
    flows = team_flows(session, window=window, now=now, service_id=service.id)
    return _page(request, {
        "form": form, "query": query_of(form), "window": window, "service": service,
        "figures": figures, "flows": flows, "links": links,
        "throughput_chart": throughput_chart(figures, links),
        "split_chart": split_chart(figures, links),
        "age_chart": age_chart(flows, AGE_LABELS, links),
    })
