"""Access dependencies: every route loads what it acts on through one of these.

Not visible is a 404 (the thing may as well not exist for you); visible but not yours to
act on is a 403.
"""

from typing import Annotated

from fastapi import Depends, HTTPException, Path

from app.rules.policy import RequestAccess, is_on_task_team, may_see_request, request_access
from app.storage.models import MAX_ID, ServiceRequest, Task
from app.web.auth import CurrentUser, ViewerDep
from app.web.session import SessionDep

NOT_FOUND = "There is no such request, or it is not yours to see."
IdPath = Annotated[int, Path(le=MAX_ID)]


class ViewedRequest:
    def __init__(self, request: ServiceRequest, access: RequestAccess):
        self.request = request
        self.access = access


def get_request_for_viewer(
    request_id: IdPath, session: SessionDep, user: CurrentUser
) -> ViewedRequest:
    service_request = session.get(ServiceRequest, request_id)
    if service_request is None:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    access = request_access(session, user=user, request=service_request)
    if not access.can_view:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    return ViewedRequest(service_request, access)


def get_task_for_worker(task_id: IdPath, session: SessionDep, user: CurrentUser,
                        viewer: ViewerDep) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise HTTPException(status_code=404, detail="There is no such task.")
    # The viewer's teams were read from the database by this same request; the rule
    # checks active membership again under its lock.
    if not is_on_task_team(viewer.team_ids, task):
        service_request = session.get_one(ServiceRequest, task.request_id)
        if not may_see_request(session, user=user, request=service_request):
            raise HTTPException(status_code=404, detail="There is no such task.")
        raise HTTPException(
            status_code=403, detail="This task belongs to a team you are not a member of."
        )
    return task


RequestForViewer = Annotated[ViewedRequest, Depends(get_request_for_viewer)]
TaskForWorker = Annotated[Task, Depends(get_task_for_worker)]
