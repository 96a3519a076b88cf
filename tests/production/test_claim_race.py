"""PRODUCT.md rule 4 across processes: two `baton serve` processes on one database, as
behind a load balancer, and twenty members of a team clicking Claim on the same task at
the same moment, ten on each process; on SQLite and on PostgreSQL (a fault test: its
own database, tests/production/conftest.py)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import cycle

import httpx
import pytest
from sqlmodel import Session, col, func, select

from app.storage.models import EventKind, Task, TaskState, TimelineEvent
from tests.factories import Factory
from tests.production.conftest import FaultDatabase

pytestmark = pytest.mark.fault
RACERS = 20


def test_a_claim_race_across_two_app_processes_has_exactly_one_winner(
    fault_database: FaultDatabase, serve_on, visit,  # type: ignore[no-untyped-def]
):
    with Session(fault_database.engine, expire_on_commit=False) as setup:
        make = Factory(setup)
        service = make.service(steps=[("it", "task")])
        racers = [make.user(f"Racer {n}", teams=("it",)) for n in range(RACERS)]
        task_id = make.tasks(make.request(service, make.user()))[0].id
        setup.commit()
    servers = [serve_on(fault_database), serve_on(fault_database)]
    visitors = [visit(server, racer) for racer, server in zip(racers, cycle(servers), strict=False)]
    assert {visitor.server.base for visitor in visitors} == {server.base for server in servers}

    barrier = threading.Barrier(len(visitors), timeout=60)

    def claim(visitor) -> httpx.Response:  # type: ignore[no-untyped-def]
        barrier.wait()
        return visitor.claim(task_id)

    with ThreadPoolExecutor(max_workers=len(visitors)) as pool:
        responses = list(pool.map(claim, visitors))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [409] * (RACERS - 1), [response.text[:300] for response in responses]
    winner = next(visitor.user for visitor, response in zip(visitors, responses, strict=True)
                  if response.status_code == 200)
    for response in responses:
        if response.status_code == 200:
            assert "You claimed this task." in response.text
        else:
            assert f"{winner.name} has already claimed this task." in response.text

    with Session(fault_database.engine) as check:
        task = check.get(Task, task_id)
        assert task is not None
        assert (task.state, task.assignee_id) == (TaskState.claimed, winner.id)
        claims = check.exec(select(func.count()).select_from(TimelineEvent).where(
            col(TimelineEvent.task_id) == task_id, col(TimelineEvent.kind) == EventKind.claimed,
        )).one()
        assert claims == 1
