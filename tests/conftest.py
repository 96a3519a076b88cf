"""Test setup: one database per test session, migrated with Alembic (so every run
exercises the migrations); each test runs in one connection and transaction that is
rolled back at the end (domain commits release savepoints only).

The database is SQLite in a temporary folder, or, when BATON_TEST_DATABASE_URL names a
PostgreSQL server, a fresh database created on it for this test session and dropped at
its end (so two test runs on one server never meet).
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_TMP = Path(tempfile.mkdtemp(prefix="baton-tests-"))
os.environ["BATON_DATA_DIR"] = str(_TMP / "data")
os.environ["BATON_SECRET_KEY"] = "test-secret-key"
os.environ.pop("BATON_DEMO_MODE", None)
# The test clients and the servers tests start speak plain HTTP, over which a Secure
# cookie (the default outside the demo) is never sent back; tests of the Secure default
# build their own Settings without this.
os.environ["BATON_COOKIE_SECURE"] = "false"
SERVER_URL = os.environ.get("BATON_TEST_DATABASE_URL", "")
DATABASE_URL = SERVER_URL or f"sqlite:///{_TMP / 'test.db'}"
_PG_DATABASE = f"baton_test_{os.getpid()}_{_TMP.name[-6:].lower()}"

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

import app.rules.sign_in  # noqa: E402
from app.config import get_settings  # noqa: E402
from app.main import create_app  # noqa: E402
from app.reads.expected_finish import forget_remembered  # noqa: E402
from app.reads.step_durations import forget_kept  # noqa: E402
from app.storage.db import make_engine  # noqa: E402
from app.storage.directory_cache import forget_directory  # noqa: E402
from app.storage.migrate import upgrade  # noqa: E402
from app.web.session import get_session  # noqa: E402
from tests.factories import Factory  # noqa: E402
from tests.web import WebClient  # noqa: E402

# Argon2 at its cheapest for tests: the suite makes hundreds of people, and the cost
# parameters are not what the tests are about (a hash still starts with $argon2).
app.rules.sign_in._hasher = app.rules.sign_in.PasswordHasher(
    time_cost=1, memory_cost=8, parallelism=1)


def _server_engine() -> Engine:
    return create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")


if SERVER_URL.startswith("postgresql"):
    server = _server_engine()
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{_PG_DATABASE}"'))
        connection.execute(text(f'CREATE DATABASE "{_PG_DATABASE}"'))
    server.dispose()
    DATABASE_URL = make_url(SERVER_URL).set(database=_PG_DATABASE).render_as_string(
        hide_password=False
    )
os.environ["BATON_DATABASE_URL"] = DATABASE_URL

# Every test client runs the application's lifespan, and freezing the garbage collector's
# objects there starts with a full collection: about 0.1 s a test over the suite's heap,
# a minute or more of each run. A server process does it once; the tests of the switch
# (tests/test_speed_switches.py) turn it on themselves. Servers the tests start as
# processes of their own keep the default.
get_settings().freeze_gc = False


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under pytest-xdist with `--dist loadgroup` (scripts/test), each test goes to the
    next free worker, except the browser tests, which all go to one worker together: one
    demo server and one Chromium for them, the tests in their order. (xdist's own
    loadgroup marks them by renaming node ids, which pytest 9 no longer lets it do.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class BrowserTestsTogether(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "tests/browser" if nodeid.startswith("tests/browser/") else nodeid

    return BrowserTestsTogether(config, log)


def pytest_unconfigure(config: pytest.Config) -> None:
    """The database made above is dropped at the end of every run, also one in which no
    test asked for the `engine` (e.g. `-m fault`, whose tests make their own), and so
    is the run's temporary folder (its SQLite database and uploaded files)."""
    if SERVER_URL.startswith("postgresql"):
        server = _server_engine()
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{_PG_DATABASE}" WITH (FORCE)'))
        server.dispose()
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    engine = make_engine(DATABASE_URL)
    upgrade(DATABASE_URL)
    yield engine
    engine.dispose()
    if engine.dialect.name == "postgresql":
        from app.storage.db import get_engine

        get_engine().dispose()  # the CLI's engine, if a test used it
        server = _server_engine()
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{_PG_DATABASE}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint",
                      expire_on_commit=False)
    yield session
    session.close()
    transaction.rollback()
    connection.close()
    # The rolled-back rows' ids come again in the next test: durations the insights
    # kept in memory for them (app.reads.step_durations) and the expected-finish
    # sentences remembered for them must not outlive the test, nor what the directory
    # cache kept at the test's directory versions, which come again too.
    forget_kept()
    forget_remembered()
    forget_directory()


@pytest.fixture
def committed(engine: Engine) -> Iterator[Engine]:
    """For tests that need real commits across connections (races): the engine, and
    every table emptied afterwards."""
    yield engine
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(table.delete())
        # The search index's table, which the models do not describe.
        connection.execute(text("DELETE FROM search_text" if engine.dialect.name == "sqlite"
                                else "DELETE FROM search_document"))
    forget_kept()
    forget_remembered()
    forget_directory()


@pytest.fixture
def make(session: Session) -> Factory:
    return Factory(session)


@pytest.fixture
def app(session: Session):  # type: ignore[no-untyped-def]
    app = create_app()
    app.dependency_overrides[get_session] = lambda: session
    return app


@pytest.fixture
def web(app, session: Session) -> Iterator[WebClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        yield WebClient(client, session)


@pytest.fixture
def attachments_dir() -> Path:
    return get_settings().attachments_dir
