"""Each insights table as a CSV, for managers: the numbers the page shows for the same
window, exact (durations in seconds, with the page's words beside them). Each is a few
hundred rows at most (services, steps, weeks, teams), streamed like every download."""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from app.reads.insights import (
    TeamFlow,
    Window,
    service_figures,
    service_lines,
    team_flows,
)
from app.storage.models import utcnow
from app.web.age_query import AGE_LABELS
from app.web.auth import ManagerUser
from app.web.csv_export import csv_response
from app.web.routes.insights_common import (
    From,
    To,
    Weeks,
    duration,
    service_or_404,
    window_or_400,
)
from app.web.session import SessionDep

router = APIRouter()


def _name(window: Window, *parts: str) -> str:
    return "-".join(["insights", *parts, window.start.isoformat(), "to",
                     window.last_day.isoformat()])


def now_whole() -> datetime:
    """The moment open work is counted at, to the second, as drill-down links carry it."""
    return utcnow().replace(microsecond=0)


@router.get("/insights/services.csv", name="insights.services_csv")
def export_services(session: SessionDep, user: ManagerUser, weeks: Weeks = "",
                    start: From = "", end: To = "") -> Response:
    window = window_or_400(weeks, start, end)
    lines = service_lines(session, window=window)
    return csv_response(
        ([line.service.name, line.service.slug, line.submitted, line.completed]
         for line in lines),
        header=["Service", "Slug", "Submitted", "Completed"], name=_name(window, "services"))


def _teams_csv(flows: list[TeamFlow], window: Window, counted_at: datetime,
               *parts: str) -> Response:
    def rows() -> Iterator[list[Any]]:
        for flow in flows:
            yield [flow.team.name, *flow.ages, round(flow.per_week, 2), flow.total,
                   counted_at]

    header = ["Team", *(f"Open {label}" for label in AGE_LABELS), "Finished a week",
              "Finished in window", "Open work counted at (UTC)"]
    return csv_response(rows(), header=header, name=_name(window, *parts, "teams"))


def _team_weeks_csv(flows: list[TeamFlow], window: Window, *parts: str) -> Response:
    def rows() -> Iterator[list[Any]]:
        for n, week in enumerate(window.weeks):
            yield [week, *(flow.finished[n] for flow in flows)]

    return csv_response(rows(), header=["Week of", *(flow.team.name for flow in flows)],
                        name=_name(window, *parts, "team-weeks"))


@router.get("/insights/teams.csv", name="insights.teams_csv")
def export_teams(session: SessionDep, user: ManagerUser, weeks: Weeks = "",
                 start: From = "", end: To = "") -> Response:
    window = window_or_400(weeks, start, end)
    now = now_whole()
    return _teams_csv(team_flows(session, window=window, now=now), window, now)


@router.get("/insights/team-weeks.csv", name="insights.team_weeks_csv")
def export_team_weeks(session: SessionDep, user: ManagerUser, weeks: Weeks = "",
                      start: From = "", end: To = "") -> Response:
    window = window_or_400(weeks, start, end)
    return _team_weeks_csv(team_flows(session, window=window, now=now_whole()), window)


@router.get("/insights/{slug}/teams.csv", name="insights.service_teams_csv")
def export_service_teams(session: SessionDep, user: ManagerUser, slug: str,
                         weeks: Weeks = "", start: From = "", end: To = "") -> Response:
    service = service_or_404(session, slug)
    window = window_or_400(weeks, start, end)
    now = now_whole()
    flows = team_flows(session, window=window, now=now, service_id=service.id)
    return _teams_csv(flows, window, now, service.slug)


@router.get("/insights/{slug}/team-weeks.csv", name="insights.service_team_weeks_csv")
def export_service_team_weeks(session: SessionDep, user: ManagerUser, slug: str,
                              weeks: Weeks = "", start: From = "", end: To = "") -> Response:
    service = service_or_404(session, slug)
    window = window_or_400(weeks, start, end)
    flows = team_flows(session, window=window, now=now_whole(), service_id=service.id)
    return _team_weeks_csv(flows, window, service.slug)


@router.get("/insights/{slug}/steps.csv", name="insights.steps_csv")
def export_steps(session: SessionDep, user: ManagerUser, slug: str, weeks: Weeks = "",
                 start: From = "", end: To = "") -> Response:
    service = service_or_404(session, slug)
    window = window_or_400(weeks, start, end)
    figures = service_figures(session, service=service, window=window)
    bottleneck = figures.bottleneck

    def rows() -> Iterator[list[Any]]:
        for s in figures.steps:
            yield [s.position + 1, s.name, s.finished, s.waited.median, s.waited.p90,
                   s.worked.median, s.worked.p90, s.waited_total, s.worked_total,
                   duration(s.waited.median), duration(s.worked.median), s.targeted,
                   s.within_target,
                   None if s.within_share is None else round(s.within_share, 4),
                   round(figures.share_of_time(s), 4),
                   bottleneck is not None and s.position == bottleneck.position]

    header = ["Step", "Step name", "Finished", "Waiting median (s)", "Waiting 90th (s)",
              "Worked median (s)", "Worked 90th (s)", "Waited in all (s)",
              "Worked in all (s)", "Waiting median", "Worked median", "With a target",
              "Within target", "Within target share", "Share of time", "Bottleneck"]
    return csv_response(rows(), header=header, name=_name(window, service.slug, "steps"))


@router.get("/insights/{slug}/weeks.csv", name="insights.weeks_csv")
def export_weeks(session: SessionDep, user: ManagerUser, slug: str, weeks: Weeks = "",
                 start: From = "", end: To = "") -> Response:
    service = service_or_404(session, slug)
    window = window_or_400(weeks, start, end)
    figures = service_figures(session, service=service, window=window)
    return csv_response(
        ([flow.week, flow.submitted, flow.completed] for flow in figures.weeks),
        header=["Week of", "Submitted", "Completed"],
        name=_name(window, service.slug, "throughput"))
