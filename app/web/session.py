"""The database session of a web request, as a FastAPI dependency (app.storage.db has
the engine and the transactions, and knows no HTTP)."""

import sys
from collections.abc import AsyncIterator
from contextlib import ExitStack
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.storage.db import get_engine, request_session
from app.web.viewer import load_viewer


def _open_request(request: Request) -> tuple[ExitStack, Session]:
    """Opens a request's session and, for a page (a GET), reads who is asking in the
    same trip to the thread pool. A form post reads them later, in app.web.auth's CSRF
    check, once its body has arrived: a slow upload must hold no transaction."""
    stack = ExitStack()
    session = stack.enter_context(request_session(get_engine()))
    if request.method in ("GET", "HEAD"):
        try:
            request.state.viewer = load_viewer(request, session)
        except BaseException:
            stack.__exit__(*sys.exc_info())
            raise
    return stack, session


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session, for FastAPI. Each trip from the event loop to the thread
    pool and back costs about 0.1 ms of CPU (bench/RESULTS.md): a plain generator
    dependency made two (open, close), the viewer and the signed-in person one each. It
    opens in one trip (with the viewer) and closes on the event loop where closing
    only ends a SQLite read or gives back a connection; on PostgreSQL closing sends a
    COMMIT or ROLLBACK, so it goes to the thread pool."""
    stack, session = await run_in_threadpool(_open_request, request)

    async def close(*failed: Any) -> None:
        if session.get_bind().dialect.name == "sqlite":
            stack.__exit__(*failed)
        else:
            await run_in_threadpool(stack.__exit__, *failed)

    try:
        yield session
    except BaseException:
        await close(*sys.exc_info())
        raise
    await close(None, None, None)


SessionDep = Annotated[Session, Depends(get_session)]
