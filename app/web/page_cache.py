"""The seam "kept queue page" (BATON_QUEUE_PAGE_SECONDS; 0 turns it off and renders every
page): queue pages served again from memory while nothing they show has changed.

Its invariant: a kept page is served only to the login it was rendered for, and only
while everything it shows but its ages and due times is what a new render would show
(tests/test_page_cache.py; tests/test_speed_switches.py compares pages with it off).

A team's queue is the page its people reload all day, and rendering fifty rows is most
of a request's cost. So each worker keeps the last pages it rendered (per login, address
and htmx or not) for at most `queue_page_seconds`, and serves one again, without the
framework's request cycle, only when one statement confirms that nothing on it can
differ: the login still exists, has not expired and its person is still active; the
team's queue version and the directory version (app.storage.page_versions: every change to the
team's tasks; to teams, memberships, people and services) are what they were when the
page was rendered. Only the ages and due times on a kept page can be older than the
page itself, by at most `queue_page_seconds`.

A page's versions are read before what it shows (the directory version with the
viewer, the queue version before the queue): a change that lands in between can only
make the page newer than its versions, so the next request renders it again; never the
other way round.

Opening a queue page as one of its members also moves their mark on the team's news
(app.web.routes.queues._look_at_queue): a write the route makes, which a page served
from memory skips. It is never skipped when due: a look is due only while an open task
of the team is newer than the member's mark, which adds the team to the bell's count,
and the page's count was read after its own look; so the check finds the count changed
and the request goes to the route (tests/test_page_cache.py).
"""

import asyncio
import re
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from time import monotonic
from typing import Any

from sqlalchemy import bindparam, create_engine, select
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import get_settings
from app.reads.inbox import bell_params, bell_statement
from app.rules.sign_in import token_hash
from app.storage.db import get_engine
from app.storage.driver_reads import DriverRead
from app.storage.models import LoginSession, User, utcnow
from app.storage.page_versions import QUEUE_VERSION_READ, directory_version, queue_version
from app.web.render import is_htmx
from app.web.viewer import SESSION_COOKIE, Viewer

PAGE_VERSION = "baton.page_version"  # where a route leaves the version of its page
_QUEUE_PAGE = re.compile(r"/queues/[^/]+")

_LOGINS, _USERS = (model.__table__  # type: ignore[attr-defined,union-attr]
                   for model in (LoginSession, User))
_LOGIN, _USER = _LOGINS.c, _USERS.c
_STILL_CURRENT = (
    select(_LOGIN.user_id, _LOGIN.expires_at, _USER.is_active,
           queue_version(bindparam("team")), directory_version)
    .select_from(_LOGINS.join(_USERS, _USER.id == _LOGIN.user_id))
    .where(_LOGIN.token_hash == bindparam("token"))
)
_STILL_CURRENT_READ = DriverRead(_STILL_CURRENT)


@dataclass(frozen=True)
class PageVersion:
    """What a page was rendered from: whose page, which queue, at which versions."""

    user_id: int
    team_id: int
    queue_version: int
    directory_version: int
    # The inbox bell on the page (app.reads.inbox): its count, and the teams it was
    # counted over (those the directory version vouches for). None: a page without it.
    unread: int | None = None
    team_ids: frozenset[int] = frozenset()


def queue_page_version(session: Session, viewer: Viewer, team_id: int, *,
                       queue: int | None = None) -> PageVersion:
    """The version of a team's queue page as the viewer sees it: the directory version
    read with the viewer (so with their teams and roles, before anything the page
    shows), the queue version now, before the queue (`queue`: read already, before
    anything else of it, as app.reads.task_counts.team_counters_at_version reads it)."""
    if viewer.user is None:
        raise ValueError("a queue page is kept only for someone signed in")
    if queue is None:
        queue = QUEUE_VERSION_READ.first(session.connection(), {"team": team_id})[0]
    return PageVersion(viewer.user.id, team_id, queue, viewer.directory_version,
                       viewer.unread, viewer.team_ids)


def keep_queue_page(request: Request, session: Session, viewer: Viewer, team_id: int, *,
                    queue: int | None = None) -> None:
    """Lets PageCache keep the team's queue page this request renders: called before
    the page reads the queue, or with the queue version read before it (see the
    module)."""
    if get_settings().queue_page_seconds > 0:
        request.scope[PAGE_VERSION] = queue_page_version(session, viewer, team_id,
                                                         queue=queue)


@lru_cache
def _checking_engine(url: URL) -> Engine:
    """The checks' own pool, in autocommit, so that a check is one statement (on
    PostgreSQL one round trip: a pooled, pre-pinged transaction made it four, ping,
    BEGIN, SELECT, COMMIT). No check as it leaves the pool (app.storage.db): a
    connection the server has dropped fails its check, the page is rendered as usual,
    and the pool replaces the connection.

    On SQLite the checks run on the event loop, one at a time, so one connection is
    all they use; from the requests' pool, whose connections are given back on the
    event loop too, a check could have waited on the loop for one that only the loop
    could return."""
    if url.get_backend_name() == "sqlite":
        return create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=1,
                             connect_args={"check_same_thread": False})
    settings = get_settings()
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_size=settings.pool_size,
                         max_overflow=settings.max_overflow, pool_use_lifo=True)


@lru_cache(maxsize=32)
def _still_current_with_bell(teams: int) -> DriverRead:
    return DriverRead(_STILL_CURRENT.add_columns(bell_statement(teams).scalar_subquery()))


def _still_current(engine: Engine, token: str, version: PageVersion) -> bool:
    # The bell's count in the same statement: a kept page shows the count it was
    # rendered with, so it is served again only while that is still the count.
    params = {"token": token, "team": version.team_id}
    read = _STILL_CURRENT_READ
    if version.unread is not None:
        read = _still_current_with_bell(len(version.team_ids))
        params.update(bell_params(version.user_id, version.team_ids))
    try:
        with engine.connect() as connection:
            row = read.first(connection, params)
    except SQLAlchemyError:
        return False
    if row is None:
        return False
    user_id, expires_at, is_active, queue, directory = row[:5]
    unread: list[int] = list(row[5:])
    return (user_id == version.user_id and is_active and expires_at > utcnow()
            and (queue, directory) == (version.queue_version, version.directory_version)
            and (version.unread is None or unread == [version.unread]))


@dataclass
class KeptPage:
    version: PageVersion
    rendered_at: float  # time.monotonic()
    start: Message
    body: Message


Key = tuple[str, str, bytes, bool]


def _page_key(scope: Scope) -> Key | None:
    """Whose page at which address, as the route would render it; None for what is
    never kept."""
    if scope["type"] != "http" or scope["method"] != "GET" \
            or not _QUEUE_PAGE.fullmatch(scope["path"]):
        return None
    request = Request(scope)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return token_hash(token), scope["path"], scope["query_string"], is_htmx(request)


class PageCache:
    """ASGI middleware keeping the pages routes mark with `keep_queue_page` (see the
    module)."""

    def __init__(self, app: ASGIApp, *, seconds: float, pages: int = 64,
                 engine: Any = get_engine):
        self.app = app
        self.seconds = seconds
        self.pages = pages
        self.engine = engine
        self.checks: Engine | None = None  # the checks' engine, made at the first check
        self.kept: OrderedDict[Key, KeptPage] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _page_key(scope) if self.seconds > 0 else None
        if key is None:
            await self.app(scope, receive, send)
            return
        kept = self.kept.get(key)
        if kept is not None and await self._still_current(key[0], kept):
            if key in self.kept:  # while it was checked, other requests may have pushed it out
                self.kept.move_to_end(key)
            # Copies: the middleware outside adds its headers to the message it is sent.
            await send({**kept.start, "headers": list(kept.start["headers"])})
            await send(kept.body)
            return
        await self._render(key, scope, receive, send)

    async def _still_current(self, token: str, kept: KeptPage) -> bool:
        if monotonic() - kept.rendered_at > self.seconds:
            return False
        if self.checks is None:
            self.checks = _checking_engine(self.engine().url)
        engine = self.checks
        if engine.dialect.name == "sqlite":
            # One indexed read; in WAL mode a reader never waits for a writer.
            return _still_current(engine, token, kept.version)
        # asyncio's own executor: a third of the CPU of anyio's trip to its thread pool
        # (cancel scopes, capacity limiter), which was most of this check's cost.
        return await asyncio.get_running_loop().run_in_executor(
            None, _still_current, engine, token, kept.version)

    async def _render(self, key: Key, scope: Scope, receive: Receive, send: Send) -> None:
        rendered_at = monotonic()
        start: Message | None = None
        body: list[bytes] = []

        async def keeping(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = {**message, "headers": list(message.get("headers", []))}
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keeping)
        version = scope.get(PAGE_VERSION)
        if version is None or start is None or start["status"] != 200 \
                or any(name.lower() == b"set-cookie" for name, _ in start["headers"]):
            self.kept.pop(key, None)
            return
        self.kept[key] = KeptPage(version, rendered_at, start,
                                  {"type": "http.response.body", "body": b"".join(body)})
        self.kept.move_to_end(key)
        while len(self.kept) > self.pages:
            self.kept.popitem(last=False)
