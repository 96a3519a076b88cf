"""Bulk actions in a team queue (issue 14, item 7): the selected rows claimed, released,
handed to a teammate or completed together (app.rules.bulk). An htmx post gets the
report, with each acted-on row swapped in place (out of band) showing its own outcome;
a plain form post gets the report as a page with a link back to the queue. A refusal
of the whole action (nothing selected, too many, a "Hand to" that names no teammate) is
a 422 report in the same place, before any task is touched: htmx swaps a 422
(base.html), so it replaces the bar's last report instead of going to the toast."""

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from pydantic import Field

from app.reads.task_rows import task_row
from app.reads.teammates import teammates_of
from app.rules.bulk import MAX_BULK_TASKS, BulkAction, TooManyTasks, act_on_tasks, tasks_for_bulk
from app.rules.policy import is_team_lead
from app.storage.models import MAX_ID, Team, User, utcnow
from app.web.auth import CurrentUser, ViewerDep
from app.web.render import is_htmx, render, safe_next
from app.web.routes.queues import _queue_team
from app.web.session import SessionDep
from app.web.teammate_input import teammate_or_422

router = APIRouter()

TaskIds = Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]],
                    Form(alias="task", max_length=MAX_BULK_TASKS * 10)]


@router.post("/queues/{team_slug}/bulk", name="queues.bulk")
def act_on_selected(
    request: Request, session: SessionDep, user: CurrentUser, viewer: ViewerDep,
    team_slug: str, action: Annotated[BulkAction, Form()],
    task_ids: TaskIds = [],  # noqa: B006  (FastAPI copies a default; never mutated)
    to: Annotated[str, Form(max_length=400)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    team, is_member = _queue_team(session, user, viewer.team_ids, team_slug)
    if not is_member:
        # A manager sees the queue, and acts on no task of it (rule 6).
        raise HTTPException(status_code=403,
                            detail="Only members of this team act on its tasks.")
    back = safe_next(back) if back else f"/queues/{team.slug}"
    if len(task_ids) > MAX_BULK_TASKS:
        return _refused(request, team, back, TooManyTasks(len(task_ids)).message)
    if not task_ids:
        return _refused(request, team, back, "Select the tasks to act on first.")
    teammate: User | None = None
    if action == BulkAction.hand:
        try:
            # Someone outside the team is refused here, once, not by the rule per task.
            teammate = teammate_or_422(session, team_id=team.id, typed=to,
                                       purpose="hand the tasks to", member_only=True)
        except HTTPException as refused:
            return _refused(request, team, back, str(refused.detail), field="bulk-to")
    tasks = tasks_for_bulk(session, task_ids=task_ids, team_id=team.id)
    outcomes = act_on_tasks(session, tasks=tasks, by=user, action=action, to=teammate)
    missing = len(set(task_ids)) - len(tasks)
    context = {
        "team": team, "action": action, "teammate": teammate, "missing": missing,
        "outcomes": outcomes, "done": sum(o.done for o in outcomes),
        "refused": [o for o in outcomes if not o.done], "back": back,
    }
    if not is_htmx(request):
        return render(request, "queues/bulk.html", context)
    viewer_id = user.id
    rows = [(task_row(session, o.task, viewer_id=viewer_id), o) for o in outcomes]
    return render(request, "queues/bulk.html", {
        **context, "rows": rows, "view": "queue", "now": utcnow(),
        "teammates": teammates_of(session, {team.id}), "bulk": True,
        "lead_of": {team.id} if is_team_lead(session, user=user, team_id=team.id) else set(),
    }, block="report", headers={"HX-Trigger": "task-changed"})


def _refused(request: Request, team: Team, back: str, message: str, *,
             field: str | None = None) -> Response:
    """The whole action refused (422): the report says why; `field`, the id of the box
    the refusal is about, which static/baton.js marks invalid."""
    context = {"team": team, "problem": message, "problem_field": field, "back": back}
    return render(request, "queues/bulk.html", context, status=422,
                  block="report" if is_htmx(request) else None)
