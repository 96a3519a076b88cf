"""A task's detail panel (issue 16): what a queue or My work row leaves out, beside the
list: the request's answers, its steps and timeline, and every action on the task with
its note. An htmx request gets the panel alone (templates/tasks/task.html's block
`panel`); a plain link opens it as a page of its own, so it works without JavaScript."""

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.reads.request_detail import request_detail
from app.reads.task_rows import task_row
from app.reads.teammates import teammates_of
from app.rules.policy import is_team_lead
from app.storage.models import Task, TaskState, Team, User, utcnow
from app.web.access import TaskForViewer, ViewedRequest, request_for_viewer
from app.web.auth import CurrentUser, ViewerDep
from app.web.render import is_htmx, render
from app.web.session import SessionDep
from app.web.viewer import Viewer

router = APIRouter()

# The lists a panel opens beside: the row it updates after an action is drawn as that
# list draws it (a queue's row has its bulk box; My work's names the team).
LISTS = ("queue", "mywork")


def list_of(view: str) -> str | None:
    """The list a panel's form was posted from: its `view` is "<list>-panel"."""
    name = view.removesuffix("-panel")
    return name if name in LISTS else None


def panel_context(session: Session, user: User, viewer: Viewer, task: Task,
                  viewed: ViewedRequest, *, list_view: str | None) -> dict[str, Any]:
    on_team = task.team_id in viewer.team_ids
    detail = request_detail(session, service_request=viewed.request,
                            with_internal_notes=viewed.access.sees_internal_notes)
    acting = on_team and task.state in (TaskState.open, TaskState.claimed)
    return {
        "panel_task": task, "row": task_row(session, task, viewer_id=user.id),
        "detail": detail, "access": viewed.access, "now": utcnow(),
        "panel_view": f"{list_view}-panel" if list_view else "panel", "list_view": list_view,
        # The Hand to / Assign suggestions: the task's team, only when a box offers them.
        "panel_teammates": teammates_of(session, {task.team_id} if acting else set()),
        "panel_lead": acting and is_team_lead(session, user=user, team_id=task.team_id),
        # Where the panel's own page (no JavaScript) leads back to.
        "list_url": "/my-work" if list_view == "mywork" else
        f"/queues/{session.get_one(Team, task.team_id).slug}" if on_team else
        f"/requests/{task.request_id}",
    }


@router.get("/tasks/{task_id}", name="tasks.show")
def show_task(request: Request, session: SessionDep, user: CurrentUser, viewer: ViewerDep,
              viewed: TaskForViewer,
              view: Annotated[str, Query(max_length=20)] = "") -> Response:
    context = panel_context(session, user, viewer, viewed.task, viewed.viewed,
                            list_view=view if view in LISTS else None)
    return render(request, "tasks/task.html", context,
                  block="panel" if is_htmx(request) else None)


def panel_after_action(request: Request, session: Session, task: Task, *, view: str,
                       error: str | None, message: str | None, note: str,
                       error_field: str | None, status: int) -> Response:
    """An action posted from the panel answers with the panel (its message, or its
    refusal with the note kept) and, out of band, the list's row of the task."""
    viewer: Viewer = request.state.viewer
    user = viewer.user
    assert user is not None  # the action's access dependency signed them in
    viewed = request_for_viewer(session, user=user, request_id=task.request_id)
    context = panel_context(session, user, viewer, task, viewed, list_view=list_of(view))
    context.update(error=error, message=message, note=note, error_field=error_field,
                   row_oob=context["list_view"] is not None
                   and not _on_its_own_page(request, task))
    return render(request, "tasks/task.html", context, block="panel", status=status,
                  headers={"HX-Trigger": "task-changed"})


def _on_its_own_page(request: Request, task: Task) -> bool:
    """Whether the panel was posted from its own page (/tasks/<id>, the panel without the
    list beside it): there is no row there to update out of band (htmx would log that
    it found none)."""
    return urlsplit(request.headers.get("HX-Current-URL", "")).path == f"/tasks/{task.id}"
