"""Signing in and out."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.config import get_settings
from app.demo import DEMO_PASSWORD, demo_accounts
from app.rules.inputs import MAX_TIME_ZONE_LENGTH
from app.rules.login_throttle import TooManyAttempts, count_attempt, record_success
from app.rules.sign_in import authenticate, end_session, start_session
from app.web.auth import ANON_CSRF_COOKIE, SESSION_COOKIE, ViewerDep, new_anon_csrf_token
from app.web.render import redirect, render, safe_next
from app.web.session import SessionDep

router = APIRouter()


def _login_page(
    request: Request, session: SessionDep, *, next_url: str, email: str = "",
    error: str | None = None, status: int = 200,
) -> Response:
    token = request.cookies.get(ANON_CSRF_COOKIE) or new_anon_csrf_token()
    request.state.viewer.csrf_token = token
    accounts = demo_accounts(session) if get_settings().demo_mode else []
    response = render(request, "auth/login.html", {
        "next": next_url, "email": email, "error": error,
        "demo_accounts": accounts, "demo_password": DEMO_PASSWORD,
    }, status=status)
    response.set_cookie(ANON_CSRF_COOKIE, token, httponly=True, samesite="lax",
                        secure=get_settings().cookie_secure)
    return response


@router.get("/login", name="auth.login")
def show_login(
    request: Request, session: SessionDep, viewer: ViewerDep, next: str | None = None
) -> Response:
    if viewer.user is not None:
        return redirect(safe_next(next))
    return _login_page(request, session, next_url=safe_next(next))


@router.post("/login", name="auth.login_submit")
def log_in(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
    # Filled in by static/baton.js from the browser (Intl); empty without script.
    time_zone: Annotated[str, Form(max_length=MAX_TIME_ZONE_LENGTH)] = "",
) -> Response:
    # Behind a reverse proxy this is the proxy's address unless uvicorn trusts its
    # X-Forwarded-For (--forwarded-allow-ips / --proxy-headers, see the README): then
    # every client shares one address and one count.
    address = request.client.host if request.client else None
    # Counted before the password is checked, so that guesses sent in parallel cannot
    # all be checked before any is counted (app.rules.login_throttle).
    try:
        attempt = count_attempt(session, email=email, address=address)
    except TooManyAttempts as refused:
        return _refused(request, session, refused, next_url=safe_next(next), email=email)
    user = authenticate(session, email=email, password=password)
    if user is None:
        if attempt.block is not None:
            return _refused(request, session, attempt.block, next_url=safe_next(next),
                            email=email)
        return _login_page(
            request, session, next_url=safe_next(next), email=email, status=422,
            error="That e-mail and password do not match an active account.",
        )
    token = start_session(session, user=user, browser_zone=time_zone)
    record_success(session, attempt)
    response = redirect(safe_next(next))
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE, token, max_age=settings.session_days * 86400, httponly=True,
        samesite="lax", secure=settings.cookie_secure,
    )
    response.delete_cookie(ANON_CSRF_COOKIE, httponly=True, samesite="lax",
                           secure=settings.cookie_secure)
    return response


def _refused(
    request: Request, session: SessionDep, refused: TooManyAttempts, *, next_url: str,
    email: str,
) -> Response:
    """The same answer whether or not the account exists."""
    response = _login_page(request, session, next_url=next_url, email=email, status=429,
                           error=refused.message)
    response.headers["Retry-After"] = str(refused.seconds)
    return response


@router.post("/logout", name="auth.logout")
def log_out(request: Request, session: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        end_session(session, token=token)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax",
                           secure=get_settings().cookie_secure)
    return response
