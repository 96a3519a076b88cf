"""Insights for managers: every service's flow over a window, and one service's steps,
its bottleneck and its teams, with charts drawn on the server (app.web.charts)."""

from datetime import date
from math import ceil
from typing import Annotated, Any
from urllib.parse import urlencode

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
    window_of,
)
from app.rules.catalog import get_service_by_slug
from app.rules.inputs import InputInvalid
from app.storage.models import utcnow
from app.web.auth import ManagerUser
from app.web.charts import Chart, grouped_columns, stacked_rows
from app.web.render import render
from app.web.session import SessionDep

router = APIRouter()

Weeks = Annotated[str, Query(max_length=10)]
Day = Annotated[str, Query(max_length=40)]


def duration(seconds: float | None) -> str:
    """A duration in words short enough for a table cell: 40 s, 12 min, 5 h, 3 d 4 h."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours} h {minutes} min" if minutes and hours < 10 else f"{hours} h"
    days, hours = divmod(seconds // 3600, 24)
    return f"{days} d {hours} h" if hours and days < 14 else f"{days} d"


def _window(weeks: str, start: str, end: str) -> tuple[Window | None, str]:
    try:
        return window_of(weeks=weeks, start=start, end=end, today=utcnow().date()), ""
    except InputInvalid as invalid:
        return None, str(invalid)


def _form(weeks: str, start: str, end: str) -> dict[str, str]:
    return {"weeks": weeks if not (start or end) else "", "from": start, "to": end}


def _query(form: dict[str, str]) -> str:
    return urlencode({key: value for key, value in form.items() if value})


def _week_label(week: date) -> str:
    return f"{week.day} {week.strftime('%b')}"


def throughput_chart(figures: ServiceFigures) -> Chart:
    weeks = figures.weeks
    return grouped_columns(
        f"Requests submitted and completed each week, {figures.service.name}",
        [(_week_label(flow.week), [
            (flow.submitted, "series-submitted",
             f"Week of {flow.week.isoformat()}: {flow.submitted} submitted"),
            (flow.completed, "series-completed",
             f"Week of {flow.week.isoformat()}: {flow.completed} completed"),
        ]) for flow in weeks],
        every=max(1, ceil(len(weeks) / 4)))


def split_chart(figures: ServiceFigures) -> Chart:
    steps = figures.steps
    return stacked_rows(
        f"Mean time waiting and worked per step, {figures.service.name}",
        [(f"{step.position + 1}. {step.name}", [
            (step.mean_waited, "series-waited",
             f"{step.name}: waited {duration(step.mean_waited)} on average"),
            (step.mean_worked, "series-worked",
             f"{step.name}: worked {duration(step.mean_worked)} on average"),
        ]) for step in steps],
        scale_label="mean time per task")


def age_chart(flows: list[TeamFlow], age_labels: list[str]) -> Chart:
    totals = [sum(flow.ages[n] for flow in flows) for n in range(len(AGE_BUCKETS))]
    return grouped_columns(
        "Open tasks by how long they have been open",
        [(label, [(count, "series-age", f"{label}: {count} open tasks")])
         for label, count in zip(age_labels, totals, strict=True)])


AGE_LABELS = [f"{low}–{high} d" if high else f"{low}+ d" for low, high in AGE_BUCKETS]


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
    form = _form(weeks, start, end)
    window, problem = _window(weeks, start, end)
    if window is None:
        return _page(request, {"form": form, "problem": problem, "service": None},
                     status=400)
    flows = team_flows(session, window=window, now=utcnow())
    return _page(request, {
        "form": form, "query": _query(form), "window": window, "service": None,
        "lines": service_lines(session, window=window), "flows": flows,
        "age_chart": age_chart(flows, AGE_LABELS),
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
    form = _form(weeks, start, end)
    window, problem = _window(weeks, start, end)
    if window is None:
        return _page(request, {"form": form, "problem": problem, "service": service},
                     status=400)
    figures = service_figures(session, service=service, window=window)
    flows = team_flows(session, window=window, now=utcnow(), service_id=service.id)
    return _page(request, {
        "form": form, "query": _query(form), "window": window, "service": service,
        "figures": figures, "flows": flows,
        "throughput_chart": throughput_chart(figures),
        "split_chart": split_chart(figures),
        "age_chart": age_chart(flows, AGE_LABELS),
    })
