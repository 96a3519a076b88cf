"""Test setup: one database per test session, migrated with Alembic (so every run
exercises the migrations); each test runs in one connection and transaction that is
rolled back at the end (domain commits release savepoints only).

The database is SQLite in a temporary folder, or PostgreSQL when
BATON_TEST_DATABASE_URL names one (its public schema is dropped and rebuilt).
"""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="baton-tests-"))
os.environ["BATON_DATA_DIR"] = str(_TMP / "data")
os.environ["BATON_SECRET_KEY"] = "test-secret-key"
os.environ.pop("BATON_DEMO_MODE", None)
DATABASE_URL = os.environ.get("BATON_TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.db'}"
os.environ["BATON_DATABASE_URL"] = DATABASE_URL

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

from app.config import get_settings  # noqa: E402
from app.db import get_session, make_engine  # noqa: E402
from app.main import create_app  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from tests.factories import Factory  # noqa: E402
from tests.web import WebClient  # noqa: E402


def _reset_postgres(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    engine = make_engine(DATABASE_URL)
    if engine.dialect.name == "postgresql":
        _reset_postgres(engine)
    upgrade(DATABASE_URL)
    yield engine
    engine.dispose()


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


@pytest.fixture
def committed(engine: Engine) -> Iterator[Engine]:
    """For tests that need real commits across connections (races): the engine, and
    every table emptied afterwards."""
    yield engine
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(table.delete())


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
