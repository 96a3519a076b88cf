"""A database outage (PostgreSQL restarting or unreachable, SQLite locked past its busy
timeout) is a 503 with Retry-After and a message to try again, in the form the asker
reads: a page, JSON for /healthz, the toast for htmx. Never a bare 500.

The full story, a real PostgreSQL restarted under load, is the fault test
tests/production/test_pg_restart.py."""

import sqlite3
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from app.storage.db import RETRY_AFTER_SECONDS
from app.web.auth import SESSION_COOKIE
from app.web.session import get_session
from app.web.viewer import ANON_CSRF_COOKIE
from tests.web import WebClient, text_of

OUTAGES = ["the database system is shutting down", "database is locked",
           "connection to server at 127.0.0.1, port 5432 failed: Connection refused"]


@pytest.fixture(params=OUTAGES)
def database_down(request: pytest.FixtureRequest, app: FastAPI) -> Iterator[None]:
    """Every request's session fails to reach the database, with this error."""

    def refuse() -> sqlite3.Connection:
        raise sqlite3.OperationalError(request.param)

    unreachable = create_engine("sqlite://", creator=refuse, poolclass=NullPool)

    def session() -> Iterator[Session]:
        with Session(unreachable) as down:
            yield down

    app.dependency_overrides[get_session] = session
    yield
    unreachable.dispose()


def _asks_to_try_again(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)


def test_a_page_says_to_try_again_when_the_database_is_down(
    web: WebClient, database_down: None,
):
    web.client.cookies.set(SESSION_COOKIE, "someone-signed-in")
    page = web.get("/catalog")
    _asks_to_try_again(page)
    assert page.headers["content-type"].startswith("text/html")
    assert "try again in a few seconds" in text_of(page)


def test_the_login_page_says_to_try_again_when_the_database_is_down(
    web: WebClient, database_down: None,
):
    web.client.cookies.set(ANON_CSRF_COOKIE, "anonymous-token")
    page = web.client.post("/login", data={"email": "a@example.com", "password": "x" * 9,
                                           "csrf_token": "anonymous-token"})
    _asks_to_try_again(page)
    assert "try again in a few seconds" in text_of(page)


def test_healthz_answers_503_json_when_the_database_is_down(
    web: WebClient, database_down: None,
):
    web.client.cookies.set(SESSION_COOKIE, "a-load-balancer-never-has-one")
    health = web.get("/healthz")
    _asks_to_try_again(health)
    assert health.json() == {"status": "database unavailable"}


def test_healthz_answers_503_json_when_the_session_cannot_open(
    web: WebClient, app: FastAPI,
):
    """On a real server the session's first statement (the viewer, for a request with a
    cookie) fails before the route runs: the handler answers, in JSON."""

    def fails_as_it_opens() -> Iterator[Session]:
        raise OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))
        yield  # pragma: no cover

    app.dependency_overrides[get_session] = fails_as_it_opens
    health = web.get("/healthz")
    _asks_to_try_again(health)
    assert "try again" in health.json()["detail"]


def test_an_htmx_action_shows_the_toast_when_the_database_is_down(
    web: WebClient, database_down: None,
):
    web.client.cookies.set(SESSION_COOKIE, "someone-signed-in")
    web.csrf_token = "the-token-of-the-page"
    response = web.post("/tasks/1/claim", {"view": "queue"}, htmx=True)
    _asks_to_try_again(response)
    assert response.headers["HX-Reswap"] == "none"
    assert "try again in a few seconds" in response.headers["HX-Trigger"]


def test_other_database_errors_are_not_called_an_outage(web: WebClient, make, app: FastAPI):  # type: ignore[no-untyped-def]
    """Only an unreachable or locked database asks to try again; a bug stays a 500."""

    def broken() -> Iterator[Session]:
        raise RuntimeError("a bug, not an outage")
        yield  # pragma: no cover

    app.dependency_overrides[get_session] = broken
    with pytest.raises(RuntimeError):
        web.get("/healthz")
