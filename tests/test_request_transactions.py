"""How a web request's session ends (app.storage.db.get_session, end_request): a request that
only read is committed on PostgreSQL, which keeps psycopg's prepared statements (a
rollback discards them); anything a request wrote or left pending without a rule
committing it is rolled back, on both databases; a database that goes away as a request
that succeeded ends is logged, not raised after its answer."""

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import event, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session, select
from starlette.requests import Request

import app.storage.db
from app.config import get_settings
from app.rules.sign_in import start_session
from app.storage.db import make_engine, request_session
from app.storage.models import Team, User
from app.web.auth import SESSION_COOKIE
from app.web.session import get_session
from tests.conftest import DATABASE_URL
from tests.factories import Factory
from tests.production.conftest import wait_until
from tests.web import run_async

on_postgresql = pytest.mark.skipif(
    not DATABASE_URL.startswith("postgresql"), reason="PostgreSQL's prepared statements"
)


@pytest.fixture
def one_connection(engine: Engine) -> Iterator[Engine]:
    """An engine with a single pooled connection, so every request below reuses it."""
    single = make_engine(DATABASE_URL, pool_size=1, max_overflow=0)
    yield single
    single.dispose()


def _request(engine: Engine, work: Callable[[Session], object]) -> None:
    """One request as get_session runs it: the work, end_request, the session closed."""
    with request_session(engine) as session:
        work(session)


def _prepared_statements(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(
            text("SELECT statement FROM pg_prepared_statements")).scalars())


@on_postgresql
def test_reading_requests_keep_their_prepared_statements(one_connection: Engine):
    def read(session: Session) -> None:
        session.exec(select(Team).where(Team.slug == "prepared-probe")).all()

    # psycopg prepares a statement on its fifth execution on a connection, and forgets
    # every prepared statement when the connection rolls back.
    for _ in range(6):
        _request(one_connection, read)

    assert any("prepared-probe" in sql or "team.slug" in sql
               for sql in _prepared_statements(one_connection))


@pytest.fixture
def team_named(committed: Engine) -> Iterator[Callable[[], str]]:
    with Session(committed) as setup:
        setup.add(Team(slug="kept", name="As committed"))
        setup.commit()

    def name() -> str:
        with Session(committed) as check:
            return check.exec(select(Team.name).where(Team.slug == "kept")).one()

    yield name


def _rename_with_a_statement(session: Session) -> None:
    session.exec(select(Team)).all()
    session.execute(update(Team).where(Team.slug == "kept").values(name="Written"))


def _rename_and_flush(session: Session) -> None:
    team = session.exec(select(Team).where(Team.slug == "kept")).one()
    team.name = "Flushed"
    session.flush()


def _rename_without_flushing(session: Session) -> None:
    team = session.exec(select(Team).where(Team.slug == "kept")).one()
    team.name = "Pending"


def _add_without_flushing(session: Session) -> None:
    session.exec(select(Team)).all()
    session.add(Team(slug="pending", name="Pending"))


@pytest.mark.parametrize("work", [_rename_with_a_statement, _rename_and_flush,
                                  _rename_without_flushing, _add_without_flushing])
def test_what_a_request_changed_without_a_rule_committing_it_is_rolled_back(
    committed: Engine, team_named: Callable[[], str], work: Callable[[Session], None],
):
    _request(committed, work)

    assert team_named() == "As committed"
    with Session(committed) as check:
        assert check.exec(select(Team).where(Team.slug == "pending")).first() is None


def _http_request(method: str, cookie: str = "") -> Request:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    return Request({"type": "http", "method": method, "path": "/", "query_string": b"",
                    "headers": headers})


def _as_fastapi_runs(request: Request, work: Callable[[Session], object],
                     failure: Exception | None = None) -> Session:
    """Drives get_session as FastAPI does: open, the handler's work, then close, or the
    handler's error thrown in at the yield."""

    async def run() -> Session:
        requests = get_session(request)
        session = await anext(requests)
        work(session)
        if failure is not None:
            with pytest.raises(type(failure)):
                await requests.athrow(failure)
        else:
            with pytest.raises(StopAsyncIteration):
                await anext(requests)
        return session

    return run_async(run())


def test_a_request_that_fails_is_rolled_back(committed: Engine,
                                             team_named: Callable[[], str]):
    _as_fastapi_runs(_http_request("POST"), _rename_and_flush,
                     failure=RuntimeError("the handler failed"))

    assert team_named() == "As committed"


def test_a_request_that_succeeds_ends_its_transaction(committed: Engine):
    session = _as_fastapi_runs(_http_request("GET"), lambda s: s.exec(select(Team)).all())

    assert not session.in_transaction()


@pytest.fixture
def signed_in(committed: Engine) -> tuple[User, str]:
    """A person and the cookie of their login session."""
    with Session(committed, expire_on_commit=False) as setup:
        person = Factory(setup).user("Pat")
        setup.commit()
        token = start_session(setup, user=person)
    return person, f"{SESSION_COOKIE}={token}"


# A form post too, in the same trip to the thread pool as the opening, so its CSRF check
# finds it (app.web.auth.get_viewer). Its body was read in full before the app ran
# (app.web.request_body; tests/routes/test_request_body.py), so the transaction this
# read begins waits on no client.
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_request_reads_who_is_asking_as_its_session_opens(
    signed_in: tuple[User, str], method: str,
):
    person, cookie = signed_in
    request = _http_request(method, cookie)
    seen: list[object] = []

    _as_fastapi_runs(request, lambda _session: seen.append(request.state.viewer))

    assert seen[0].user.id == person.id  # type: ignore[attr-defined]


def test_a_request_keeps_one_connection_across_its_commits(committed: Engine):
    engine = committed
    checkouts: list[object] = []

    def checked_out(*_args: object) -> None:
        checkouts.append(None)

    event.listen(engine, "checkout", checked_out)
    try:
        with request_session(engine) as session:
            # A rule that commits, then the answer read afterwards (an action's row).
            session.execute(update(Team).where(Team.slug == "nobody").values(name="x"))
            session.commit()
            session.exec(select(Team)).all()
            session.commit()
            session.exec(select(Team)).all()
    finally:
        event.remove(engine, "checkout", checked_out)

    assert len(checkouts) == 1


def _read_a_page(session: Session) -> None:
    session.exec(select(Team)).all()


ends_a_server_process = pytest.mark.skipif(not DATABASE_URL.startswith("postgresql"),
                                           reason="ends a PostgreSQL server process")


def _lose_the_connection(session: Session, admin: Engine) -> None:
    """What a restart's fast shutdown does to the session's connection: its server
    process is told to end, and has ended."""
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with admin.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"),
                                  {"pid": pid}).scalar_one()

    def gone() -> bool:
        with admin.connect() as connection:
            return not connection.execute(
                text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).first()

    wait_until(gone, seconds=30, what="the session's server process has ended")


@ends_a_server_process
def test_a_database_gone_as_a_page_ends_is_not_raised_after_its_answer(committed: Engine):
    """PostgreSQL ends the page's connection (a restart's fast shutdown) between the
    page's reads and the COMMIT that ends them, which FastAPI runs after the answer was
    sent. Raised there, it reached uvicorn as the application failing, and uvicorn closed
    the kept-alive connection under the client's next request (Connection reset by peer
    in tests/production/test_pg_restart.py)."""

    def read_then_lose_the_database(session: Session) -> None:
        _read_a_page(session)
        _lose_the_connection(session, committed)

    _as_fastapi_runs(_http_request("GET"), read_then_lose_the_database)

    # The pool does not hand the dead connection out again: the next page is read.
    session = _as_fastapi_runs(_http_request("GET"), _read_a_page)
    assert not session.in_transaction()


@ends_a_server_process
def test_a_request_that_answered_its_lost_connection_itself_ends_quietly(committed: Engine):
    """/healthz's way: the connection is lost during the request, the handler catches
    the error and answers 503 itself. Ending the request must not ask the session for a
    connection SQLAlchemy has invalidated (PendingRollbackError, after the answer)."""
    answered: list[str] = []

    def check_like_healthz(session: Session) -> None:
        _read_a_page(session)
        _lose_the_connection(session, committed)
        try:
            session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            answered.append("503")

    _as_fastapi_runs(_http_request("GET"), check_like_healthz)

    assert answered == ["503"]
    session = _as_fastapi_runs(_http_request("GET"), _read_a_page)
    assert not session.in_transaction()


@pytest.mark.parametrize("one_trip", [True, False])
def test_a_database_unavailable_as_a_request_ends_is_logged_not_raised(
    committed: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    one_trip: bool,
):
    """Both ways of closing (the one-trip session and the plain one): the session's end
    failing as the database goes away is a warning, not the request failing after its
    answer."""
    monkeypatch.setattr(get_settings(), "one_trip_session", one_trip)

    def database_gone(_session: Session) -> None:
        raise OperationalError("COMMIT", None,
                               Exception("terminating connection due to administrator command"))

    monkeypatch.setattr(app.storage.db, "end_request", database_gone)

    _as_fastapi_runs(_http_request("GET"), _read_a_page)

    assert "terminating connection due to administrator command" in caplog.text


def test_a_request_that_fails_as_it_ends_for_another_reason_still_raises(
    committed: Engine, monkeypatch: pytest.MonkeyPatch,
):
    """Only a database going away is kept quiet: any other failure is a bug to see."""

    def broken(_session: Session) -> None:
        raise RuntimeError("a bug in ending the request")

    monkeypatch.setattr(app.storage.db, "end_request", broken)

    async def run() -> None:
        requests = get_session(_http_request("GET"))
        _read_a_page(await anext(requests))
        await anext(requests)

    with pytest.raises(RuntimeError, match="a bug in ending the request"):
        run_async(run())
