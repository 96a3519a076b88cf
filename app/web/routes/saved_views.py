"""Saved views (issue 14, item 6): save a team queue's filters, or a manager's overview
drill-down filters, under a name; delete one.

Saving answers an htmx post with a client-side redirect to the view's tab, and a plain
form post with a redirect there. A name the rule refuses (empty, too long, taken, one
view too many) is said next to the name box, with the name as typed: htmx gets the save
form back (its block of the list's template, a 409 or 422 that base.html swaps in
place); a plain post gets the whole list again, with the same form and message."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from app.rules.errors import DomainError
from app.rules.inputs import InputInvalid, parse_number
from app.rules.saved_views import (
    OVERVIEW_KEYS,
    OVERVIEW_PAGE,
    QUEUE_KEYS,
    delete_view,
    queue_page,
    save_view,
)
from app.storage.models import MAX_ID, User
from app.web.access import IdPath
from app.web.auth import CurrentUser, ManagerUser, ViewerDep
from app.web.render import is_htmx, redirect, render, safe_next
from app.web.routes.overview import overview_tasks_context
from app.web.routes.queues import _queue_team, queue_filter, queue_page_context
from app.web.session import SessionDep

router = APIRouter()

Text = Annotated[str, Form(max_length=400)]


def _save(session: SessionDep, user: User, *, page: str, name: str,
          filters: dict[str, str], keys: tuple[str, ...]) -> str | DomainError:
    """The saved view's query string, or the rule's refusal (a 404 is raised as one)."""
    try:
        return save_view(session, user=user, page=page, name=name, filters=filters,
                         keys=keys).query
    except DomainError as refused:
        if refused.status_code not in (409, 422):
            raise HTTPException(status_code=refused.status_code,
                                detail=refused.message) from None
        return refused


def _form_again(request: Request, template: str, refused: DomainError, *, name: str,
                filters: dict[str, str], block_context: dict[str, Any],
                page: Callable[[], dict[str, Any]]) -> Response:
    """The save form with the refusal by its box and the name as typed: alone for htmx
    (`block_context`: what the form's block needs besides), else in its whole page
    (`page()`: that page's context, read only then)."""
    form = {"view_error": refused.message, "view_name": name,
            "view_filters": {key: value for key, value in filters.items() if value}}
    if is_htmx(request):
        return render(request, template, {**block_context, **form}, block="save_view",
                      status=refused.status_code)
    return render(request, template, {**page(), **form}, status=refused.status_code)


def _service_id(text: str) -> int | None:
    """The queue's service filter as its form sends it (an id, or blank for all)."""
    try:
        number = parse_number(text, integer=True)
    except InputInvalid:
        return None
    return int(number) if number is not None and 1 <= number <= MAX_ID else None


@router.post("/queues/{team_slug}/views", name="queues.save_view")
def save_queue_view(
    request: Request, session: SessionDep, user: CurrentUser, viewer: ViewerDep,
    team_slug: str, name: Text = "", service: Text = "", state: Text = "",
    overdue: Text = "", q: Text = "", sort: Text = "",
) -> Response:
    team, is_member = _queue_team(session, user, viewer.team_ids, team_slug)
    kept = {"service": service, "state": state, "overdue": overdue, "q": q, "sort": sort}
    saved = _save(session, user, page=queue_page(team.id), name=name, keys=QUEUE_KEYS,
                  filters=kept)
    if isinstance(saved, DomainError):
        def page() -> dict[str, Any]:
            filters = queue_filter(team, user, service=_service_id(service), state=state,
                                   q=q, overdue=overdue, sort=sort)
            context = queue_page_context(session, user, team, is_member, filters=filters)
            # The rows' and tabs' forms come back to the list, not to this post's address.
            return {**context, "here": context["results_url"]}
        return _form_again(request, "queues/queue.html", saved, name=name, filters=kept,
                           block_context={"team": team}, page=page)
    return redirect(f"/queues/{team.slug}" + (f"?{saved}" if saved else ""), request)


@router.post("/overview/views", name="overview.save_view")
def save_overview_view(
    request: Request, session: SessionDep, user: ManagerUser, viewer: ViewerDep,
    name: Text = "", team: Text = "", service: Text = "", step: Text = "", state: Text = "",
    overdue: Text = "", sort: Text = "",
) -> Response:
    kept = {"team": team, "service": service, "step": step, "state": state,
            "overdue": overdue, "sort": sort}
    saved = _save(session, user, page=OVERVIEW_PAGE, name=name, keys=OVERVIEW_KEYS,
                  filters=kept)
    if isinstance(saved, DomainError):
        def page() -> dict[str, Any]:
            context = overview_tasks_context(
                session, user, viewer, team=team or None, service=service or None,
                step=_step(step), state=state, overdue=overdue, sort=sort)
            return {**context, "here": context["results_url"]}
        return _form_again(request, "overview/tasks.html", saved, name=name, filters=kept,
                           block_context={}, page=page)
    return redirect("/overview/tasks" + (f"?{saved}" if saved else ""), request)


def _step(text: str) -> int | None:
    """The drill-down's step filter as its form sends it (a position, or blank)."""
    try:
        number = parse_number(text, integer=True)
    except InputInvalid:
        return None
    return int(number) if number is not None and 0 <= number <= 1000 else None


@router.post("/views/{view_id}/delete", name="views.delete")
def delete_saved_view(request: Request, session: SessionDep, user: CurrentUser,
                      view_id: IdPath,
                      back: Annotated[str, Form(max_length=2000)] = "") -> Response:
    try:
        delete_view(session, user=user, view_id=view_id)
    except DomainError as refused:
        raise HTTPException(status_code=refused.status_code, detail=refused.message) from None
    return redirect(safe_next(back), request)
