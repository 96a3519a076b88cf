"""Production-shaped tests: Baton served by real `baton serve` processes, driven over
HTTP like a browser behind a load balancer would drive it.

Most use the test session's database (created by tests/conftest.py, migrated with
Alembic, dropped at the end), with committed data, and skip without PostgreSQL.

Tests marked `fault` kill servers, restart databases and flood Baton. They are left out
of the normal runs (pyproject.toml's addopts say `-m "not fault"`) and run as a step of
their own: `pytest -m fault` (scripts/test does, after the SQLite and PostgreSQL runs).
They make their own databases (`fault_database`: a fresh SQLite file, and a database on
a private PostgreSQL server this session starts and removes, never the shared one).
"""

import contextlib
import html
import os
import re
import signal
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

from app.storage.db import make_engine
from app.storage.migrate import upgrade
from app.storage.models import User
from app.web.auth import SESSION_COOKIE
from tests.production.private_postgresql import PrivatePostgreSQL, why_unavailable

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"  # what tests.factories gives every person

requires_postgresql = pytest.mark.skipif(
    not os.environ.get("BATON_DATABASE_URL", "").startswith("postgresql"),
    reason="needs PostgreSQL: set BATON_TEST_DATABASE_URL",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One `baton serve` process (uvicorn, with its workers) on its own port, in a
    process group of its own so that it can be killed whole."""

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
        self._kill_group()  # workers a killed parent left behind

    def kill(self) -> None:
        """kill -9 of every process of this server at once: the parent and its workers."""
        self._kill_group()
        self.process.wait()

    def _kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


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


def start_server(*, url: str, data_dir: Path, logs: Path, workers: int = 1) -> Server:
    """Starts `baton serve` on a database and data folder, on a free port, and waits
    until it answers /healthz."""
    env = {
        **os.environ,
        "BATON_DATABASE_URL": url,
        "BATON_SECRET_KEY": "production-test-secret-key",
        "BATON_DATA_DIR": str(data_dir),
    }
    env.pop("BATON_DEMO_MODE", None)
    port = _free_port()
    log = logs / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port),
             "--workers", str(workers)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = Server(base=f"http://127.0.0.1:{port}", process=process, log=log)

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"baton serve exited:\n{server.log_tail()}")
        return _answers(f"{server.base}/healthz")

    try:
        wait_until(up, seconds=90, what=f"baton serve answers on {server.base}")
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture
def serve(committed: Engine, tmp_path: Path) -> Iterator[Callable[[], Server]]:
    """Starts `baton serve` processes on the test database, each on a free port, and
    stops them at the end (before `committed` empties the tables)."""
    servers: list[Server] = []

    def start() -> Server:
        server = start_server(url=committed.url.render_as_string(hide_password=False),
                              data_dir=tmp_path / "data", logs=tmp_path)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# --- fault tests: databases of their own ------------------------------------------------


@pytest.fixture(scope="session")
def private_postgresql() -> Iterator[PrivatePostgreSQL]:
    """A PostgreSQL server of this test session's own (tests/production/
    private_postgresql.py), removed at the end whatever happened."""
    reason = why_unavailable()
    if reason:
        pytest.skip(f"no private PostgreSQL server: {reason}")
    server = PrivatePostgreSQL()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@dataclass
class FaultDatabase:
    """A migrated database of one test's own, with the data folder its server uses."""

    kind: str
    url: str
    engine: Engine
    data_dir: Path

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"


@pytest.fixture(params=["sqlite", "postgresql"])
def fault_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FaultDatabase]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'baton.db'}"
    else:
        server: PrivatePostgreSQL = request.getfixturevalue("private_postgresql")
        url = server.create_database(f"fault_{tmp_path.name[-40:].lower()}")
    upgrade(url)
    engine = make_engine(url)
    yield FaultDatabase(kind=request.param, url=url, engine=engine, data_dir=data_dir)
    engine.dispose()


@pytest.fixture
def serve_on(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Starts `baton serve` on a fault test's database; stops every one at the end."""
    servers: list[Server] = []

    def start(database: FaultDatabase, *, workers: int = 1) -> Server:
        server = start_server(url=database.url, data_dir=database.data_dir, logs=tmp_path,
                              workers=workers)
        servers.append(server)
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

    def submit(self, slug: str, answers: dict[str, str],
               files: dict[str, tuple[str, bytes, str]]) -> httpx.Response:
        """Opens a service's form and sends it as a browser would: its hidden fields (the
        CSRF token, the version, a one-time key if it has one) with the answers."""
        page = self.client.get(f"/services/{slug}")
        assert page.status_code == 200, page.text[:500]
        return self.client.post(f"/services/{slug}/requests",
                                data={**hidden_fields(page.text), **answers}, files=files)

    def close(self) -> None:
        self.client.close()


def hidden_fields(page: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r'<input[^>]*type="hidden"[^>]*>', page):
        name, value = re.search(r'name="([^"]*)"', tag), re.search(r'value="([^"]*)"', tag)
        if name:
            fields[html.unescape(name.group(1))] = html.unescape(value.group(1) if value else "")
    return fields


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
