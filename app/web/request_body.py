"""One way in for request bodies: read whole, bounded and timed, before the app runs.

Every body that reaches a route has been read here first, into memory (or a spooled
file past a megabyte), so that nothing downstream (the CSRF check, FastAPI's form
parameters, `await request.form()`) ever waits on a client: the database connection a
request takes is taken only once its body has arrived in full. A client that trickles
a body holds a coroutine of this middleware and nothing else.

The limit is chosen per route, before a byte of the body is read:
- every route takes at most SMALL_BODY_BYTES (a form of text);
- a route marked with `accepts_large_body` takes what its allowance says, and only
  from a signed-in person: the allowance is worked out (with the sign-in checked) in
  one short database session that is closed before the body is read.
A Content-Length over the limit is refused at once (413); a chunked body is refused
as soon as it passes the limit; a body that has not arrived by its deadline is a 408.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from tempfile import SpooledTemporaryFile
from typing import Any, TypeVar

import anyio
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, Headers
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.storage.db import (
    DATABASE_UNAVAILABLE,
    RETRY_AFTER_SECONDS,
    UNAVAILABLE_MESSAGE,
)
from app.storage.models import User
from app.web.session import session_of_its_own
from app.web.viewer import SESSION_COOKIE, load_viewer

SMALL_BODY_BYTES = 64 * 1024
# What a form's parser takes: one text answer may be up to 2 MB (so that an answer
# over its field's limit gets a message next to the field, not a refusal of the whole
# form), and a form at most 1,000 fields, whatever its encoding.
MAX_PART_BYTES = 2 * 1024 * 1024
MAX_FIELDS = 1000
# Bodies past this size are spooled to a temporary file while they arrive.
_SPOOL_IN_MEMORY_BYTES = 1024 * 1024
_REPLAY_CHUNK_BYTES = 64 * 1024
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# The allowance of a route that takes large bodies: given a database session, the
# signed-in person and the route's path parameters, how many bytes this route may take.
Allowance = Callable[[Session, User, dict[str, Any]], int]
F = TypeVar("F", bound=Callable[..., Any])
_ALLOWANCE_ATTRIBUTE = "__baton_body_allowance__"


def accepts_large_body(allowance: Allowance) -> Callable[[F], F]:
    """Marks a route handler as taking bodies larger than a form of text (uploads)."""

    def mark(handler: F) -> F:
        setattr(handler, _ALLOWANCE_ATTRIBUTE, allowance)
        return handler

    return mark


@dataclass(frozen=True)
class BodyTiming:
    """How long a body may take to arrive: a fixed grace plus the time its size takes at
    the slowest rate a real client on a poor connection sends at."""

    grace_seconds: float = 15.0
    min_bytes_per_second: int = 50 * 1024

    def deadline(self, size: int) -> float:
        return time.monotonic() + self.grace_seconds + size / self.min_bytes_per_second


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


class ClientGone(Exception):
    pass


class _Refusal:
    """A refusal in plain text; under /api/v1, as the API's problem details (RFC 9457,
    app.web.api.problems), whose clients read no other shape of error."""

    def __init__(self, status: int, text: str, headers: dict[str, str]):
        self.status, self.text, self.headers = status, text, headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response: Response
        if scope.get("path", "").startswith("/api/v1/"):
            response = JSONResponse(
                {"type": "about:blank", "title": HTTPStatus(self.status).phrase,
                 "status": self.status, "detail": self.text},
                status_code=self.status, headers=self.headers,
                media_type="application/problem+json")
        else:
            response = PlainTextResponse(self.text, status_code=self.status,
                                         headers=self.headers)
        await response(scope, receive, send)


def _refusal(status: int, text: str, *, retry_after: int | None = None) -> _Refusal:
    headers = {"Connection": "close"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return _Refusal(status, text, headers)


def _too_large(limit: int) -> _Refusal:
    if limit <= SMALL_BODY_BYTES:
        text = f"That is more than this form takes ({limit // 1024} KB)."
    else:
        text = f"That upload is too large: this form takes at most {limit / 2**20:.0f} MB in all."
    return _refusal(413, text)


class BodyGate:
    """The ASGI middleware that reads every request body before the app sees it."""

    def __init__(self, app: ASGIApp, *, web_app: Any, routers: list[Any],
                 timing: BodyTiming | None = None):
        self.app = app
        # The routers' routes say which take large bodies (they are included without a
        # prefix, so their paths are the application's).
        self.routes = [route for router in routers for route in router.routes]
        # The FastAPI application: its dependency overrides (tests) say where the
        # database session comes from.
        self.web_app = web_app
        self.timing = timing or BodyTiming()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length_text = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if length_text is None and not chunked:
            await self.app(scope, _no_body(receive), send)
            return
        if length_text is not None and not (length_text.isascii() and length_text.isdigit()
                                            and len(length_text) <= 15):
            await _refusal(400, "The request's Content-Length is not a number.")(
                scope, receive, send)
            return
        length = int(length_text) if length_text is not None else None
        limit = SMALL_BODY_BYTES
        if length is None or length > SMALL_BODY_BYTES:
            try:
                limit = await self._limit_for(scope)
            except DATABASE_UNAVAILABLE:
                await _refusal(503, UNAVAILABLE_MESSAGE, retry_after=RETRY_AFTER_SECONDS)(
                    scope, receive, send)
                return
        if length is not None and length > limit:
            await _too_large(limit)(scope, receive, send)
            return
        try:
            with anyio.fail_after(max(0.0, self.timing.deadline(length or limit)
                                      - time.monotonic())):
                body = await _read_body(receive, limit)
        except BodyTooLarge:
            await _too_large(limit)(scope, receive, send)
            return
        except TimeoutError:
            await _refusal(408, "The request took too long to arrive. Try again.")(
                scope, receive, send)
            return
        except ClientGone:
            return
        with body:
            await self.app(scope, _replay(body, receive), send)

    async def _limit_for(self, scope: Scope) -> int:
        allowance = self._allowance_of(scope)
        if allowance is None:
            return SMALL_BODY_BYTES
        handler, path_params = allowance
        return await run_in_threadpool(self._allowed_bytes, scope, handler, path_params)

    def _allowance_of(self, scope: Scope) -> tuple[Allowance, dict[str, Any]] | None:
        for route in self.routes:
            match, child = route.matches(scope)
            if match == Match.FULL:
                handler = getattr(child.get("endpoint"), _ALLOWANCE_ATTRIBUTE, None)
                return (handler, child.get("path_params", {})) if handler else None
        return None

    def _allowed_bytes(self, scope: Scope, allowance: Allowance,
                       path_params: dict[str, Any]) -> int:
        # Nobody who is not signed in gets a large body read.
        if not HTTPConnection(scope).cookies.get(SESSION_COOKIE):
            return SMALL_BODY_BYTES
        with self._open_session() as session:
            user = load_viewer(HTTPConnection(scope), session).user
            if user is None:
                return SMALL_BODY_BYTES
            return max(SMALL_BODY_BYTES, allowance(session, user, path_params))

    def _open_session(self) -> Any:
        return session_of_its_own(self.web_app)


async def _read_body(receive: Receive, limit: int) -> "SpooledTemporaryFile[bytes]":
    # Closed by the caller once the app is done with it (or below, on failure).
    body: SpooledTemporaryFile[bytes] = SpooledTemporaryFile(  # noqa: SIM115
        max_size=_SPOOL_IN_MEMORY_BYTES)
    received = 0
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                raise BodyTooLarge()
            if chunk:
                body.write(chunk)
            if not message.get("more_body", False):
                break
    except BaseException:
        body.close()
        raise
    body.seek(0)
    return body


def _replay(body: "SpooledTemporaryFile[bytes]", receive: Receive) -> Receive:
    """The app's receive: the body already read, in chunks, then the client's own
    messages (a disconnect) after it."""
    chunks = _chunks(body)
    size = body.seek(0, 2)
    body.seek(0)
    done = False

    async def replay() -> Message:
        nonlocal done
        if done:
            return await receive()
        chunk = next(chunks, None)
        if chunk is None:
            done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        more = body.tell() < size
        if not more:
            done = True
        return {"type": "http.request", "body": chunk, "more_body": more}

    return replay


def _chunks(body: "SpooledTemporaryFile[bytes]") -> Iterator[bytes]:
    while chunk := body.read(_REPLAY_CHUNK_BYTES):
        yield chunk


def _no_body(receive: Receive) -> Receive:
    """A request that declares no body has none; whatever else arrives is not read."""
    sent = False

    async def empty() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()

    return empty


async def posted_form(request: Request) -> FormData:
    """The posted form, parsed from the body the gate read, within MAX_FIELDS and
    MAX_PART_BYTES. The first parse is kept on the request: every reader of a form
    (the CSRF check, the routes) calls this, so the limits are these."""
    return await request.form(max_fields=MAX_FIELDS, max_part_size=MAX_PART_BYTES)
