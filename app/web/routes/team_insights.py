"""A team's insights, for its members and managers (PRODUCT.md rule 6: a team member sees
their team's work): tasks finished each week, open work by age (each number a link to the
team's queue holding exactly those tasks), and each step the team owns; a CSV of each."""

from collections.abc import Iterator
from datetime import datetime
from math import ceil
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from app.reads.insights import AGE_BUCKETS, WINDOW_WEEKS, age_bounds
from app.reads.team_insights import TeamInsights, team_insights
from app.rules.policy import may_see_queue
from app.rules.teams import get_team_by_slug
from app.storage.models import Team, User, utcnow
from app.web.age_query import AGE_LABELS, counted_at
from app.web.auth import CurrentUser, ViewerDep
from app.web.charts import Chart, grouped_columns
from app.web.csv_export import csv_response
from app.web.render import render
from app.web.routes.insights_common import (
    From,
    To,
    Weeks,
    duration,
    form_of,
    query_of,
    window_or_problem,
)
from app.web.session import SessionDep
from app.web.viewer import Viewer

router = APIRouter()


def _team(session: SessionDep, user: User, team_ids: frozenset[int], slug: str) -> Team:
    """The team asked for, if the viewer may see its work (as its queue: its members and
    managers); 404 for no such team, 403 for anyone else."""
    team = get_team_by_slug(session, slug[:80])
    if team is None:
        raise HTTPException(status_code=404, detail="There is no such team.")
    if not may_see_queue(user, team_ids, team.id):
        raise HTTPException(status_code=403,
                            detail="These are the insights of a team you are not on.")
    return team


def _now() -> datetime:
    """Ages are counted at a whole second: the `at` of a link to the queue is Unix
    seconds, so the queue's bounds are then the very ones the numbers were counted with."""
    return utcnow().replace(microsecond=0)


def _week_label(insights: TeamInsights, n: int) -> str:
    week = insights.window.weeks[n]
    return f"{week.day} {week.strftime('%b')}"


def finished_chart(insights: TeamInsights) -> Chart:
    weeks = insights.window.weeks
    return grouped_columns(
        f"Tasks {insights.team.name} finished each week",
        [(_week_label(insights, n), [
            (count, "series-completed", f"Week of {week.isoformat()}: {count} finished"),
        ]) for n, (week, count) in enumerate(zip(weeks, insights.finished, strict=True))],
        every=max(1, ceil(len(weeks) / 4)))


def age_chart(insights: TeamInsights, links: list[str]) -> Chart:
    """Each bar a link to the queue holding the tasks it counts."""
    return grouped_columns(
        f"Open tasks of {insights.team.name} by how long they have been open",
        [(label, [(count, "series-age", f"Open {label}: {count} tasks", link)])
         for label, count, link in zip(AGE_LABELS, insights.ages, links, strict=True)])


def age_links(team: Team, now: datetime) -> list[str]:
    """Each age bucket's list: the team's queue holding the tasks counted at `now`."""
    return [f"/queues/{team.slug}?" + urlencode({"age": n, "at": counted_at(now)})
            for n in range(len(AGE_BUCKETS))]


@router.get("/insights/teams/{team_slug}", name="insights.team")
def show_team_insights(
    request: Request, session: SessionDep, user: CurrentUser, viewer: ViewerDep,
    team_slug: str, weeks: Weeks = "", start: From = "", end: To = "",
) -> Response:
    team = _team(session, user, viewer.team_ids, team_slug)
    form = form_of(weeks, start, end)
    context: dict[str, Any] = {"team": team, "form": form, "window_weeks": WINDOW_WEEKS}
    window, problem = window_or_problem(weeks, start, end)
    if window is None:
        return render(request, "insights/team.html", {**context, "problem": problem},
                      status=400)
    now = _now()
    insights = team_insights(session, team=team, window=window, now=now)
    query = query_of(form)
    links = age_links(team, now)
    return render(request, "insights/team.html", {
        **context, "window": window, "insights": insights, "query": query,
        "age_labels": AGE_LABELS, "age_links": links,
        "duration": duration, "finished_chart": finished_chart(insights),
        "age_chart": age_chart(insights, links),
    })


def _csv_insights(session: SessionDep, user: User, viewer: Viewer, team_slug: str,
                  weeks: str, start: str, end: str) -> TeamInsights:
    team = _team(session, user, viewer.team_ids, team_slug)
    window, problem = window_or_problem(weeks, start, end)
    if window is None:
        raise HTTPException(status_code=400, detail=problem)
    return team_insights(session, team=team, window=window, now=_now())


@router.get("/insights/teams/{team_slug}/finished.csv", name="insights.team_finished_csv")
def export_finished(session: SessionDep, user: CurrentUser, viewer: ViewerDep, team_slug: str,
                    weeks: Weeks = "", start: From = "", end: To = "") -> Response:
    insights = _csv_insights(session, user, viewer, team_slug, weeks, start, end)
    rows = ([week, count] for week, count in zip(insights.window.weeks, insights.finished,
                                                  strict=True))
    return csv_response(rows, header=["Week of", "Tasks finished"],
                        name=f"{insights.team.slug}-finished")


@router.get("/insights/teams/{team_slug}/ages.csv", name="insights.team_ages_csv")
def export_ages(session: SessionDep, user: CurrentUser, viewer: ViewerDep, team_slug: str,
                weeks: Weeks = "", start: From = "", end: To = "") -> Response:
    insights = _csv_insights(session, user, viewer, team_slug, weeks, start, end)

    def rows() -> Iterator[list[Any]]:
        for n, count in enumerate(insights.ages):
            after, until = age_bounds(n, now=insights.counted_at)
            yield [AGE_LABELS[n], after, until, count, insights.counted_at]

    return csv_response(rows(), header=[
        "Open for", "Opened after (UTC)", "Opened until (UTC)", "Open tasks",
        "Counted at (UTC)"], name=f"{insights.team.slug}-open-by-age")


@router.get("/insights/teams/{team_slug}/steps.csv", name="insights.team_steps_csv")
def export_steps(session: SessionDep, user: CurrentUser, viewer: ViewerDep, team_slug: str,
                 weeks: Weeks = "", start: From = "", end: To = "") -> Response:
    insights = _csv_insights(session, user, viewer, team_slug, weeks, start, end)
    rows = ([s.service.name, s.position + 1, s.name, s.finished, s.waited.median,
             s.waited.p90, s.worked.median, s.worked.p90, s.targeted, s.within_target,
             None if s.within_share is None else round(s.within_share, 4)]
            for s in insights.steps)
    return csv_response(rows, header=[
        "Service", "Step number", "Step", "Finished", "Waiting median (s)",
        "Waiting 90th percentile (s)", "Worked median (s)", "Worked 90th percentile (s)",
        "With a target", "Within target", "Share within target"],
        name=f"{insights.team.slug}-steps")
