"""The database session of a web request, as a FastAPI dependency (app.storage.db has
the engine and the transactions, and knows no HTTP)."""

import logging
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.config import get_settings
from app.storage.db import DATABASE_UNAVAILABLE, get_engine, request_session
from app.web import one_trip_session
from app.web.reads_alone import reads_alone

_log = logging.getLogger("baton")


def _open(request: Request) -> tuple[ExitStack, Session]:
    stack = ExitStack()
    return stack, stack.enter_context(
        request_session(get_engine(), reads_alone=reads_alone(request)))


async def _close(stack: ExitStack, session: Session, *failed: Any) -> None:
    await run_in_threadpool(stack.__exit__, *failed)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session: one connection for the whole request, its transaction
    ended as the request ends (app.storage.db.request_session). Opening and closing wait
    on the database, so both run in the thread pool; app.web.auth.get_viewer reads who
    is asking. With BATON_ONE_TRIP_SESSION (the default), app.web.one_trip_session opens
    and closes the same session in fewer trips to the thread pool.

    A request that succeeded is closed after its answer was sent (FastAPI ends a
    dependency with yield once the response is out), so a database that goes away just
    then (a restart) is logged, not raised: raised, it reached uvicorn as the
    application failing after its response, and uvicorn closed the kept-alive
    connection, resetting the next request the client had already sent on it. Nothing
    is lost: the rules committed what the request changed before its answer, and
    closing only commits a transaction that wrote nothing (app.storage.db.end_request)
    or rolls back one that was never to be kept."""
    if get_settings().one_trip_session:
        open_, close = one_trip_session.open_with_viewer, one_trip_session.close
    else:
        open_, close = _open, _close
    stack, session = await run_in_threadpool(open_, request)
    try:
        yield session
    except BaseException:
        await close(stack, session, *sys.exc_info())
        raise
    try:
        await close(stack, session, None, None, None)
    except DATABASE_UNAVAILABLE as error:
        _log.warning("database unavailable as %s %s ended, after its answer: %s",
                     request.method, request.url.path,
                     str(error).splitlines()[0] if str(error) else type(error).__name__)


SessionDep = Annotated[Session, Depends(get_session)]


def session_of_its_own(app: FastAPI, *, reads_alone: bool = False) -> Any:
    """A session for code that runs outside the route's dependencies (the body gate's
    allowance, an error page's viewer), as a context manager: the test's own session
    where a test overrides get_session, else a request session on a connection of its
    own."""
    override = app.dependency_overrides.get(get_session)
    if override is not None:
        return _session_from(override)
    return request_session(get_engine(), reads_alone=reads_alone)


@contextmanager
def _session_from(factory: Callable[[], Any]) -> Iterator[Session]:
    """A test's own session: a function that returns one (rolled back at the test's
    end: used, not closed), or a generator dependency (closed after)."""
    made = factory()
    if isinstance(made, Session):
        yield made
        return
    try:
        yield next(made)
    finally:
        made.close()
