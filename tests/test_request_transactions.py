"""How a web request's session ends (app.db.get_session, end_request): a request that
only read is committed on PostgreSQL, which keeps psycopg's prepared statements (a
rollback discards them); anything a request wrote or left pending without a rule
committing it is rolled back, on both databases."""

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import event, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.db import get_session, make_engine, request_session
from app.models import Team
from tests.conftest import DATABASE_URL

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


def test_a_request_that_fails_is_rolled_back(committed: Engine,
                                             team_named: Callable[[], str]):
    requests = get_session()  # as FastAPI runs the dependency: an error thrown at yield
    session = next(requests)
    _rename_and_flush(session)
    with pytest.raises(RuntimeError):
        requests.throw(RuntimeError("the handler failed"))

    assert team_named() == "As committed"


def test_a_request_that_succeeds_ends_its_transaction(committed: Engine):
    requests = get_session()
    session = next(requests)
    session.exec(select(Team)).all()
    with pytest.raises(StopIteration):
        next(requests)

    assert not session.in_transaction()


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
