"""Every trick for speed has a switch (README, Configuration), and with any of them off
the pages are the same, byte for byte: the kept queue page (app.web.page_cache), committed
reads (app.storage.db.end_request), the one-trip session (app.web.one_trip_session) and
the process's tuning (app.web.process_tuning). Also that each switch is honoured.

These tests commit for real: the session dependency, its transactions and the kept page's
checks run as in production, on the database under test."""

import gc
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.requests import Request

import app.storage.clock
import app.web.process_tuning
import app.web.routes
from app.config import Settings, get_settings
from app.main import create_app
from app.rules.sign_in import token_hash
from app.storage.db import get_engine, one_statement_change, request_session
from app.storage.models import (
    EventKind,
    LoginSession,
    Task,
    Team,
    TeamLook,
    TimelineEvent,
    utcnow,
)
from app.web import one_trip_session
from app.web.page_cache import PageCache
from app.web.reads_alone import READS_ALONE
from app.web.session import get_session
from app.web.viewer import SESSION_COOKIE
from tests.factories import Factory
from tests.web import WebClient, run_async

# Every switch, and its value when off.
OFF: dict[str, Any] = {
    "queue_page_seconds": 0,
    "commit_reads": False,
    "one_trip_session": False,
    "reads_alone": False,
    "directory_cache": False,
    "driver_reads": False,
    "sqlite_checkpoint_every": 0,
    "malloc_arenas": 0,
    "malloc_release_kib": 0,
    "freeze_gc": False,
}


@dataclass
class Desk:
    session: Session
    cookie: str
    request_id: int

    def pages(self) -> list[str]:
        """The main pages: a team's queue (whole, its htmx fragment, searched), My work,
        a request, the overview, the queues list."""
        return ["/queues/it", "/queues/it?q=printer", "/my-work",
                f"/requests/{self.request_id}", "/overview", "/queues",
                f"/requests/{self.request_id}/changes?since=0"]

    def browse(self, pages: list[str], *, htmx: bool = False) -> dict[str, str]:
        """Each page as a fresh app with the settings of the moment renders it."""
        with TestClient(create_app(), base_url="http://testserver",
                        follow_redirects=False) as client:
            client.cookies.set(SESSION_COOKIE, self.cookie)
            headers = {"HX-Request": "true"} if htmx else {}
            seen = {}
            for page in pages:
                response = client.get(page, headers=headers)
                assert response.status_code == 200, (page, response.text[:300])
                seen[page] = response.text
            return seen


@pytest.fixture
def still_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Baton's clock stands still, in every thread: ages on a page ("45 s") do not move
    between the renders compared."""
    moment = datetime.now(UTC).replace(microsecond=0)
    monkeypatch.setattr(app.storage.clock, "_frozen",
                        app.storage.clock.ContextVar("still", default=moment))


@pytest.fixture
def desk(committed: Engine, still_clock: None,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    for name in OFF:  # every switch on, as in production (tests/conftest.py turns one off)
        monkeypatch.setattr(get_settings(), name, Settings.model_fields[name].default)
    with Session(committed, expire_on_commit=False) as session:
        make = Factory(session)
        service = make.service(slug="printers", steps=[("it", "task"), ("hr", "approval")])
        mia = make.user("Mia Member", teams=("it",), manager=True)
        rob = make.user("Rob Requester")
        session.commit()
        with app.storage.clock.frozen_at(datetime.now(UTC) - timedelta(days=3)):
            filed = make.request(service, rob, {"summary": "Printer on fire"})
            make.request(service, rob, {"summary": "Printer out of paper"})
        mia_at_work = WebClient(TestClient(create_app(), base_url="http://testserver",
                                           follow_redirects=False), session).login(mia)
        task = make.tasks(filed)[0]
        assert mia_at_work.post(f"/tasks/{task.id}/claim").status_code == 303
        assert filed.id is not None
        yield Desk(session, mia_at_work.client.cookies[SESSION_COOKIE], filed.id)


def _switched_off(monkeypatch: pytest.MonkeyPatch, names: list[str]) -> None:
    for name in names:
        monkeypatch.setattr(get_settings(), name, OFF[name])


@pytest.mark.parametrize("off", [[name] for name in OFF] + [list(OFF)],
                         ids=[*OFF, "all"])
def test_every_page_is_the_same_with_a_switch_off(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, off: list[str],
):
    pages = desk.pages()
    with_tricks = desk.browse(pages)
    again = desk.browse(pages + pages)  # the queue pages served again from memory
    fragments = desk.browse(pages[:2], htmx=True)

    _switched_off(monkeypatch, off)

    assert desk.browse(pages) == with_tricks == again
    assert desk.browse(pages[:2], htmx=True) == fragments
    assert "Printer on fire" in with_tricks["/my-work"]
    assert "Printer out of paper" in with_tricks["/queues/it"]
    assert "Mia Member" in with_tricks["/overview"]


def _page_caches(application: FastAPI) -> list[PageCache]:
    found, layer = [], application.middleware_stack
    while layer is not None:
        if isinstance(layer, PageCache):
            found.append(layer)
        layer = getattr(layer, "app", None)
    return found


@pytest.mark.parametrize(("seconds", "kept"), [(10, 1), (0, 0)])
def test_queue_pages_are_kept_only_while_the_switch_is_on(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, seconds: float, kept: int,
):
    monkeypatch.setattr(get_settings(), "queue_page_seconds", seconds)
    application = create_app()
    with TestClient(application, base_url="http://testserver") as client:
        client.cookies.set(SESSION_COOKIE, desk.cookie)
        client.get("/queues/it")

        assert [len(cache.kept) for cache in _page_caches(application)] == [kept]


def _ends_of_a_read(engine: Engine) -> list[str]:
    """How one request that only reads ends its transaction: COMMIT or ROLLBACK."""
    ends: list[str] = []
    listeners: list[tuple[str, Callable[..., None]]] = [
        ("commit", lambda _connection: ends.append("COMMIT")),
        ("rollback", lambda _connection: ends.append("ROLLBACK")),
    ]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        with request_session(engine) as session:
            session.exec(select(Team)).all()
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)
    return ends


@pytest.mark.parametrize("commit_reads", [True, False])
def test_a_read_ends_with_a_commit_only_on_postgresql_with_the_switch_on(
    committed: Engine, monkeypatch: pytest.MonkeyPatch, commit_reads: bool,
):
    monkeypatch.setattr(get_settings(), "commit_reads", commit_reads)

    ends = _ends_of_a_read(committed)

    postgresql = committed.dialect.name == "postgresql"
    assert ends == (["COMMIT"] if postgresql and commit_reads else ["ROLLBACK"])


def _page_request(cookie: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": b"",
                    "headers": [(b"cookie", f"{SESSION_COOKIE}={cookie}".encode())]})


@pytest.mark.parametrize("one_trip", [True, False])
def test_the_viewer_is_read_as_the_session_opens_only_with_the_switch_on(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, one_trip: bool,
):
    monkeypatch.setattr(get_settings(), "one_trip_session", one_trip)
    opened: list[object] = []
    opener = one_trip_session.open_with_viewer

    def counted(request: Request) -> tuple[ExitStack, Session]:
        opened.append(request)
        return opener(request)

    monkeypatch.setattr(one_trip_session, "open_with_viewer", counted)
    request = _page_request(desk.cookie)

    async def a_page() -> bool:
        sessions = get_session(request)
        await anext(sessions)
        read = hasattr(request.state, "viewer")
        with pytest.raises(StopAsyncIteration):
            await anext(sessions)
        return read

    assert run_async(a_page()) is one_trip
    assert len(opened) == (1 if one_trip else 0)


@pytest.mark.parametrize("alone", [True, False])
@pytest.mark.parametrize("page", ["poll", "request page", "queue poll"])
def test_the_polls_and_the_request_page_read_without_a_transaction_on_postgresql_only(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, alone: bool, page: str,
):
    monkeypatch.setattr(get_settings(), "reads_alone", alone)
    # For each statement the poll sends, whether the driver wraps it in a transaction
    # (sqlite3's autocommit is -1 from Python 3.12: only True is "without one").
    in_transaction: list[bool] = []
    sent: list[str] = []

    def seen(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        in_transaction.append(getattr(connection.connection.dbapi_connection,
                                      "autocommit", False) is not True)
        sent.append(" ".join(statement.split()))

    event.listen(get_engine(), "before_cursor_execute", seen)
    try:
        if page == "poll":
            desk.browse([f"/requests/{desk.request_id}/changes?since=0"], htmx=True)
        elif page == "queue poll":
            desk.browse(["/queues/it/changes?since=2000-01-01T00:00:00%2B00:00"], htmx=True)
        else:
            desk.browse([f"/requests/{desk.request_id}"])
    finally:
        event.remove(get_engine(), "before_cursor_execute", seen)

    postgresql = get_engine().dialect.name == "postgresql"
    assert in_transaction  # the viewer, the poll and the events it shows
    assert set(in_transaction) == {not (postgresql and alone)}
    # It only reads, and locks nothing: alone, a lock would be let go at once. (SQLite's
    # BEGIN is Baton's own: app.storage.db._tune_sqlite.)
    assert all(statement.startswith("SELECT") and " FOR " not in statement
               for statement in sent if statement != "BEGIN"), sent


@pytest.mark.parametrize("alone", [True, False])
def test_the_queue_page_reads_alone_and_moves_the_member_s_mark_in_one_statement(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, alone: bool,
):
    # Mia has never looked at IT's queue, which has an open task: opening it moves her
    # mark (app.rules.team_looks), and the page's bell counts what is left after that.
    monkeypatch.setattr(get_settings(), "reads_alone", alone)
    postgresql = get_engine().dialect.name == "postgresql"
    sent: list[tuple[str, bool]] = []  # each statement, and whether in a transaction
    checkouts: list[object] = []

    def checked_out(*args: Any) -> None:
        checkouts.append(args)

    def seen(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append((" ".join(statement.split()),
                     getattr(connection.connection.dbapi_connection, "autocommit",
                             False) is not True))

    event.listen(get_engine(), "before_cursor_execute", seen)
    event.listen(get_engine().pool, "checkout", checked_out)
    try:
        page = desk.browse(["/queues/it"])["/queues/it"]
    finally:
        event.remove(get_engine(), "before_cursor_execute", seen)
        event.remove(get_engine().pool, "checkout", checked_out)

    writes = [(statement, in_transaction) for statement, in_transaction in sent
              if not statement.startswith(("SELECT", "BEGIN"))]
    assert [statement.split(" (")[0] for statement, _ in writes] == ["INSERT INTO team_look"]
    # Alone on PostgreSQL, the page's reads and the look go without a transaction around
    # them: the look is one statement, atomic as it is sent.
    assert {in_transaction for _, in_transaction in sent} == {not (postgresql and alone)}
    # One connection for the whole page, the look's included: requests that each held
    # one and waited for a second could empty the pool together.
    assert len(checkouts) == 1
    desk.session.commit()  # ends the test's own read, to see what the page committed
    mark = desk.session.exec(select(TeamLook.looked_at)).one()
    assert mark.replace(tzinfo=mark.tzinfo or UTC) == utcnow()  # the still clock's now
    # The page shows the bell as it is after the look: nothing new in IT is left.
    assert '<span class="bell-count">' not in page


def test_the_queue_page_reads_its_version_with_its_counters_in_one_statement(desk: Desk):
    # Two round trips were one statement's worth on PostgreSQL (app.reads.task_counts).
    sent: list[str] = []

    def seen(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(get_engine(), "before_cursor_execute", seen)
    try:
        desk.browse(["/queues/it"])
    finally:
        event.remove(get_engine(), "before_cursor_execute", seen)
    versions = [statement for statement in sent if "FROM queue_version" in statement]
    assert len(versions) == 1 and "FROM open_work_count" in versions[0], versions
    assert not [statement for statement in sent
                if "FROM open_work_count" in statement and statement not in versions]


def test_where_a_route_reads_alone_only_a_change_said_to_be_one_statement_may_write(
        committed: Engine):
    with request_session(committed, reads_alone=True) as session:
        if committed.dialect.name != "postgresql":
            pytest.skip("reads alone is PostgreSQL's: SQLite keeps its transaction")
        with one_statement_change(session):
            session.execute(update(Team).values(name="Renamed").where(Team.id == -1))
            with pytest.raises(RuntimeError, match="reads alone"):
                session.execute(update(Team).values(name="Renamed"))
        with pytest.raises(RuntimeError, match="reads alone"):
            session.execute(update(Team).values(name="Renamed"))
        session.rollback()
    with Session(committed) as session:
        assert "Renamed" not in session.exec(select(Team.name)).all()


def test_a_write_where_a_route_reads_alone_is_refused(committed: Engine):
    # A write added to a route that reads alone would commit statement by statement.
    with request_session(committed, reads_alone=True) as session:
        if committed.dialect.name != "postgresql":
            pytest.skip("reads alone is PostgreSQL's: SQLite keeps its transaction")
        with pytest.raises(RuntimeError, match="reads alone"):
            session.execute(update(Team).values(name="Renamed"))
        session.rollback()
    with Session(committed) as session:
        assert "Renamed" not in session.exec(select(Team.name)).all()


def test_only_pages_that_answer_get_are_read_alone():
    # A route named READS_ALONE runs statement by statement: a post, which writes, never.
    routes = {route.name: route for module in _route_modules()
              for route in getattr(module, "router", APIRouter()).routes
              if isinstance(route, APIRoute)}

    assert routes.keys() >= READS_ALONE
    assert all(routes[name].methods == {"GET"} for name in READS_ALONE)


def _route_modules() -> list[Any]:
    package = app.web.routes
    return [importlib.import_module(f"{package.__name__}.{info.name}")
            for info in pkgutil.iter_modules(package.__path__)]


@pytest.mark.parametrize(("arenas", "release", "freeze"),
                         [(2, 128, True), (0, 0, False), (4, 0, False), (0, 64, False)])
def test_the_process_is_tuned_as_its_switches_say(
    monkeypatch: pytest.MonkeyPatch, arenas: int, release: int, freeze: bool,
):
    calls: list[object] = []
    monkeypatch.setattr(app.web.process_tuning, "limit_malloc_arenas",
                        lambda count: calls.append(("arenas", count)))
    monkeypatch.setattr(app.web.process_tuning, "release_freed_memory",
                        lambda kib: calls.append(("release", kib)))
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "unfreeze", lambda: calls.append("unfreeze"))
    settings = Settings(malloc_arenas=arenas, malloc_release_kib=release, freeze_gc=freeze)

    with app.web.process_tuning.tuned_process(settings):
        calls.append("serving")

    assert calls == ([("arenas", arenas)] if arenas else []) + (
        [("release", release)] if release else []) + (["freeze"] if freeze else []) + [
        "serving"] + (["unfreeze"] if freeze else [])


def test_freed_memory_is_released_from_the_size_asked(monkeypatch: pytest.MonkeyPatch):
    set_to: list[tuple[int, int]] = []
    monkeypatch.setattr(app.web.process_tuning, "_mallopt",
                        lambda *settings: set_to.extend(settings))

    app.web.process_tuning.release_freed_memory(128)

    # glibc's M_MMAP_THRESHOLD and M_TRIM_THRESHOLD, in bytes
    assert sorted(set_to) == [(-3, 131072), (-1, 131072)]


def test_the_switches_are_on_by_default(monkeypatch: pytest.MonkeyPatch):
    for name in OFF:
        monkeypatch.delenv(f"BATON_{name.upper()}", raising=False)
    settings = Settings()

    assert all(getattr(settings, name) != off for name, off in OFF.items())


@pytest.mark.parametrize("one_trip", [True, False])
def test_a_post_is_refused_without_its_csrf_token_however_its_viewer_is_read(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, one_trip: bool,
):
    """Through the real session's opening (the route tests replace it): read as the
    session opens (app.web.one_trip_session) or in the CSRF check, a post whose token is
    missing or not the viewer's changes nothing; the viewer's own token is let through."""
    monkeypatch.setattr(get_settings(), "one_trip_session", one_trip)
    comments = f"/requests/{desk.request_id}/comments"

    def posted(data: dict[str, str]) -> int:
        with TestClient(create_app(), base_url="http://testserver",
                        follow_redirects=False) as client:
            client.cookies.set(SESSION_COOKIE, desk.cookie)
            return client.post(comments, data=data).status_code

    token = desk.session.exec(select(LoginSession.csrf_token).where(
        LoginSession.token_hash == token_hash(desk.cookie))).one()
    assert posted({"body": "Forged"}) == 403
    assert posted({"body": "Forged", "csrf_token": "forged"}) == 403
    desk.session.expire_all()
    bodies = desk.session.exec(select(TimelineEvent.note).where(
        TimelineEvent.request_id == desk.request_id,
        TimelineEvent.kind == EventKind.comment)).all()
    assert bodies == []
    assert posted({"body": "Mine", "csrf_token": token}) == 303


@pytest.mark.parametrize("alone", [True, False])
def test_a_task_action_answers_with_its_row_read_alone_after_its_change(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, alone: bool,
):
    """The change is one transaction; what the answer shows (the row; the panel) is read
    after it, alone on PostgreSQL (app.web.reads_alone.answer_alone); and the connection
    goes back to the pool as it came, so the next change is one transaction again."""
    monkeypatch.setattr(get_settings(), "reads_alone", alone)
    postgresql = get_engine().dialect.name == "postgresql"
    desk.session.commit()  # ends the test's own read: the desk's claim is seen
    task = desk.session.exec(select(Task).where(Task.state == "open", Task.kind == "task")
                             .order_by(Task.id)).first()
    assert task is not None
    # Mia, signed in as the desk signed her in.
    mia_at_work = WebClient(TestClient(create_app(), base_url="http://testserver",
                                       follow_redirects=False), desk.session)
    mia_at_work.client.cookies.set(SESSION_COOKIE, desk.cookie)
    mia_at_work.csrf_token = desk.session.exec(select(LoginSession.csrf_token).where(
        LoginSession.token_hash == token_hash(desk.cookie))).one()
    sent: list[tuple[str, bool]] = []  # each statement, and whether in a transaction

    def seen(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append((" ".join(statement.split())[:30],
                     getattr(connection.connection.dbapi_connection, "autocommit",
                             False) is not True))

    def committed(_connection: Any) -> None:
        sent.append(("COMMIT", True))

    event.listen(get_engine(), "before_cursor_execute", seen)
    event.listen(get_engine(), "commit", committed)
    try:
        claimed = mia_at_work.post(f"/tasks/{task.id}/claim", {"view": "queue"}, htmx=True)
        # The change's COMMIT: the first after its first write (on SQLite the viewer's
        # read is committed before the change begins, app.storage.db.begin_write).
        first_write = next(n for n, (statement, _) in enumerate(sent)
                           if statement.startswith(("UPDATE", "WITH")))
        change_ends = sent.index(("COMMIT", True), first_write)
        answer = sent[change_ends + 1:]
        # From the task's panel, whose answer reads more (the panel and the row).
        released = mia_at_work.post(f"/tasks/{task.id}/release", {"view": "queue-panel"},
                                    htmx=True)
    finally:
        event.remove(get_engine(), "before_cursor_execute", seen)
        event.remove(get_engine(), "commit", committed)

    assert claimed.status_code == 200 and "You claimed this task." in claimed.text
    assert released.status_code == 200 and "Released to the team queue." in released.text
    change = sent[first_write:change_ends]
    assert all(in_transaction for _, in_transaction in change)
    # (SQLite's BEGIN is Baton's own: app.storage.db._tune_sqlite.)
    reads = [entry for entry in answer if entry[0] not in ("COMMIT", "BEGIN")]
    assert reads and all(statement.startswith("SELECT") for statement, _ in reads)
    assert {in_transaction for _, in_transaction in reads} == {not (postgresql and alone)}
    release = sent[len(change) + 1 + len(answer):]
    assert any(statement.startswith(("UPDATE", "WITH")) for statement, _ in release)
    assert all(in_transaction for statement, in_transaction in release
               if not statement.startswith("SELECT")), release


@pytest.mark.parametrize("committed_first", [True, False])
def test_a_session_left_in_no_transaction_is_closed_without_a_trip_to_the_thread_pool(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, committed_first: bool,
):
    """A post whose rule committed and that answers with a redirect has nothing left to
    end: its session closes on the event loop. A read left open on PostgreSQL is ended
    (a COMMIT) in the thread pool."""
    trips: list[object] = []

    async def counted(call: Callable[..., Any], *args: Any) -> Any:
        trips.append(call)
        return call(*args)

    monkeypatch.setattr(one_trip_session, "run_in_threadpool", counted)
    request = _page_request(desk.cookie)

    async def a_post() -> None:
        sessions = get_session(request)
        session = await anext(sessions)  # the viewer read: a transaction begun
        if committed_first:
            session.commit()  # as a rule's commit leaves it
        with pytest.raises(StopAsyncIteration):
            await anext(sessions)

    run_async(a_post())
    postgresql = get_engine().dialect.name == "postgresql"
    assert len(trips) == (1 if postgresql and not committed_first else 0)
