"""The database session of a web request, as a FastAPI dependency (app.storage.db has
the engine and the transactions, and knows no HTTP)."""

import sys
from collections.abc import AsyncIterator
from contextlib import ExitStack
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.config import get_settings
from app.storage.db import get_engine, request_session
from app.web import one_trip_session


def _open(request: Request) -> tuple[ExitStack, Session]:
    stack = ExitStack()
    return stack, stack.enter_context(request_session(get_engine()))


async def _close(stack: ExitStack, session: Session, *failed: Any) -> None:
    await run_in_threadpool(stack.__exit__, *failed)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session: one connection for the whole request, its transaction
    ended as the request ends (app.storage.db.request_session). Opening and closing wait
    on the database, so both run in the thread pool; app.web.auth.get_viewer reads who
    is asking. With BATON_ONE_TRIP_SESSION (the default), app.web.one_trip_session opens
    and closes the same session in fewer trips to the thread pool."""
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
    await close(stack, session, None, None, None)


SessionDep = Annotated[Session, Depends(get_session)]
