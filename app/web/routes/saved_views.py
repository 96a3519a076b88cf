"""Saved views (issue 14, item 6): save a team queue's filters, or a manager's overview
drill-down filters, under a name; delete one. Plain form posts that go back to the list
(with the view's filters, after saving); a refusal is the error page with its message."""

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from app.rules.errors import DomainError
from app.rules.saved_views import (
    OVERVIEW_KEYS,
    OVERVIEW_PAGE,
    QUEUE_KEYS,
    delete_view,
    queue_page,
    save_view,
)
from app.storage.models import User
from app.web.access import IdPath
from app.web.auth import CurrentUser, ManagerUser, ViewerDep
from app.web.render import redirect, safe_next
from app.web.routes.queues import _queue_team
from app.web.session import SessionDep

router = APIRouter()

Text = Annotated[str, Form(max_length=400)]


def _save(session: SessionDep, user: User, *, page: str, name: str,
          filters: dict[str, str], keys: tuple[str, ...]) -> str:
    try:
        return save_view(session, user=user, page=page, name=name, filters=filters,
                         keys=keys).query
    except DomainError as refused:
        raise HTTPException(status_code=refused.status_code, detail=refused.message) from None


@router.post("/queues/{team_slug}/views", name="queues.save_view")
def save_queue_view(
    session: SessionDep, user: CurrentUser, viewer: ViewerDep, team_slug: str,
    name: Text = "", service: Text = "", state: Text = "", overdue: Text = "",
    q: Text = "", sort: Text = "",
) -> Response:
    team, _ = _queue_team(session, user, viewer.team_ids, team_slug)
    query = _save(session, user, page=queue_page(team.id), name=name, keys=QUEUE_KEYS,
                  filters={"service": service, "state": state, "overdue": overdue,
                           "q": q, "sort": sort})
    return redirect(f"/queues/{team.slug}" + (f"?{query}" if query else ""))


@router.post("/overview/views", name="overview.save_view")
def save_overview_view(
    session: SessionDep, user: ManagerUser, name: Text = "", team: Text = "",
    service: Text = "", step: Text = "", state: Text = "", overdue: Text = "",
    sort: Text = "",
) -> Response:
    query = _save(session, user, page=OVERVIEW_PAGE, name=name, keys=OVERVIEW_KEYS,
                  filters={"team": team, "service": service, "step": step,
                           "state": state, "overdue": overdue, "sort": sort})
    return redirect("/overview/tasks" + (f"?{query}" if query else ""))


@router.post("/views/{view_id}/delete", name="views.delete")
def delete_saved_view(request: Request, session: SessionDep, user: CurrentUser,
                      view_id: IdPath,
                      back: Annotated[str, Form(max_length=2000)] = "") -> Response:
    try:
        delete_view(session, user=user, view_id=view_id)
    except DomainError as refused:
        raise HTTPException(status_code=refused.status_code, detail=refused.message) from None
    return redirect(safe_next(back), request)
