"""The inbox page, marking its items read, following a request, and the people a
comment box may mention (issue 14)."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from app.reads.inbox import inbox_page, unread_count
from app.rules.inbox import look_at_team, mark_all_read, mark_read, set_following
from app.rules.mentions import mentionable_people
from app.storage.models import MAX_ID
from app.web.access import NOT_FOUND, IdPath, RequestForViewer
from app.web.auth import CurrentUser, ViewerDep
from app.web.render import is_htmx, redirect, render
from app.web.session import SessionDep

router = APIRouter()


def _page(request: Request, session: SessionDep, viewer: ViewerDep, user: CurrentUser, *,
          show: str, before: int | None, block: str | None = None) -> Response:
    unread_only = show != "all"
    page = inbox_page(session, user=user, team_ids=viewer.team_ids, unread_only=unread_only,
                      before=before)
    return render(request, "inbox/inbox.html", {
        "page": page, "show": "unread" if unread_only else "all", "nav": "inbox",
        "before": before}, block=block)


@router.get("/inbox", name="inbox.show")
def show_inbox(
    request: Request, session: SessionDep, viewer: ViewerDep, user: CurrentUser,
    show: str = "unread", before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """Unread items (or all of them), newest first; `before`: the next page's items."""
    block = "items" if before is not None and is_htmx(request) else None
    return _page(request, session, viewer, user, show=show, before=before, block=block)


def _after_read(request: Request, session: SessionDep, viewer: ViewerDep,
                user: CurrentUser, back: str) -> Response:
    """htmx: the inbox's lists again and the bell, out of band; else back to the inbox."""
    if not is_htmx(request):
        return redirect(back, request)
    viewer.unread = unread_count(session, user_id=user.id, team_ids=viewer.team_ids)
    show = "all" if "show=all" in back else "unread"
    return _page(request, session, viewer, user, show=show, before=None, block="after_read")


def _back(show: str) -> str:
    return "/inbox?show=all" if show == "all" else "/inbox"


@router.post("/inbox/items/{item_id}/read", name="inbox.read_item")
def read_item(
    request: Request, item_id: IdPath, session: SessionDep, viewer: ViewerDep,
    user: CurrentUser, show: str = "unread",
) -> Response:
    # Someone else's item, or one read already (a second click), changes nothing: the
    # answer is the inbox as it is, which shows no one else's items.
    mark_read(session, by=user, item_id=item_id)
    return _after_read(request, session, viewer, user, _back(show))


@router.post("/inbox/teams/{team_id}/read", name="inbox.read_team")
def read_team_news(
    request: Request, team_id: IdPath, session: SessionDep, viewer: ViewerDep,
    user: CurrentUser, show: str = "unread",
) -> Response:
    if team_id not in viewer.team_ids:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    look_at_team(session, by=user, team_id=team_id)
    return _after_read(request, session, viewer, user, _back(show))


@router.post("/inbox/read-all", name="inbox.read_all")
def read_all(
    request: Request, session: SessionDep, viewer: ViewerDep, user: CurrentUser,
    show: str = "unread",
) -> Response:
    mark_all_read(session, by=user)
    return _after_read(request, session, viewer, user, _back(show))


@router.post("/requests/{request_id}/follow", name="requests.follow")
def follow_request(
    request: Request, session: SessionDep, user: CurrentUser, viewed: RequestForViewer,
) -> Response:
    set_following(session, user=user, request=viewed.request, following=True)
    return redirect(f"/requests/{viewed.request.id}", request)


@router.post("/requests/{request_id}/unfollow", name="requests.unfollow")
def unfollow_request(
    request: Request, session: SessionDep, user: CurrentUser, viewed: RequestForViewer,
) -> Response:
    set_following(session, user=user, request=viewed.request, following=False)
    return redirect(f"/requests/{viewed.request.id}", request)


@router.get("/requests/{request_id}/mentionable", name="requests.mentionable")
def suggest_mentions(
    request: Request, session: SessionDep, viewed: RequestForViewer,
    q: Annotated[str, Query(max_length=100)] = "", internal: bool = False,
) -> Response:
    """The comment box's suggestions: people whose name or e-mail holds `q` and who may
    see the request (rule 6), with `internal` its notes; as the person picker's options.
    Only for someone who may see the request (404 otherwise)."""
    people = mentionable_people(session, request=viewed.request, text=q, internal=internal)
    return render(request, "_people_options.html", {"people": people})
