"""Production-shaped tests: Baton served by real `baton serve` processes on PostgreSQL,
driven over HTTP like a browser behind a load balancer would drive it.

They use the test session's database (created by tests/conftest.py, migrated with
Alembic, dropped at the end), with committed data, and skip without PostgreSQL.

Tests marked `pg_restart` restart the PostgreSQL server, which ends every connection to
it, the other tests' included. They run only when BATON_TEST_PG_RESTART=1 and nothing
else is selected with them; scripts/test runs them as a step of their own:
BATON_TEST_PG_RESTART=1 pytest -m pg_restart tests/production
"""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from app.auth import SESSION_COOKIE
from app.models import User

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"  # what tests.factories gives every person

requires_postgresql = pytest.mark.skipif(
    not os.environ.get("BATON_DATABASE_URL", "").startswith("postgresql"),
    reason="needs PostgreSQL: set BATON_TEST_DATABASE_URL",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "pg_restart: restarts the PostgreSQL server; run on its own "
        "with BATON_TEST_PG_RESTART=1")


@pytest.hookimpl(trylast=True)  # after `-m` has deselected what it will
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    restarts = [item for item in items if item.get_closest_marker("pg_restart")]
    if not restarts:
        return
    if os.environ.get("BATON_TEST_PG_RESTART") != "1":
        reason = ("restarts PostgreSQL: run with BATON_TEST_PG_RESTART=1 "
                  "and -m pg_restart (scripts/test does)")
    elif len(restarts) < len(items):
        reason = ("restarting PostgreSQL would break the connections of the other tests "
                  "selected with it: run it on its own (-m pg_restart)")
    else:
        return
    for item in restarts:
        item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One `baton serve` process: one uvicorn worker on its own port."""

    base: str
    process: subprocess.Popen  # type: ignore[type-arg]
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_until(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    """Polls a condition until it holds; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds:.0f} s waiting until {what}")
        time.sleep(0.1)  # polling a condition, not timing a behaviour


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def serve(committed: Engine, tmp_path: Path) -> Iterator[Callable[[], Server]]:
    """Starts `baton serve` processes on the test database, each on a free port, and
    stops them at the end (before `committed` empties the tables)."""
    servers: list[Server] = []
    env = {
        **os.environ,
        "BATON_DATABASE_URL": committed.url.render_as_string(hide_password=False),
        "BATON_SECRET_KEY": "production-test-secret-key",
        "BATON_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("BATON_DEMO_MODE", None)

    def start() -> Server:
        port = _free_port()
        log = tmp_path / f"server-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(port),
                 "--workers", "1"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )
        server = Server(base=f"http://127.0.0.1:{port}", process=process, log=log)
        servers.append(server)

        def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"baton serve exited:\n{server.log_tail()}")
            return _answers(f"{server.base}/healthz")

        wait_until(up, seconds=60, what=f"baton serve answers on {server.base}")
        return server

    yield start
    for server in servers:
        server.stop()


class Visitor:
    """A person signed in to one server over HTTP, with their session cookie and the
    CSRF token the page hands to htmx."""

    def __init__(self, server: Server, user: User):
        self.server = server
        self.user = user
        self.client = httpx.Client(base_url=server.base, timeout=60, follow_redirects=False)
        self.csrf_token = ""

    def sign_in(self) -> "Visitor":
        login = self.client.get("/login")
        assert login.status_code == 200, login.text
        done = self.client.post("/login", data={
            "email": self.user.email, "password": PASSWORD, "next": "/my-work",
            "csrf_token": _csrf_token(login.text),
        })
        assert done.status_code == 303 and SESSION_COOKIE in self.client.cookies, (
            f"sign-in failed: HTTP {done.status_code}")
        page = self.client.get("/my-work")
        assert page.status_code == 200, page.text
        self.csrf_token = _csrf_token(page.text)
        return self

    def claim(self, task_id: int) -> httpx.Response:
        """What the Claim button of a queue row sends."""
        return self.client.post(
            f"/tasks/{task_id}/claim", data={"view": "queue", "back": "/queues/it"},
            headers={"HX-Request": "true", "X-CSRF-Token": self.csrf_token},
        )

    def close(self) -> None:
        self.client.close()


def _csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page has no CSRF token"
    return match.group(1)


@pytest.fixture
def visit() -> Iterator[Callable[[Server, User], Visitor]]:
    visitors: list[Visitor] = []

    def sign_in(server: Server, user: User) -> Visitor:
        visitor = Visitor(server, user)
        visitors.append(visitor)
        return visitor.sign_in()

    yield sign_in
    for visitor in visitors:
        visitor.close()
