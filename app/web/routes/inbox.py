"""The inbox page, opening and marking its items read, following a request, and the
people a comment box may mention (issue 14)."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import Response

from app.reads.inbox import InboxPage, inbox_page, team_news, unread_count
from app.rules.inbox import (
    look_at_team,
    mark_all_read,
    mark_read,
    open_item,
    set_following,
)
from app.rules.mentions import mentionable_people
from app.rules.policy import may_see_request
from app.storage.models import MAX_ID, ServiceRequest, utcnow
from app.web.access import NOT_FOUND, IdPath, RequestForViewer
from app.web.auth import CurrentUser, ViewerDep
from app.web.render import is_htmx, redirect, render
from app.web.session import SessionDep

router = APIRouter()

# The page's moment, as the Mark all read form carries it (milliseconds since 1970).
MAX_MILLISECONDS = 253402300799999  # 9999-12-31T23:59:59.999Z


def _show(show: str) -> str:
    return "all" if show == "all" else "unread"


def _page(request: Request, session: SessionDep, viewer: ViewerDep, user: CurrentUser, *,
          show: str, before: int | None, block: str | None = None) -> Response:
    unread_only = _show(show) == "unread"
    page = inbox_page(session, user=user, team_ids=viewer.team_ids, unread_only=unread_only,
                      before=before)
    return render(request, "inbox/inbox.html", {
        "page": page, "show": _show(show), "nav": "inbox", "before": before,
        "shown_at": int(utcnow().timestamp() * 1000)}, block=block)


@router.get("/inbox", name="inbox.show")
def show_inbox(
    request: Request, session: SessionDep, viewer: ViewerDep, user: CurrentUser,
    show: str = "unread", before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """Unread items (or all of them), newest first; `before`: the next page's items."""
    block = "items" if before is not None and is_htmx(request) else None
    return _page(request, session, viewer, user, show=show, before=before, block=block)


@router.get("/inbox/items/{item_id}/open", name="inbox.open_item")
def open_inbox_item(item_id: IdPath, session: SessionDep, user: CurrentUser) -> Response:
    """An item's link: marks it read and goes to the request at its event.

    A GET that changes state, on purpose: the item's link stays a real link (open in a
    new tab, copy its address, a screen reader's list of links), which a POST form
    styled as a link is not. It is safe as a GET: it touches only the viewer's own item,
    and only its read mark, idempotently (a second visit, a prefetch or another site's
    link leaves it read, as the person would have; it reveals nothing, since the request
    page asks rule 6 itself). Someone else's item is a 404, as one that does not exist."""
    item = open_item(session, by=user, item_id=item_id)
    if item is None:
        raise HTTPException(status_code=404, detail="There is no such item in your inbox.")
    service_request = session.get_one(ServiceRequest, item.request_id)
    if not may_see_request(session, user=user, request=service_request):
        return redirect("/inbox?show=all")  # rule 6 again: the item says so there
    return redirect(f"/requests/{item.request_id}#event-{item.event_id}")


def _lists(request: Request, session: SessionDep, viewer: ViewerDep, user: CurrentUser,
           show: str) -> Response:
    """htmx: the inbox's lists again and the bell, out of band; else back to the inbox."""
    if not is_htmx(request):
        return redirect(_back(show), request)
    viewer.unread = unread_count(session, user_id=user.id, team_ids=viewer.team_ids)
    return _page(request, session, viewer, user, show=show, before=None, block="after_read")


def _back(show: str) -> str:
    return "/inbox?show=all" if _show(show) == "all" else "/inbox"


@router.post("/inbox/items/{item_id}/read", name="inbox.read_item")
def read_item(
    request: Request, item_id: IdPath, session: SessionDep, viewer: ViewerDep,
    user: CurrentUser, show: str = "unread",
) -> Response:
    """Marks one item read. htmx: only that item's row comes back (read, or nothing in
    the unread list), with the bell, so that the pages shown so far ("Show older") stay
    as they are; the whole list only once nothing unread is left, for its empty state."""
    # Someone else's item, or one read already (a second click), changes nothing: the
    # answer shows no one else's items.
    mark_read(session, by=user, item_id=item_id)
    if not is_htmx(request):
        return redirect(_back(show), request)
    viewer.unread = unread_count(session, user_id=user.id, team_ids=viewer.team_ids)
    if _show(show) == "unread" and not viewer.unread:
        response = _page(request, session, viewer, user, show=show, before=None,
                         block="after_read")
        response.headers["HX-Retarget"] = "#inbox-lists"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    page = (inbox_page(session, user=user, team_ids=viewer.team_ids, unread_only=False,
                       item_id=item_id)
            if _show(show) == "all" else InboxPage(lines=[], teams=[], next_before=None))
    return render(request, "inbox/inbox.html", {"page": page, "show": _show(show)},
                  block="item_read")


@router.post("/inbox/teams/{team_id}/read", name="inbox.read_team")
def read_team_news(
    request: Request, team_id: IdPath, session: SessionDep, viewer: ViewerDep,
    user: CurrentUser, show: str = "unread",
) -> Response:
    """Marks a team's news read. htmx: the teams' section again (it is never paged), with
    the bell; the items below stay as they are."""
    if team_id not in viewer.team_ids:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    look_at_team(session, by=user, team_id=team_id)
    if not is_htmx(request):
        return redirect(_back(show), request)
    viewer.unread = unread_count(session, user_id=user.id, team_ids=viewer.team_ids)
    page = InboxPage(lines=[], teams=team_news(session, user_id=user.id,
                                               team_ids=viewer.team_ids), next_before=None)
    return render(request, "inbox/inbox.html", {"page": page, "show": _show(show)},
                  block="teams_read")


@router.post("/inbox/read-all", name="inbox.read_all")
def read_all(
    request: Request, session: SessionDep, viewer: ViewerDep, user: CurrentUser,
    show: str = "unread",
    up_to: Annotated[int | None, Form(ge=0, le=MAX_ID)] = None,
    shown_at: Annotated[int | None, Form(ge=0, le=MAX_MILLISECONDS)] = None,
) -> Response:
    """Marks read what the page showed: items up to `up_to` (the newest it listed) and
    team news up to `shown_at` (when it was shown). A form without them (a page of an
    earlier release) marks everything, as that page's button said."""
    seen_at = (datetime.fromtimestamp(shown_at / 1000, UTC) if shown_at is not None
               else None)
    mark_all_read(session, by=user, up_to=up_to, seen_at=seen_at)
    return _lists(request, session, viewer, user, show)


@router.post("/requests/{request_id}/follow", name="requests.follow")
def follow_request(
    request: Request, session: SessionDep, user: CurrentUser, viewed: RequestForViewer,
) -> Response:
    set_following(session, user=user, request=viewed.request, following=True)
    # Back to the button, which sits at the foot of a long page.
    return redirect(f"/requests/{viewed.request.id}#follow", request)


@router.post("/requests/{request_id}/unfollow", name="requests.unfollow")
def unfollow_request(
    request: Request, session: SessionDep, user: CurrentUser, viewed: RequestForViewer,
) -> Response:
    set_following(session, user=user, request=viewed.request, following=False)
    return redirect(f"/requests/{viewed.request.id}#follow", request)


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
