"""Every error of /api/v1 as RFC 9457 problem details (application/problem+json): a
`type`, `title`, `status` and `detail`, and for input that does not fit, `errors` keyed by
field. The handlers here are the API application's own, so FastAPI's own 404, 405 and
422 answers for /api/v1 addresses come out in this shape too."""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.reads.queues import BadCursor
from app.rules.errors import DomainError, FormInvalid, IntakeInvalid
from app.storage.db import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE

PROBLEM_TYPE = "application/problem+json"
# Where a kind of problem is explained: the API's documentation page (relative, so it
# resolves against whichever address Baton is served at).
DOCS = "/help/api#problem-"
REALM = 'Bearer realm="baton"'


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="A URI naming the kind of problem ('about:blank': "
                                  "only the HTTP status says what it is).")
    title: str
    status: int
    detail: str
    errors: dict[str, str] | None = Field(
        default=None, description="For input that does not fit: a message per field.")


class ApiProblem(Exception):
    """An /api/v1 answer that is a problem."""

    def __init__(self, status: int, detail: str, *, kind: str | None = None,
                 errors: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.kind = status, detail, kind
        self.errors, self.headers = errors, headers or {}


def problem_body(status: int, detail: str, *, kind: str | None = None,
                 errors: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": DOCS + kind if kind else "about:blank",
        "title": HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_
        else "Error",
        "status": status, "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return body


def problem(status: int, detail: str, *, kind: str | None = None,
            errors: dict[str, str] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(problem_body(status, detail, kind=kind, errors=errors),
                        status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def unauthenticated(detail: str, *, invalid: bool = False) -> ApiProblem:
    challenge = REALM + (', error="invalid_token"' if invalid else "")
    return ApiProblem(401, detail, kind="unauthenticated",
                      headers={"WWW-Authenticate": challenge})


def _field_of(loc: tuple[Any, ...]) -> str:
    """Where input went wrong, as the API's callers name it: a body's field path
    (`answers.summary`), a query or path parameter's name."""
    parts = [str(part) for part in loc[1:]] or [str(loc[0]) if loc else "input"]
    return ".".join(parts) or "body"


def domain_problem(error: DomainError) -> ApiProblem:
    errors = error.errors if isinstance(error, IntakeInvalid | FormInvalid) else None
    headers = {}
    if retry_after := getattr(error, "retry_after", None):
        headers["Retry-After"] = str(retry_after)
    kind = {403: "forbidden", 409: "conflict", 422: "invalid", 429: "too-many"}.get(
        error.status_code)
    return ApiProblem(error.status_code, error.message, kind=kind, errors=errors,
                      headers=headers)


_KINDS = {403: "forbidden", 404: "not-found"}


def install(api: FastAPI) -> None:
    @api.exception_handler(ApiProblem)
    async def api_problem(_request: Request, exc: ApiProblem) -> Response:
        return problem(exc.status, exc.detail, kind=exc.kind, errors=exc.errors,
                       headers=exc.headers)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = "There is nothing at this address of the API."
        elif exc.status_code == 405:
            detail = "This address does not take that method."
        # The pages' access checks (app.web.access), which the API calls too, answer
        # with HTTPException: their 404s and 403s are the API's not-found and forbidden.
        return problem(exc.status_code, detail, kind=_KINDS.get(exc.status_code),
                       headers=getattr(exc, "headers", None))

    @api.exception_handler(RequestValidationError)
    async def bad_input(_request: Request, exc: RequestValidationError) -> Response:
        errors: dict[str, str] = {}
        for error in exc.errors():
            errors.setdefault(_field_of(tuple(error.get("loc", ()))), str(error.get("msg")))
        return problem(422, "Some of the input does not fit: see `errors`.", kind="invalid",
                       errors=errors)

    @api.exception_handler(DomainError)
    async def refused(_request: Request, exc: DomainError) -> Response:
        found = domain_problem(exc)
        return problem(found.status, found.detail, kind=found.kind, errors=found.errors,
                       headers=found.headers)

    @api.exception_handler(BadCursor)
    async def broken_cursor(_request: Request, _exc: BadCursor) -> Response:
        return problem(400, "That cursor is broken: start again from the first page.",
                       kind="invalid", errors={"after": "Not a cursor this list gave."})

    @api.exception_handler(DataError)
    async def unstorable(_request: Request, _exc: DataError) -> Response:
        return problem(400, "Some of that input cannot be stored (for example an invisible "
                            "control character).", kind="invalid")

    async def unavailable(_request: Request, _exc: Exception) -> Response:
        return problem(503, UNAVAILABLE_MESSAGE,
                       headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    for error_class in DATABASE_UNAVAILABLE:
        api.add_exception_handler(error_class, unavailable)
