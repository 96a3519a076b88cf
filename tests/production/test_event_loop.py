"""A request waiting on the database holds only its own thread: the worker's event loop
goes on answering everyone else. Submitting a request is an async route (it awaits the
multipart form, uploads and all); its database work must still run in the thread pool
like every other route's, or one insert waiting on a lock stalls the whole worker."""

import re
import threading

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.factories import Factory
from tests.production.conftest import requires_postgresql, wait_until

pytestmark = requires_postgresql


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()")).scalar())


def test_a_submit_waiting_on_a_lock_does_not_stall_the_worker(
    committed: Engine, serve, visit,  # type: ignore[no-untyped-def]
):
    with Session(committed, expire_on_commit=False) as setup:
        make = Factory(setup)
        make.service(slug="stall", steps=[("it", "task")])
        person = make.user("Pat")
        setup.commit()
    server = serve()
    visitor = visit(server, person)
    page = visitor.client.get("/services/stall").text
    form = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),  # type: ignore[union-attr]
        "version_id": re.search(r'name="version_id" value="(\d+)"', page).group(1),  # type: ignore[union-attr]
        "summary": "My screen flickers",
    }
    answers: list[httpx.Response] = []
    with committed.connect() as holder:
        # New requests cannot be inserted until this transaction ends; reads go on.
        holder.execute(text("LOCK TABLE service_request IN EXCLUSIVE MODE"))
        submitting = threading.Thread(target=lambda: answers.append(
            visitor.client.post("/services/stall/requests", data=form)))
        submitting.start()
        wait_until(lambda: _waiting_on_a_lock(committed), seconds=30,
                   what="the submit waits on the lock")

        health = httpx.get(f"{server.base}/healthz", timeout=10)
        assert health.status_code == 200
        assert submitting.is_alive()  # answered while the submit was still waiting
        holder.rollback()
    submitting.join(timeout=60)
    assert answers and answers[0].status_code == 303, answers
    assert answers[0].headers["location"].startswith("/requests/")
