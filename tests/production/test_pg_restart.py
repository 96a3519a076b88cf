"""PostgreSQL restarts under a running, busy Baton: while it is down Baton answers 503
with Retry-After (never a 500), and the moment it is back every request succeeds again,
without Baton being restarted. The pool checks a connection before handing it out
(app.storage.pooled_connections; tests/test_pooled_connections.py); without that the
first requests after the restart would fail on dead connections.

The server restarted is a private one (tests/production/private_postgresql.py), never
the machine's shared PostgreSQL."""

import threading
import time
from dataclasses import dataclass

import httpx
import pytest
from sqlmodel import Session, col, select

from app.storage.db import RETRY_AFTER_SECONDS
from app.storage.models import Task, TaskState
from tests.factories import Factory
from tests.production.conftest import FaultDatabase, wait_until
from tests.production.private_postgresql import PrivatePostgreSQL


@dataclass
class Answer:
    kind: str  # health, page, claim
    began: float
    ended: float
    status: int
    headers: httpx.Headers
    text: str
    task_id: int | None = None


def _kept_text(response: httpx.Response) -> str:
    # A 200 page is only counted; an error page is read whole, since its message sits
    # below the navigation, which grows with every feature.
    return response.text if response.status_code != 200 else ""


class SteadyLoad:
    """Three clients asking again and again, each as soon as its last answer came: a load
    balancer's health check, a person reloading their queue, the same person claiming
    one task after another (htmx)."""

    def __init__(self, base: str, visitor, task_ids: list[int]):  # type: ignore[no-untyped-def]
        self.base = base
        self.visitor = visitor
        self.task_ids = list(task_ids)
        self.answers: list[Answer] = []
        self.failures: list[str] = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._loop, args=(kind,), daemon=True)
                        for kind in ("health", "page", "claim")]

    def _ask(self, kind: str, client: httpx.Client) -> tuple[httpx.Response, int | None]:
        if kind == "health":
            return client.get(f"{self.base}/healthz"), None
        if kind == "page":
            return self.visitor.client.get("/queues/it"), None
        with self.lock:
            task_id = self.task_ids.pop()
        return self.visitor.claim(task_id), task_id

    def _loop(self, kind: str) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stopping.is_set():
                began = time.monotonic()
                try:
                    response, task_id = self._ask(kind, client)
                except httpx.HTTPError as error:  # Baton itself must never go away
                    self.failures.append(f"{kind}: {error!r}")
                    continue
                with self.lock:
                    self.answers.append(Answer(kind, began, time.monotonic(),
                                               response.status_code, response.headers,
                                               _kept_text(response), task_id))
                time.sleep(0.025)  # a steady pace, not a flood: the machine is shared

    def count(self, *, after: float) -> dict[str, int]:
        with self.lock:
            return {kind: sum(1 for a in self.answers if a.kind == kind and a.began > after)
                    for kind in ("health", "page", "claim")}

    def __enter__(self) -> "SteadyLoad":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)


@pytest.mark.fault
@pytest.mark.parametrize("fault_database", ["postgresql"], indirect=True)
def test_a_postgresql_restart_under_load_is_503s_while_it_lasts_then_all_succeeds(
    fault_database: FaultDatabase, private_postgresql: PrivatePostgreSQL,
    serve_on, visit,  # type: ignore[no-untyped-def]
):
    with Session(fault_database.engine, expire_on_commit=False) as setup:
        make = Factory(setup)
        service = make.service(steps=[("it", "task")])
        ivan = make.user("Ivan", teams=("it",))
        requester = make.user("Rita")
        task_ids = [make.tasks(make.request(service, requester))[0].id for _ in range(400)]
        setup.commit()
    server = serve_on(fault_database)
    ivan_at = visit(server, ivan)

    with SteadyLoad(server.base, ivan_at, task_ids) as load:
        wait_until(lambda: min(load.count(after=0).values()) >= 3, seconds=60,
                   what="every client has had answers")
        restart_began = time.monotonic()
        private_postgresql.restart()
        restart_ended = time.monotonic()  # it accepts connections again
        wait_until(lambda: min(load.count(after=restart_ended).values()) >= 5, seconds=60,
                   what="every client has asked again since the restart")

    assert not load.failures, load.failures[:5]
    assert server.process.poll() is None  # the very same Baton, never restarted
    during = [a for a in load.answers if a.ended > restart_began and a.began < restart_ended]
    assert during, "no request overlapped the restart: the test proves nothing"
    for answer in load.answers:
        assert answer.status in (200, 503), (answer, server.log_tail())
        if answer.began > restart_ended:
            assert answer.status == 200, (answer, server.log_tail())
        if answer.status != 503:
            continue
        assert answer in during, ("a 503 outside the restart", answer)
        assert answer.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        if answer.kind == "health":
            assert answer.headers["content-type"] == "application/json"
        elif answer.kind == "page":
            assert "try again in a few seconds" in answer.text
        else:  # htmx: nothing swapped, the toast says it
            assert answer.headers["HX-Reswap"] == "none"
            assert "try again in a few seconds" in answer.headers["HX-Trigger"]
    assert any(a.status == 503 for a in during), "the restart never showed: no 503 at all"

    # Every claim that was answered 200 holds; none answered 503 is half-made.
    claimed = {a.task_id for a in load.answers if a.kind == "claim" and a.status == 200}
    with Session(fault_database.engine) as check:
        held = set(check.exec(select(Task.id).where(
            col(Task.state) == TaskState.claimed, col(Task.assignee_id) == ivan.id)).all())
    assert claimed <= held
