"""The actions on a task from a list or its panel (claim, release, hand, assign,
complete, approve, reject): each runs its rule (app.rules.tasks) and answers an htmx
request with the task's updated row (or its panel), a plain form post with a redirect
back to where it came from."""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.reads.task_rows import task_row
from app.rules.errors import DomainError, InvalidNote
from app.rules.tasks import (
    approve_task,
    assign_task,
    claim_task,
    complete_task,
    hand_task,
    reject_task,
    release_task,
)
from app.storage.models import Task, User
from app.web.access import IdPath, task_for_worker
from app.web.auth import CurrentUser, ViewerDep
from app.web.reads_alone import answer_alone
from app.web.render import here, is_htmx, redirect, safe_next
from app.web.request_body import SMALL_BODY_BYTES
from app.web.routes.task_panel import panel_after_action
from app.web.session import SessionDep
from app.web.task_row_html import row_answered
from app.web.teammate_input import teammate_or_422
from app.web.viewer import Viewer

router = APIRouter()


def _after_action(
    request: Request, session: Session, task: Task, *, view: str, back: str,
    error: str | None = None, status: int = 200, message: str | None = None, note: str = "",
    error_field: str | None = None,
) -> Response:
    if not is_htmx(request):
        return redirect(safe_next(back) if back else f"/requests/{task.request_id}")
    answer_alone(session)  # the rule has committed, or rolled back: only reads are left
    if view.endswith("panel"):
        return panel_after_action(request, session, task, view=view, error=error,
                                  message=message, note=note, error_field=error_field,
                                  status=status)
    viewer: Viewer = request.state.viewer
    row = task_row(session, task, viewer_id=viewer.user.id if viewer.user else None)
    # The row's markup is Python's, written without the row's template around it: a
    # tenth of a claim's route went to Jinja's response for that one call. The row's
    # other actions (Release, Hand to, Assign) are in the task's panel
    # (app.web.routes.task_panel): the row needs no teammates, and no statement for them.
    html = row_answered(row, viewer, view=view, back=safe_next(back) if back else here(request),
                        error=error, message=message)
    # Other parts of the page (the queue's count) refresh themselves on this event.
    return HTMLResponse(html, status_code=status,
                        headers={"HX-Trigger": "task-changed", "Vary": "HX-Request"})


def _act(
    request: Request, session: Session, task: Task, action: Callable[[], object], *,
    view: str, back: str, message: str, note: str = "", note_sent: bool = False,
) -> Response:
    """Runs the action and answers with the row or the panel. `note` is what the panel's
    note box held: sent with the action when `note_sent` (completing, deciding), and
    otherwise given back to the panel, so a note typed before Claim, Release, Hand or
    Assign is not lost."""
    try:
        action()
    except DomainError as refused:
        # htmx swaps a 409 or 422 in place (base.html); anything else, a 403 say, goes to
        # the error page, which htmx shows in the toast: a row swapped with it would not
        # be shown at all.
        if not is_htmx(request) or refused.status_code not in (409, 422):
            raise
        # The row comes back with the message and what was typed in the note box; the
        # note box is marked invalid only when the refusal is about it (a missing reason).
        return _after_action(request, session, task, view=view, back=back, note=note,
                             error=refused.message, status=refused.status_code,
                             error_field="note" if isinstance(refused, InvalidNote) else None)
    return _after_action(request, session, task, view=view, back=back, message=message,
                         note="" if note_sent else note)


def _task_to_act_on(session: Session, user: User, viewer: Viewer, task_id: int) -> Task:
    """The task the viewer acts on, if they may (app.web.access.task_for_worker): read
    by the route itself, in its own trip to the thread pool, not by a dependency of its
    own, which is a trip there and back more (about 0.1 ms of a claim)."""
    return task_for_worker(session, user=user, team_ids=viewer.team_ids, task_id=task_id)


ViewField = Annotated[str, Form(max_length=20)]
BackField = Annotated[str, Form(max_length=2000)]
NoteField = Annotated[str, Form(max_length=10000)]
# The note box's text where the action sends no note (Claim, Release, Hand, Assign): only
# given back, so never the reason to refuse the action; the body's own limit bounds it.
KeptNoteField = Annotated[str, Form(max_length=SMALL_BODY_BYTES)]


@router.post("/tasks/{task_id}/claim", name="tasks.claim")
def claim(request: Request, session: SessionDep, user: CurrentUser, viewer: ViewerDep,
          task_id: IdPath,
          view: ViewField = "queue", back: BackField = "", note: KeptNoteField = "") -> Response:
    task = _task_to_act_on(session, user, viewer, task_id)
    return _act(request, session, task, lambda: claim_task(session, task=task, by=user),
                view=view, back=back, message="You claimed this task.", note=note)


@router.post("/tasks/{task_id}/release", name="tasks.release")
def release(request: Request, session: SessionDep, user: CurrentUser, viewer: ViewerDep,
            task_id: IdPath,
            view: ViewField = "queue", back: BackField = "", note: KeptNoteField = "") -> Response:
    task = _task_to_act_on(session, user, viewer, task_id)
    return _act(request, session, task, lambda: release_task(session, task=task, by=user),
                view=view, back=back, message="Released to the team queue.", note=note)


@router.post("/tasks/{task_id}/hand", name="tasks.hand")
def hand(request: Request, session: SessionDep, user: CurrentUser, viewer: ViewerDep,
         task_id: IdPath, to: Annotated[str, Form(max_length=400)] = "",
         view: ViewField = "queue", back: BackField = "", note: KeptNoteField = "") -> Response:
    task = _task_to_act_on(session, user, viewer, task_id)
    teammate = teammate_or_422(session, team_id=task.team_id, typed=to,
                               purpose="hand the task to")
    return _act(request, session, task,
                lambda: hand_task(session, task=task, by=user, to=teammate),
                view=view, back=back, message=f"Handed to {teammate.name}.", note=note)


@router.post("/tasks/{task_id}/assign", name="tasks.assign")
def assign(request: Request, session: SessionDep, user: CurrentUser, viewer: ViewerDep,
           task_id: IdPath, assign_to: Annotated[str, Form(max_length=400)] = "",
           view: ViewField = "queue", back: BackField = "", note: KeptNoteField = "") -> Response:
    """A team's lead gives a task to a member (the rule refuses anyone but a lead)."""
    task = _task_to_act_on(session, user, viewer, task_id)
    member = teammate_or_422(session, team_id=task.team_id, typed=assign_to,
                             purpose="assign the task to")
    return _act(request, session, task,
                lambda: assign_task(session, task=task, by=user, to=member),
                view=view, back=back, message=f"Assigned to {member.name}.", note=note)


@router.post("/tasks/{task_id}/complete", name="tasks.complete")
def complete(request: Request, session: SessionDep, user: CurrentUser, viewer: ViewerDep,
             task_id: IdPath,
             note: NoteField = "", view: ViewField = "queue", back: BackField = "") -> Response:
    task = _task_to_act_on(session, user, viewer, task_id)
    return _act(request, session, task,
                lambda: complete_task(session, task=task, by=user, note=note),
                view=view, back=back, message="Done.", note=note, note_sent=True)


@router.post("/tasks/{task_id}/approve", name="tasks.approve")
def approve(request: Request, session: SessionDep, user: CurrentUser, viewer: ViewerDep,
            task_id: IdPath,
            note: NoteField = "", view: ViewField = "queue", back: BackField = "") -> Response:
    task = _task_to_act_on(session, user, viewer, task_id)
    return _act(request, session, task,
                lambda: approve_task(session, task=task, by=user, note=note),
                view=view, back=back, message="Approved.", note=note, note_sent=True)


@router.post("/tasks/{task_id}/reject", name="tasks.reject")
def reject(request: Request, session: SessionDep, user: CurrentUser, viewer: ViewerDep,
           task_id: IdPath,
           note: NoteField = "", view: ViewField = "queue", back: BackField = "") -> Response:
    task = _task_to_act_on(session, user, viewer, task_id)
    return _act(request, session, task,
                lambda: reject_task(session, task=task, by=user, reason=note),
                view=view, back=back, message="Rejected: the request has ended.", note=note,
                note_sent=True)
