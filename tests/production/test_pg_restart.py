"""PostgreSQL restarts under a running Baton: the server's pooled connections all die,
and the app must serve the very next requests without being restarted itself. The pool
checks a connection before handing it out (`pool_pre_ping`); without that the first
request after the restart would fail on a dead connection."""

import os
import subprocess
from datetime import datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app.db import make_engine
from app.models import Task, TaskState
from tests.factories import Factory
from tests.production.conftest import requires_postgresql, wait_until


def test_postgresql_connections_are_checked_before_use():
    engine = make_engine("postgresql+psycopg://baton@db.invalid/baton")  # never connects
    assert engine.pool._pre_ping  # type: ignore[attr-defined]


def _restart_postgresql(url: str) -> None:
    """Restarts the local cluster (the one the test server URL names), as root, and waits
    until it accepts connections again."""
    version = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   check=True, capture_output=True, timeout=120)
    server = make_url(url)
    ready = ["pg_isready", "-q", "-h", server.host or "127.0.0.1", "-p", str(server.port or 5432)]
    wait_until(lambda: subprocess.run(ready, timeout=10).returncode == 0, seconds=60,
               what="PostgreSQL accepts connections again")


def _started_at(engine: Engine) -> datetime:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_postmaster_start_time()")).scalar_one()


@requires_postgresql
@pytest.mark.pg_restart
def test_the_app_serves_on_through_a_postgresql_restart(
    committed: Engine, serve, visit,  # type: ignore[no-untyped-def]
):
    with Session(committed, expire_on_commit=False) as setup:
        make = Factory(setup)
        service = make.service(steps=[("it", "task")])
        ivan = make.user("Ivan", teams=("it",))
        before_id, after_id = (make.tasks(make.request(service, make.user()))[0].id
                               for _ in range(2))
        setup.commit()
    server = serve()
    ivan_at = visit(server, ivan)
    assert ivan_at.client.get("/healthz").json() == {"status": "ok"}
    assert ivan_at.client.get("/queues/it").status_code == 200
    assert ivan_at.claim(before_id).status_code == 200
    # A pool without pre-ping, holding one idle connection, like the app's pool does now.
    unchecked = create_engine(committed.url, pool_size=1)
    started = _started_at(unchecked)

    _restart_postgresql(os.environ["BATON_DATABASE_URL"])

    # The very next requests, to the same process, succeed: a read, a page, a write.
    health = ivan_at.client.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"}), server.log_tail()
    page = ivan_at.client.get("/queues/it")
    assert page.status_code == 200, server.log_tail()
    claimed = ivan_at.claim(after_id)
    assert claimed.status_code == 200, server.log_tail()
    assert "You claimed this task." in claimed.text
    assert server.process.poll() is None
    with Session(committed) as check:
        task = check.get(Task, after_id)
        assert task is not None and (task.state, task.assignee_id) == (TaskState.claimed, ivan.id)

    # The restart was real and did kill pooled connections: the pool without pre-ping
    # hands out its dead one and the statement fails.
    with pytest.raises(DBAPIError) as dead:
        _started_at(unchecked)
    assert dead.value.connection_invalidated
    assert _started_at(unchecked) > started
    unchecked.dispose()
