"""CSRF tokens, the signed-in person, and the role checks of routes.

Signing in itself (passwords, login sessions) is app.rules.sign_in. Every unsafe request must carry
that CSRF token (a hidden form field, or the X-CSRF-Token header that HTMX sends).
Visitors who are not signed in (the login form) use a double-submit cookie instead.
"""

import hmac
import logging
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from app.rules.policy import may_administer, may_see_overview
from app.storage.models import User
from app.web.request_body import posted_form
from app.web.session import SessionDep, session_of_its_own
from app.web.viewer import ANON_CSRF_COOKIE, SESSION_COOKIE, Viewer, load_viewer

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

async def get_viewer(request: Request, session: SessionDep) -> Viewer:
    """Who is asking, read in the request's session before anything the page shows:
    here, or already as the session opened (app.web.one_trip_session, in the same trip
    to the thread pool)."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    if viewer is None:
        viewer = await run_in_threadpool(load_viewer, request, session)
        request.state.viewer = viewer
    return viewer


ViewerDep = Annotated[Viewer, Depends(get_viewer)]

_log = logging.getLogger("baton")


async def read_viewer_for_error_page(request: Request) -> None:
    """Who is asking, for the error page of an address no route takes (the router's 404
    or 405): no dependency ran, so nobody was read, and the page showed the header of
    someone signed out to a person who had only mistyped an address. Read in a session
    of its own, which only reads; nothing when someone was read already or no one is
    signed in. A database that is away leaves the page without navigation."""
    if getattr(request.state, "viewer", None) is not None \
            or not request.cookies.get(SESSION_COOKIE) \
            or request.url.path.startswith("/static/"):
        # A static file's 404 may be kept by a shared cache: it names nobody.
        return
    try:
        request.state.viewer = await run_in_threadpool(_read_viewer, request)
    except SQLAlchemyError as error:  # the header is the page's only use of it
        _log.warning("no viewer for the error page of %s: %s", request.url.path,
                     type(error).__name__)


def _read_viewer(request: Request) -> Viewer:
    with session_of_its_own(request.app, reads_alone=True) as session:
        return load_viewer(request, session)


class LoginRequired(Exception):
    """Raised for pages that need a signed-in person; the app redirects to /login."""


# The checks below only look at the viewer: `async` so that FastAPI calls them on the
# event loop instead of sending each to the thread pool and back (~0.1 ms a trip).
async def get_current_user(viewer: ViewerDep) -> User:
    if viewer.user is None:
        raise LoginRequired()
    return viewer.user


CurrentUser = Annotated[User, Depends(get_current_user)]


CSRF_REFUSED = HTTPException(
    status_code=403,
    detail="This form has expired or did not come from Baton. Reload the page and try again.",
)


async def require_csrf(request: Request, session: SessionDep) -> None:
    """Applied to every route: unsafe methods must carry the viewer's CSRF token.

    The body was read in full by app.web.request_body before this runs, so reading the form
    here waits on no client while a connection is held."""
    if request.method not in UNSAFE_METHODS:
        return
    if not (request.cookies.get(SESSION_COOKIE) or request.cookies.get(ANON_CSRF_COOKIE)):
        raise CSRF_REFUSED
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await posted_form(request)).get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not sent:
        raise CSRF_REFUSED
    viewer = await get_viewer(request, session)
    # As bytes: compare_digest refuses a str with characters beyond ASCII (a TypeError,
    # which was a 500 for a made-up token).
    if not viewer.csrf_token or not hmac.compare_digest(
        sent.encode("utf-8", "surrogateescape"), viewer.csrf_token.encode()
    ):
        raise CSRF_REFUSED


def new_anon_csrf_token() -> str:
    return secrets.token_urlsafe(32)


async def require_manager(user: CurrentUser) -> User:
    if not may_see_overview(user):
        raise HTTPException(status_code=403, detail="Only managers can see this page.")
    return user


async def require_admin(user: CurrentUser) -> User:
    if not may_administer(user):
        raise HTTPException(status_code=403, detail="Only admins can do this.")
    return user


ManagerUser = Annotated[User, Depends(require_manager)]
AdminUser = Annotated[User, Depends(require_admin)]
