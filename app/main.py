"""The web application: middleware, static files, error pages, routers."""

from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth import LoginRequired, require_csrf
from app.config import get_settings
from app.errors import DomainError
from app.routes import auth, catalog, health, overview, people, queues, requests
from app.web import ROOT, is_htmx, render

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


class BodySizeLimit:
    """Refuses bodies larger than the upload limit allows before reading them, so a
    huge upload is a 413 and never fills the disk."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length")
            if length and length.isdigit() and int(length) > self.max_bytes:
                response = Response(
                    f"The upload is too large: the limit is "
                    f"{self.max_bytes // (1024 * 1024)} MB in all.",
                    status_code=413, media_type="text/plain",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz"


def _error_page(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status)
    if is_htmx(request):
        return render(request, "_error.html", {"message": message}, block="message",
                      status=status, headers={"HX-Reswap": "none", "HX-Trigger": "baton-error"})
    return render(request, "_error.html", {"message": message, "status": status}, status=status)


def create_app() -> FastAPI:
    settings = get_settings()
    settings.require_secret_key()
    app = FastAPI(
        title="Baton", dependencies=[Depends(require_csrf)], docs_url=None, redoc_url=None
    )

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired) -> Response:
        target = "/login?next=" + quote(request.url.path + (
            f"?{request.url.query}" if request.url.query else ""
        ))
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        if _wants_json(request):
            return JSONResponse({"detail": "Sign in first."}, status_code=401)
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        messages = {404: "There is nothing here.", 405: "That action is not possible here."}
        detail = exc.detail if isinstance(exc.detail, str) else None
        return _error_page(request, exc.status_code, detail or messages.get(
            exc.status_code, "Something about that request was not right."
        ))

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'][1:]) or 'input'}: {error['msg']}"
            for error in exc.errors()
        )
        return _error_page(request, 400, f"That address or form was not understood ({problems}).")

    @app.exception_handler(DomainError)
    async def refused(request: Request, exc: DomainError) -> Response:
        return _error_page(request, exc.status_code, exc.message)

    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")
    for router in (auth, catalog, requests, queues, overview, people, health):
        app.include_router(router.router)
    # A form may carry several files; ten times the per-file limit bounds the whole body.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_mb * 10 * 1024 * 1024)
    return app
