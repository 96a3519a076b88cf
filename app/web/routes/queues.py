"""Team queues and "my work": the pages, their CSV exports and their live polls. The
actions on a task are app.web.routes.task_actions."""

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BeforeValidator, Field
from sqlmodel import Session

from app.reads.inbox import unread_count
from app.reads.queues import TaskFilter, sort_named
from app.reads.saved_views import views_of
from app.reads.task_counts import (
    TeamCounters,
    count_changes,
    overdue_counts,
    queue_counts,
    team_counters,
    team_counters_at_version,
)
from app.reads.task_rows import SEARCH_COUNTED_AT_MOST, list_tasks
from app.reads.teammates import teammates_of
from app.rules.inputs import parse_flag
from app.rules.saved_views import QUEUE_KEYS, queue_page, view_query
from app.rules.team_looks import look_at_queue, queue_look_due
from app.rules.teams import teams_of
from app.storage.db import one_statement_change
from app.storage.models import MAX_ID, TaskState, Team, User, utcnow
from app.web.access import queue_team
from app.web.age_query import AgeQuery, AtQuery, OpenedWithin, opened_within
from app.web.auth import CurrentUser, ViewerDep
from app.web.page_cache import keep_queue_page
from app.web.render import is_htmx, render
from app.web.session import SessionDep
from app.web.task_csv import task_csv
from app.web.viewer import Viewer

router = APIRouter()

QUEUE_STATES = ("open", "claimed", "mine")
# The filter form sends `service=` for "All services": blank means no filter, not a 400.
ServiceFilter = Annotated[
    Annotated[int, Field(ge=1, le=MAX_ID)] | None,
    BeforeValidator(lambda value: value or None), Query(),
]


@router.get("/queues", name="queues.list")
def list_queues(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    teams = teams_of(session, user)
    team_ids = [team.id for team in teams if team.id is not None]
    return render(request, "queues/queues.html", {
        "teams": teams, "counts": queue_counts(session, team_ids),
        "overdue": overdue_counts(session, team_ids),
    })


def _queue_team(session: Session, user: User, viewer_team_ids: Collection[int],
                team_slug: str) -> tuple[Team, bool]:
    return queue_team(session, user=user, team_ids=viewer_team_ids, team_slug=team_slug)


def _queue_filter(team: Team, user: User, *, service: int | None, state: str, q: str,
                  overdue: str, sort: str, now: datetime,
                  within: OpenedWithin | None = None) -> TaskFilter:
    return TaskFilter(
        team_ids=[team.id], service_id=service, state=state if state in QUEUE_STATES else None,
        viewer_id=user.id, search=q[:200],
        # `state=overdue` is accepted too: it reads naturally in a link.
        overdue=parse_flag(overdue) or state == "overdue", now=now,
        sort=sort_named(sort),
        opened_after=within.after if within else None,
        opened_until=within.until if within else None,
    )


def _within(age: str, at: str) -> OpenedWithin | None:
    """The age of open work a link from the insights asks for, counted at a whole
    second as the insights count it (app.web.routes.team_insights)."""
    return opened_within(age, at, now=utcnow().replace(microsecond=0))


def _kept(filters: TaskFilter, within: OpenedWithin | None = None) -> dict[str, str]:
    """The filters a link back to the same list carries."""
    kept = {"service": filters.service_id, "state": filters.state, "q": filters.search,
            "overdue": "1" if filters.overdue else None,
            "sort": "due" if filters.sort == "due" else None,
            **(within.params if within else {})}
    return {k: str(v) for k, v in kept.items() if v}


@router.get("/queues/{team_slug}", name="queues.show")
def show_queue(
    request: Request, session: SessionDep, user: CurrentUser, viewer: ViewerDep,
    team_slug: str, service: ServiceFilter = None, state: str = "", q: str = "",
    overdue: Annotated[str, Query(max_length=10)] = "",
    sort: Annotated[str, Query(max_length=10)] = "",
    after: Annotated[str | None, Query(max_length=100)] = None,
    age: AgeQuery = "", at: AtQuery = "",
) -> Response:
    team, is_member = _queue_team(session, user, viewer.team_ids, team_slug)
    if is_member and not is_htmx(request):
        _look_at_queue(session, viewer, team.id)
    within = _within(age, at)
    # Read before the queue, so a change landing in between can only make the kept
    # page newer than its version (app.web.page_cache). An age without the moment it
    # was counted at is counted now, so its list changes as time passes, not only as
    # the team's tasks do: that page is never kept. (The cache keys a page by its whole
    # address, so a filtered page and the unfiltered one are never taken for each other.)
    # The queue version comes with the counters, in one statement, before the rows.
    version, counters = team_counters_at_version(session, team.id)
    if within is None or at == within.params["at"]:
        keep_queue_page(request, session, viewer, team.id, queue=version)
    now = utcnow()
    filters = _queue_filter(team, user, service=service, state=state, q=q, overdue=overdue,
                            sort=sort, now=now, within=within)
    context = queue_page_context(session, user, team, is_member, filters=filters,
                                 within=within, after=after, counters=counters)
    block = None
    if is_htmx(request):
        # A "more" link appends rows; a filter change replaces the whole result, and the
        # saved views' tabs with it (out of band), so the current tab follows the filters.
        block = "more_rows" if after else "results"
        context["tabs_oob"] = not after
    return render(request, "queues/queue.html", context, block=block)


def _look_at_queue(session: Session, viewer: Viewer, team_id: int) -> None:
    """A member opening the queue's page has seen its new tasks: the inbox's "new tasks
    in <team> since you last looked" starts again (app.rules.team_looks). Only
    when their mark is behind the queue's newest open task: a bell at 0 says no team of
    theirs has news without another read, and a page with nothing new writes nothing.
    The page's bell is counted again after the write, before the page cache keeps its
    version, so the page shows the bell it leaves and is kept with it. A kept page is
    never served while a look is due (app.web.page_cache): the team's news is part of
    the bell its check compares, so the request comes here and the mark moves."""
    user = viewer.user
    if user is None or viewer.unread == 0:
        return
    if queue_look_due(session, user_id=user.id, team_id=team_id):
        # The page reads alone on PostgreSQL (app.web.reads_alone): the look, its one
        # write, is one statement, which commits as it is sent.
        with one_statement_change(session) as changing:
            look_at_queue(changing, by=user, team_id=team_id)
        if viewer.unread is not None:
            viewer.unread = unread_count(session, user_id=user.id, team_ids=viewer.team_ids)


def queue_page_context(session: Session, user: User, team: Team, is_member: bool, *,
                       filters: TaskFilter, within: OpenedWithin | None = None,
                       after: str | None = None,
                       counters: TeamCounters | None = None) -> dict[str, Any]:
    """What queues/queue.html shows of the team's queue with these filters: for its
    page, and for the page a refused saved view's form re-renders
    (app.web.routes.saved_views)."""
    now = filters.now or utcnow()
    # The count and the services of the filter in one read of the team's counters.
    if counters is None:
        counters = team_counters(session, team.id)
    total = None if after else counters.count(filters)
    page = list_tasks(session, filters=filters, after=after, counted=total is None,
                      search_counted_at_most=SEARCH_COUNTED_AT_MOST)
    if total is not None:
        page.total = total
    kept = _kept(filters, within)
    saved = {key: kept[key] for key in QUEUE_KEYS if key in kept}
    return {
        # The viewer's saved views as tabs, the filters a new one would keep.
        "views": views_of(session, user_id=user.id, page=queue_page(team.id)),
        "view_filters": saved, "view_current": view_query(saved, QUEUE_KEYS),
        "team": team, "page": page, "is_member": is_member, "now": now, "within": within,
        "age_counted_at": (datetime.fromtimestamp(int(within.params["at"]), UTC)
                           if within else None),
        "services": counters.services(session),
        "teammates": teammates_of(session, {team.id} if is_member else set()),
        "view": "queue", "bulk": is_member,
        "more_url": f"/queues/{team.slug}?" + (urlencode(kept) + "&" if kept else ""),
        # The live queue: what changed since this render, and the results to show then.
        "results_url": f"/queues/{team.slug}" + (f"?{urlencode(kept)}" if kept else ""),
        "changes_url": f"/queues/{team.slug}/changes?"
                       + urlencode({"since": now.isoformat(), **kept}),
        "csv_url": f"/queues/{team.slug}/tasks.csv" + (f"?{urlencode(kept)}" if kept else ""),
    }


def queue_filter(team: Team, user: User, *, service: int | None, state: str, q: str,
                 overdue: str, sort: str) -> TaskFilter:
    """The queue's filters as its filter form sends them, counted now."""
    return _queue_filter(team, user, service=service, state=state, q=q, overdue=overdue,
                         sort=sort, now=utcnow())


@router.get("/queues/{team_slug}/tasks.csv", name="queues.csv")
def export_queue(
    session: SessionDep, user: CurrentUser, viewer: ViewerDep,
    team_slug: str, service: ServiceFilter = None, state: str = "", q: str = "",
    overdue: Annotated[str, Query(max_length=10)] = "",
    sort: Annotated[str, Query(max_length=10)] = "",
    age: AgeQuery = "", at: AtQuery = "",
) -> Response:
    """The queue as CSV: what the page shows with the same filters, all its pages, for
    the same people (its members and managers). Not under `/queues/<slug>` itself, which
    the kept-page cache would hold in memory (app.web.page_cache)."""
    team, _ = _queue_team(session, user, viewer.team_ids, team_slug)
    filters = _queue_filter(team, user, service=service, state=state, q=q, overdue=overdue,
                            sort=sort, now=utcnow(), within=_within(age, at))
    return task_csv(session, filters=filters, name=f"queue-{team.slug}")


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise HTTPException(status_code=400,
                            detail="`since` must be a moment with its time zone (ISO 8601).")
    return moment.astimezone(UTC)


@router.get("/queues/{team_slug}/changes", name="queues.changes")
def queue_changes(
    request: Request, session: SessionDep, user: CurrentUser, viewer: ViewerDep,
    team_slug: str, since: Annotated[str, Query(max_length=64)] = "",
    service: ServiceFilter = None, state: str = "", q: str = "",
    overdue: Annotated[str, Query(max_length=10)] = "",
    sort: Annotated[str, Query(max_length=10)] = "",
    age: AgeQuery = "", at: AtQuery = "",
) -> Response:
    """The live queue's poll: empty while nothing changed since the page was rendered,
    else a line saying how many tasks are new or changed, with a button to show them."""
    team, _ = _queue_team(session, user, viewer.team_ids, team_slug)
    moment = _moment(since)
    within = _within(age, at)
    filters = _queue_filter(team, user, service=service, state=state, q=q, overdue=overdue,
                            sort=sort, now=utcnow(), within=within)
    count = count_changes(session, filters=filters, since=moment)
    if not count:
        return HTMLResponse("", headers={"Vary": "HX-Request"})
    kept = _kept(filters, within)
    return render(request, "queues/queue.html", {
        "count": count,
        "results_url": f"/queues/{team.slug}" + (f"?{urlencode(kept)}" if kept else ""),
    }, block="changes")


@router.get("/my-work", name="queues.my_work")
def show_my_work(request: Request, session: SessionDep, user: CurrentUser, viewer: ViewerDep,
                 after: Annotated[str | None, Query(max_length=100)] = None) -> Response:
    page = list_tasks(session, filters=_my_work_filter(user), after=after)
    return render(request, "queues/my_work.html", {
        # No Hand to box on the page (it is in a task's panel): no suggestions to read.
        "page": page, "teammates": teammates_of(session, set()),
        "view": "mywork", "more_url": "/my-work?", "now": utcnow(),
    }, block="more_rows" if is_htmx(request) and after else None)


def _my_work_filter(user: User) -> TaskFilter:
    return TaskFilter(assignee_id=user.id, states=(TaskState.claimed,), viewer_id=user.id)


@router.get("/my-work.csv", name="queues.my_work_csv")
def export_my_work(session: SessionDep, user: CurrentUser) -> Response:
    """My work as CSV: the tasks the viewer has claimed, all of them."""
    return task_csv(session, filters=_my_work_filter(user), name="my-work")
