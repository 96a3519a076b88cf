"""Access dependencies: every route loads what it acts on through one of these.

Not visible is a 404 (the thing may as well not exist for you); visible but not yours to
act on is a 403. The checks are plain functions (request_for_viewer, task_for_worker,
queue_team) that the pages' dependencies and the JSON API (app.web.api, which answers
these 404s and 403s as problem details) both call: one path, not two.
"""

from collections.abc import Collection
from typing import Annotated

from fastapi import Depends, HTTPException, Path
from sqlalchemy import Integer, bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, col

from app.reads.request_detail import PageHead, request_page_with_access
from app.rules.policy import (
    RequestAccess,
    is_on_task_team,
    may_see_queue,
    may_see_request,
    request_with_access,
)
from app.rules.teams import get_team_by_slug
from app.storage.directory_cache import directory_kept
from app.storage.driver_reads import DriverRead
from app.storage.models import MAX_ID, ServiceRequest, Task, Team, User
from app.storage.snapshots import known_in_session
from app.web.auth import CurrentUser
from app.web.session import SessionDep

NOT_FOUND = "There is no such request, or it is not yours to see."
IdPath = Annotated[int, Path(le=MAX_ID)]


class ViewedRequest:
    def __init__(self, request: ServiceRequest, access: RequestAccess,
                 head: PageHead | None = None):
        self.request = request
        self.access = access
        self.head = head  # the request page's head, when read with the access


def request_for_viewer(session: Session, *, user: User, request_id: int) -> ViewedRequest:
    """The request, if `user` may see it (rule 6); else a 404. The pages and the API
    (app.web.api) both load a request through this."""
    found = request_with_access(session, user=user, request_id=request_id)
    if found is None or not found[1].can_view:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    return ViewedRequest(*found)


# What the check needs of the task, read through the driver (app.storage.driver_reads).
_TASK_ACCESS = DriverRead(core_select(col(Task.team_id), col(Task.request_id))
                          .where(col(Task.id) == bindparam("task", type_=Integer)))


def task_for_worker(session: Session, *, user: User, team_ids: Collection[int],
                    task_id: int) -> Task:
    """The task, if `user` (a member of `team_ids`, read with them for this web request)
    may act on it: a 404 when they may not see it, a 403 when it is another team's. The
    rule checks active membership again under its lock.

    Only its team and request are read here: the rule reads the task again under its
    lock, all of it, as it would have anyway; the session's object is known by those
    (app.storage.snapshots.known_in_session): with the read, under a quarter of what
    loading it cost."""
    found = _TASK_ACCESS.first(session.connection(), {"task": task_id})
    if found is None:
        raise HTTPException(status_code=404, detail="There is no such task.")
    team_id, request_id = found
    task = known_in_session(session, Task, id=task_id, team_id=team_id, request_id=request_id)
    if not is_on_task_team(team_ids, task):
        service_request = session.get_one(ServiceRequest, task.request_id)
        if not may_see_request(session, user=user, request=service_request):
            raise HTTPException(status_code=404, detail="There is no such task.")
        raise HTTPException(
            status_code=403, detail="This task belongs to a team you are not a member of."
        )
    return task


def _team_line(team: Team | None) -> tuple[int, str, str] | None:
    return None if team is None else (team.id, team.slug, team.name)


def queue_team(session: Session, *, user: User, team_ids: Collection[int],
               team_slug: str) -> tuple[Team, bool]:
    """The team whose queue is asked for, and whether `user` is on it: members and
    managers may look (a 403 for anyone else, a 404 for no such team)."""
    found = directory_kept(session, ("team", team_slug),
                           lambda: _team_line(get_team_by_slug(session, team_slug)))
    if found is None:
        raise HTTPException(status_code=404, detail="There is no such team.")
    # A team of its own for each request (what is kept is shared by the worker's threads),
    # made as a snapshot (app.storage.snapshots): Team's own __init__, which checks its
    # values, cost a fiftieth of a queue page.
    team = Team.model_construct(id=found[0], slug=found[1], name=found[2])
    if not may_see_queue(user, team_ids, team.id):
        raise HTTPException(status_code=403, detail="This is the queue of a team you are not on.")
    return team, team.id in team_ids


def get_request_for_viewer(
    request_id: IdPath, session: SessionDep, user: CurrentUser
) -> ViewedRequest:
    return request_for_viewer(session, user=user, request_id=request_id)


def request_page_for_viewer(session: Session, *, user: User, request_id: int
                            ) -> ViewedRequest:
    """request_for_viewer for the request page: the same access, read in the same
    statement as the page's head (app.reads.request_detail.request_page_with_access).
    Called by the page's route itself, not as a dependency of its own: a sync
    dependency is a trip to the thread pool and back (about 0.1 ms) before the route's."""
    found = request_page_with_access(session, user=user, request_id=request_id)
    if found is None or not found[1].can_view:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    return ViewedRequest(*found)


class ViewedTask:
    def __init__(self, task: Task, viewed: ViewedRequest):
        self.task = task
        self.viewed = viewed


def get_task_for_viewer(task_id: IdPath, session: SessionDep, user: CurrentUser) -> ViewedTask:
    """A task to look at (its detail panel): whoever may see its request sees it, under
    the request's own rules (internal notes for its teams only); anyone else gets a 404,
    as for the request. Acting on it still goes through task_for_worker."""
    task = session.get(Task, task_id)
    if task is None:
        raise HTTPException(status_code=404, detail="There is no such task.")
    return ViewedTask(task, request_for_viewer(session, user=user, request_id=task.request_id))


RequestForViewer = Annotated[ViewedRequest, Depends(get_request_for_viewer)]
TaskForViewer = Annotated[ViewedTask, Depends(get_task_for_viewer)]
