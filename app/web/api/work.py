"""/api/v1: who the token is, a team's queue (its filters and keyset cursor), the task
actions (claim, release, hand, complete, approve, reject) and search, through the same
reads, rules and policy as app.web.routes.queues and search."""

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import Response
from sqlmodel import Session

from app.reads.queues import TaskFilter
from app.reads.search import MAX_QUERY_LENGTH, SearchFilters, search_requests, words_of
from app.reads.task_rows import list_tasks
from app.rules.inputs import InputInvalid, parse_date
from app.rules.tasks import (
    approve_task,
    claim_task,
    complete_task,
    hand_task,
    reject_task,
    release_task,
)
from app.storage.models import MAX_ID, RequestState, Task, utcnow
from app.web.access import queue_team
from app.web.access import task_for_worker as shared_task_for_worker
from app.web.api.caller import ApiCaller, Caller, Writer
from app.web.api.idempotency import IdempotencyKey, KeyDep, run_change
from app.web.api.problems import ApiProblem
from app.web.api.schemas import (
    HandIn,
    Me,
    NoteIn,
    QueuePage,
    ReasonIn,
    SearchPage,
    TaskOut,
    queue_task,
    search_hit,
    task_out,
)
from app.web.session import SessionDep
from app.web.teammate_input import teammate_or_422

router = APIRouter()
TaskId = Annotated[int, Path(ge=1, le=MAX_ID)]
Id = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.get("/me", response_model=Me, summary="Who this token acts as")
def show_me(caller: Caller) -> Any:
    user = caller.user
    return {"id": user.id, "name": user.name, "email": user.email,
            "is_manager": user.is_manager, "is_admin": user.is_admin,
            "team_ids": sorted(caller.team_ids),
            "token": {"name": caller.token_name, "read_only": caller.read_only}}


@router.get("/teams/{team_slug}/tasks", response_model=QueuePage,
            summary="A team's queue: open and claimed tasks, oldest (or due soonest) first")
def show_queue(
    team_slug: Annotated[str, Path(max_length=60)], session: SessionDep, caller: Caller,
    service: Id = None, state: Literal["open", "claimed", "mine"] | None = None,
    q: Annotated[str, Query(max_length=200)] = "", overdue: bool = False,
    sort: Literal["oldest", "due"] = "oldest",
    after: Annotated[str | None, Query(max_length=100)] = None,
) -> Any:
    team, _ = queue_team(session, user=caller.user, team_ids=caller.team_ids,
                         team_slug=team_slug)
    filters = TaskFilter(team_ids=[team.id], service_id=service, state=state,
                         viewer_id=caller.user.id, search=q, overdue=overdue, now=utcnow(),
                         sort=sort)
    page = list_tasks(session, filters=filters, after=after)
    return {"tasks": [queue_task(row) for row in page.rows], "total": page.total,
            "next_cursor": page.next_cursor}


def task_for_worker(session: Session, caller: ApiCaller, task_id: int) -> Task:
    """The pages' own check (app.web.access.task_for_worker): not visible is not found;
    visible but another team's is forbidden."""
    return shared_task_for_worker(session, user=caller.user, team_ids=caller.team_ids,
                                  task_id=task_id)


def _act(session: Session, caller: ApiCaller, key: IdempotencyKey | None, task: Task,
         change: Callable[[], Task]) -> Response:
    return run_change(session, caller, key, change, lambda _made, _acting: (200, task_out(task)))


@router.post("/tasks/{task_id}/claim", response_model=TaskOut, summary="Claim a task")
def claim(task_id: TaskId, session: SessionDep, caller: Writer, key: KeyDep) -> Response:
    task = task_for_worker(session, caller, task_id)
    return _act(session, caller, key, task,
                lambda: claim_task(session, task=task, by=caller.user))


@router.post("/tasks/{task_id}/release", response_model=TaskOut,
             summary="Release a claimed task to the team's queue")
def release(task_id: TaskId, session: SessionDep, caller: Writer, key: KeyDep) -> Response:
    task = task_for_worker(session, caller, task_id)
    return _act(session, caller, key, task,
                lambda: release_task(session, task=task, by=caller.user))


@router.post("/tasks/{task_id}/hand", response_model=TaskOut,
             summary="Hand a claimed task to a teammate")
def hand(task_id: TaskId, body: HandIn, session: SessionDep, caller: Writer,
         key: KeyDep) -> Response:
    task = task_for_worker(session, caller, task_id)
    try:
        teammate = teammate_or_422(session, team_id=task.team_id, typed=body.to,
                                   purpose="hand the task to")
    except HTTPException as refused:
        raise ApiProblem(refused.status_code, str(refused.detail), kind="invalid",
                         errors={"to": str(refused.detail)}) from None
    return _act(session, caller, key, task,
                lambda: hand_task(session, task=task, by=caller.user, to=teammate))


@router.post("/tasks/{task_id}/complete", response_model=TaskOut,
             summary="Complete a task (claiming it on the way)")
def complete(task_id: TaskId, session: SessionDep, caller: Writer, key: KeyDep,
             body: NoteIn = NoteIn()) -> Response:  # noqa: B008 (no body: no note)
    task = task_for_worker(session, caller, task_id)
    return _act(session, caller, key, task,
                lambda: complete_task(session, task=task, by=caller.user, note=body.note))


@router.post("/tasks/{task_id}/approve", response_model=TaskOut, summary="Approve an approval")
def approve(task_id: TaskId, session: SessionDep, caller: Writer, key: KeyDep,
            body: NoteIn = NoteIn()) -> Response:  # noqa: B008 (no body: no note)
    task = task_for_worker(session, caller, task_id)
    return _act(session, caller, key, task,
                lambda: approve_task(session, task=task, by=caller.user, note=body.note))


@router.post("/tasks/{task_id}/reject", response_model=TaskOut,
             summary="Reject an approval, with a reason (the request ends rejected)")
def reject(task_id: TaskId, body: ReasonIn, session: SessionDep, caller: Writer,
           key: KeyDep) -> Response:
    task = task_for_worker(session, caller, task_id)
    return _act(session, caller, key, task,
                lambda: reject_task(session, task=task, by=caller.user, reason=body.reason))


def _date(text: str, name: str) -> date | None:
    """A day, read by the one parser of dates the pages use too."""
    try:
        return parse_date(text)
    except InputInvalid as invalid:
        raise ApiProblem(422, invalid.message, kind="invalid",
                         errors={name: invalid.message}) from None


@router.get("/search", response_model=SearchPage,
            summary="The requests you may see that hold every word, newest first")
def search(
    session: SessionDep, caller: Caller,
    q: Annotated[str, Query(max_length=MAX_QUERY_LENGTH)] = "",
    state: RequestState | None = None, service: Id = None,
    filed_from: Annotated[str, Query(max_length=40, description="YYYY-MM-DD")] = "",
    filed_until: Annotated[str, Query(max_length=40, description="YYYY-MM-DD")] = "",
    before: Annotated[int | None, Query(ge=1, le=MAX_ID + 1)] = None,
) -> Any:
    filters = SearchFilters(state=state.value if state else None, service_id=service,
                            filed_from=_date(filed_from, "filed_from"),
                            filed_until=_date(filed_until, "filed_until"))
    reversed_dates = filters.dates_problem()
    if reversed_dates:
        raise ApiProblem(422, reversed_dates, kind="invalid",
                         errors={"filed_until": reversed_dates})
    page = search_requests(session, user=caller.user, team_ids=caller.team_ids,
                           words=words_of(q), filters=filters, before=before)
    return {"results": [search_hit(result) for result in page.results],
            "next_before": page.next_before, "count": page.count,
            "count_is_exact": page.count_is_exact}
