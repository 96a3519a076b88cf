"""The seam "one-trip session" (BATON_ONE_TRIP_SESSION, on by default): how
app.web.session.get_session opens and closes a request's session in fewer trips between
the event loop and the thread pool. Each trip costs about 0.1 ms of CPU
(bench/RESULTS.md): the plain way takes one to open, one to close, and one for who is
asking (app.web.auth.get_viewer); this way, one in all on SQLite, and on PostgreSQL
one more where closing ends a transaction.

- It opens the session and reads who is asking in the same trip, leaving the viewer
  where get_viewer finds it: for a page, and for a form post, whose CSRF check
  (app.web.auth.require_csrf) then asks for it without a trip of its own.
- It closes on the event loop where closing only ends a SQLite read or gives back a
  connection, as for a route that reads alone (app.web.reads_alone) or a post whose
  change is committed and that read nothing after: no transaction to end. Elsewhere on
  PostgreSQL closing sends a COMMIT or ROLLBACK, so it goes to the pool.

Invariants, which make the page the same as the plain way's (tests/test_speed_switches.py):
- The viewer is read in the same transaction as the page, before anything it shows (the
  kept queue page's directory version relies on it: app.web.page_cache).
- No transaction is held while a request's body is read: app.web.request_body reads
  every body before any of this runs, so reading a post's viewer here, before the CSRF
  check reads its form, waits on no client either.
- Closing does what the plain way's closing does (app.storage.db.request_session), only
  on another thread.
"""

import sys
from contextlib import ExitStack
from typing import Any

from fastapi import Request
from sqlalchemy.engine import Connection
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.storage.db import get_engine, reads_alone_on, request_session
from app.web.reads_alone import reads_alone
from app.web.viewer import load_viewer


def open_with_viewer(request: Request) -> tuple[ExitStack, Session]:
    """Opens the request's session and reads who is asking: one trip."""
    stack = ExitStack()
    session = stack.enter_context(
        request_session(get_engine(), reads_alone=reads_alone(request)))
    try:
        request.state.viewer = load_viewer(request, session)
    except BaseException:
        stack.__exit__(*sys.exc_info())
        raise
    return stack, session


async def close(stack: ExitStack, session: Session, *failed: Any) -> None:
    """Closes what open_with_viewer opened: on the event loop for SQLite, and on
    PostgreSQL where the connection has no transaction to end: a route that only reads
    (app.storage.db.request_session, reads_alone), or a post whose rule committed and
    that read nothing after (a redirect). Giving such a connection back to the pool
    sends nothing (psycopg's rollback of a connection in no transaction)."""
    bind = session.get_bind()
    if bind.dialect.name == "sqlite" or (isinstance(bind, Connection) and (
            reads_alone_on(bind) or not (session.in_transaction() or bind.in_transaction()))):
        stack.__exit__(*failed)
    else:
        await run_in_threadpool(stack.__exit__, *failed)
