"""Passwords, login sessions, CSRF tokens and the signed-in person.

A browser holds a random token in an HttpOnly cookie; the database holds only an HMAC of
it with the secret key, next to the session's CSRF token. Every unsafe request must carry
that CSRF token (a hidden form field, or the X-CSRF-Token header that HTMX sends).
Visitors who are not signed in (the login form) use a double-submit cookie instead.
"""

import hmac
import secrets
from datetime import timedelta
from typing import Annotated

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from fastapi import Depends, HTTPException, Request
from sqlmodel import Session, col, delete, select
from starlette.concurrency import run_in_threadpool

from app.config import get_settings
from app.db import SessionDep, one_transaction
from app.models import LoginSession, User, utcnow
from app.request_body import posted_form
from app.viewer import ANON_CSRF_COOKIE, SESSION_COOKIE, Viewer, load_viewer, token_hash

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane) rather than the
# library's 64 MiB default: every sign-in allocates this much, and 64 MiB was most of a
# worker's peak memory. Hashes made with other parameters still verify.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the e-mail is unknown, so a wrong e-mail costs as long as a
# wrong password and login timing does not reveal who has an account.
_DUMMY_HASH = _hasher.hash("baton-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the hash. An empty or unreadable hash (or a password
    that cannot be encoded) matches nothing: a failed sign-in, never an error."""
    if not password_hash:
        # Checked against the dummy hash for the time it takes, never for its answer:
        # an empty hash must not accept the dummy's password.
        _verify(_DUMMY_HASH, password)
        return False
    return _verify(password_hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    # InvalidHashError and UnicodeEncodeError (a character that is not UTF-8, in the
    # hash or the password) are both ValueErrors.
    except (VerificationError, ValueError):
        return False


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        _verify(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    return user


@one_transaction
def start_session(session: Session, *, user: User) -> str:
    """Signs the user in; returns the token for the cookie. Commits."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.exec(delete(LoginSession).where(  # type: ignore[call-overload]
        col(LoginSession.user_id) == user.id, col(LoginSession.expires_at) < now
    ))
    session.add(LoginSession(
        token_hash=token_hash(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
        created_at=now, expires_at=now + timedelta(days=get_settings().session_days),
    ))
    session.commit()
    return token


@one_transaction
def end_session(session: Session, *, token: str) -> None:
    session.exec(delete(LoginSession).where(  # type: ignore[call-overload]
        col(LoginSession.token_hash) == token_hash(token)
    ))
    session.commit()


async def get_viewer(request: Request, session: SessionDep) -> Viewer:
    """The viewer app.db.get_session read as it opened the request's session (in the
    same trip to the thread pool); read here only for a session that did not."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    if viewer is None:
        viewer = await run_in_threadpool(load_viewer, request, session)
        request.state.viewer = viewer
    return viewer


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


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

    The body was read in full by app.request_body before this runs, so reading the form
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
    if not user.is_manager:
        raise HTTPException(status_code=403, detail="Only managers can see this page.")
    return user


async def require_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise HTTPException(status_code=403, detail="Only admins can do this.")
    return user


ManagerUser = Annotated[User, Depends(require_manager)]
AdminUser = Annotated[User, Depends(require_admin)]
