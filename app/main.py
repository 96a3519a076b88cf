"""The web application: middleware, static files, error pages, routers."""

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import ROOT, get_settings
from app.reads.queues import BadCursor
from app.rules.errors import DomainError
from app.storage.db import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE
from app.web.api import PREFIX as API_PREFIX
from app.web.api import create_api
from app.web.api.problems import problem
from app.web.auth import LoginRequired, read_viewer_for_error_page, require_csrf
from app.web.button_addresses import page_above
from app.web.page_cache import PageCache
from app.web.process_tuning import tuned_process
from app.web.render import is_htmx, render
from app.web.request_body import BodyGate
from app.web.routes import (
    admin,
    admin_people,
    admin_services,
    api_docs,
    auth,
    bulk,
    catalog,
    health,
    inbox,
    insights,
    overview,
    people,
    queues,
    reports,
    requests,
    saved_views,
    search,
    task_actions,
    task_panel,
    team_insights,
    tokens,
)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}

_log = logging.getLogger("baton")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz"


def _address_of(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def _page_of_htmx(request: Request) -> str | None:
    """The address of this site's page an htmx request was made from (its
    HX-Current-URL), as a path; None for another site's or none."""
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    if current.netloc != request.url.netloc or not current.path.startswith("/"):
        return None
    return current.path + (f"?{current.query}" if current.query else "")


def _login_for(address: str) -> str:
    return "/login?next=" + quote(address)


def _error_page(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith(API_PREFIX):
        # An /api/v1 address the API's own application was not routed (a path the mount
        # does not match, such as one with a line break): still a problem, as the API's.
        return problem(status, message)
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status)
    if is_htmx(request):
        # Nothing is swapped; static/baton.js shows the message in the toast.
        trigger = json.dumps({"baton-error": {"message": message}})
        return render(request, "_error.html", {"message": message}, block="message",
                      status=status, headers={"HX-Reswap": "none", "HX-Trigger": trigger})
    return render(request, "_error.html", {"message": message, "status": status}, status=status)


def create_app() -> FastAPI:
    settings = get_settings()
    settings.require_secret_key()
    # No OpenAPI document of the pages: the API's own is at /api/v1/openapi.json, for
    # callers with a token (app.web.api).
    app = FastAPI(
        title="Baton", dependencies=[Depends(require_csrf)], docs_url=None, redoc_url=None,
        openapi_url=None, lifespan=_lifespan,
    )

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired) -> Response:
        if is_htmx(request):
            # Back, after signing in, to the page the person was on (htmx says which),
            # not to the fragment it asked for: a live page's poll, say, would land
            # them on a bare piece of a page.
            target = _login_for(_page_of_htmx(request) or _address_of(request))
            return Response(status_code=204, headers={"HX-Redirect": target})
        target = _login_for(_address_of(request))
        if _wants_json(request):
            return JSONResponse({"detail": "Sign in first."}, status_code=401)
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405 and request.method in ("GET", "HEAD") and not (
                is_htmx(request) or _wants_json(request)):
            page = page_above(request.url.path,
                              (route for router in routers for route in router.routes))
            if page is not None:
                return RedirectResponse(page, status_code=303)
        if not (is_htmx(request) or _wants_json(request)):
            await read_viewer_for_error_page(request)
        messages = {
            404: "There is nothing here.",
            405: "This address belongs to a button, not a page. Go back and use the button.",
        }
        detail: str | None = exc.detail if isinstance(exc.detail, str) else None
        if detail == HTTPStatus(exc.status_code).phrase:  # Starlette's bare default
            detail = None
        return _error_page(request, exc.status_code, detail or messages.get(
            exc.status_code, "Something about that request was not right."
        ))

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, exc: RequestValidationError) -> Response:
        if any(error["loc"][0] == "path" for error in exc.errors()):
            return _error_page(request, 404, "There is nothing here.")
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'][1:]) or 'input'}: {error['msg']}"
            for error in exc.errors()
        )
        return _error_page(request, 400, f"That address or form was not understood ({problems}).")

    @app.exception_handler(DataError)
    async def unstorable(request: Request, _exc: DataError) -> Response:
        # The rule's transaction was already rolled back; nothing was half-written.
        return _error_page(request, 400, "Some of that input cannot be stored (for example an "
                                         "invisible control character). Remove it and try again.")

    async def database_unavailable(request: Request, exc: Exception) -> Response:
        # Nothing is half-written (a rule's transaction is rolled back whole) and the
        # same request will very likely work in a moment (app.storage.db.DATABASE_UNAVAILABLE).
        _log.warning("database unavailable (%s %s): %s", request.method, request.url.path,
                     str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        response = _error_page(request, 503, UNAVAILABLE_MESSAGE)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, database_unavailable)

    @app.exception_handler(BadCursor)
    async def broken_page_link(request: Request, _exc: BadCursor) -> Response:
        return _error_page(request, 400, "That page link is broken: go back to the first page.")

    @app.exception_handler(DomainError)
    async def refused(request: Request, exc: DomainError) -> Response:
        response = _error_page(request, exc.status_code, exc.message)
        if retry_after := getattr(exc, "retry_after", None):  # a 429 says when to retry
            response.headers["Retry-After"] = str(retry_after)
        return response

    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")
    routers = [area.router for area in (auth, catalog, requests, queues, task_actions, bulk,
                                        overview, reports, people, search, inbox, health,
                                        admin, admin_people,
                                        admin_services, task_panel,
                                        # A team's page before a service's lists, which
                                        # /insights/teams/tasks would otherwise match.
                                        team_insights, insights, saved_views, tokens,
                                        api_docs)]
    for router in routers:
        app.include_router(router)
    api = create_api()
    # The API's dependencies come from the same place as the pages' (tests override the
    # database session once, on this application).
    api.dependency_overrides = app.dependency_overrides
    app.mount(API_PREFIX, api)
    # Innermost, so the page cache and the headers wrap its refusals too.
    app.add_middleware(BodyGate, web_app=app, routers=routers)
    app.add_middleware(PageCache, seconds=settings.queue_page_seconds)
    app.add_middleware(SecurityHeaders, hsts=settings.cookie_secure)
    return app


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    with tuned_process(get_settings()):
        yield


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response and `Cache-Control: no-store` to pages
    (they show private work: never keep them in a shared or back-button cache). Plain
    ASGI: Starlette's BaseHTTPMiddleware cost a fifth of a millisecond per request.

    With `hsts` (the cookies are Secure, so Baton is served over HTTPS), browsers are
    told to come back over HTTPS only, so no first request travels in clear text."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False):
        self.app = app
        self.headers = dict(SECURITY_HEADERS)
        if hsts:
            self.headers["Strict-Transport-Security"] = "max-age=31536000"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_page = not scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                # A page under /static/ (an error's) may show who is asking as well.
                if is_page or headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
