"""The benchmark seed (bench/seed.py) writes what Baton's rules would have written: its
rows keep every invariant the rules keep, so the benchmarks measure real data."""

import io
import os
import uuid
from collections import defaultdict
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from app.reads.overview import open_work_by_team
from app.reads.queues import TaskFilter
from app.reads.task_rows import list_tasks
from app.rules.catalog import definition_of
from app.rules.sign_in import verify_password
from app.storage import flow_figures
from app.storage.db import make_engine
from app.storage.models import (
    ACTIVE_TASK_STATES,
    QUEUED_TASK_STATES,
    Membership,
    ServiceRequest,
    ServiceVersion,
    Task,
    TaskState,
    Team,
    TimelineEvent,
    User,
)
from app.storage.work_counts import counted_from_tasks, counters
from bench.catalog import HOT_TEAM
from bench.seed import PASSWORD, seed

REQUESTS = 3000
FINISHED = {TaskState.done, TaskState.approved}


@pytest.fixture(params=["sqlite", "postgresql"])
def seeded(request, tmp_path) -> Iterator[tuple[Engine, dict]]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'seed.db'}"
        summary = seed(url, REQUESTS, out=io.StringIO())
        engine = make_engine(url)
        yield engine, summary
        engine.dispose()
        return
    server = os.environ.get("BATON_TEST_DATABASE_URL")
    if not server:
        pytest.skip("needs PostgreSQL: set BATON_TEST_DATABASE_URL")
    name = f"baton_seed_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        summary = seed(url, REQUESTS, out=io.StringIO())
        engine = make_engine(url)
        yield engine, summary
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_seeded_history_keeps_the_rules_invariants(seeded) -> None:  # type: ignore[no-untyped-def]
    engine, summary = seeded
    with Session(engine) as session:
        requests = {r.id: r for r in session.exec(select(ServiceRequest))}
        assert len(requests) == REQUESTS == summary["requests"]
        tasks_of: dict[int, list[Task]] = defaultdict(list)
        for task in session.exec(select(Task).order_by(col(Task.request_id), col(Task.position))):
            tasks_of[task.request_id].append(task)
        members = {(m.team_id, m.user_id) for m in session.exec(select(Membership))}
        versions = {v.id: definition_of(v) for v in session.exec(select(ServiceVersion))}
        team_slugs = {t.id: t.slug for t in session.exec(select(Team))}
        events: dict[int, list[TimelineEvent]] = defaultdict(list)
        for event in session.exec(select(TimelineEvent).order_by(col(TimelineEvent.id))):
            events[event.request_id].append(event)

        open_requests = 0
        for request_id, request in requests.items():
            tasks = tasks_of[request_id]
            definition = versions[request.version_id]
            # The tasks are the version's steps, in order, each with its team.
            assert [(t.step_name, team_slugs[t.team_id]) for t in tasks] == [
                (step.name, step.team) for step in definition.steps]
            assert [t.stage for t in tasks] == definition.stages()
            assert {t.request_title for t in tasks} <= {request.title}
            active = [t for t in tasks if t.state in ACTIVE_TASK_STATES]
            queued = [t for t in tasks if t.state in QUEUED_TASK_STATES]
            if request.state == "open":
                open_requests += 1
                assert queued and request.closed_at is None
                # One stage at a time: nothing waits before, nothing finished after it.
                current = min(t.stage for t in queued)
                assert all(t.state in (*FINISHED, TaskState.skipped)
                           for t in tasks if t.stage < current)
                assert all(t.state in (TaskState.waiting, TaskState.skipped)
                           for t in tasks if t.stage > current)
            else:
                assert not active and request.closed_at is not None
                assert request.closed_at >= request.created_at
            if request.state == "rejected":
                assert any(t.state == TaskState.rejected for t in tasks)
            for task in tasks:
                if task.state == TaskState.claimed or task.state in FINISHED:
                    assert (task.team_id, task.assignee_id) in members
                if task.state in (TaskState.open, TaskState.waiting):
                    assert task.assignee_id is None
                assert (task.opened_at is None) == (task.state in (
                    TaskState.waiting, TaskState.skipped)) or task.state == TaskState.cancelled
                assert (task.closed_at is None) == (task.state in ACTIVE_TASK_STATES)
            timeline = events[request_id]
            assert timeline[0].kind == "submitted"
            assert [e.created_at for e in timeline] == sorted(e.created_at for e in timeline)
            kinds = [e.kind for e in timeline]
            assert kinds.count("claimed") >= sum(
                t.state == TaskState.claimed or t.state in FINISHED for t in tasks)
            if request.state != "open":
                assert f"request_{request.state}" in kinds
        assert 0.03 < open_requests / REQUESTS < 0.08  # "about 5% still open"

        # The counters the overview reads are exact, and the hot team has the most work.
        assert counters(session) == counted_from_tasks(session)
        assert flow_figures.stored(session) == flow_figures.from_history(session)
        lines = open_work_by_team(session)
        assert max(lines, key=lambda line: line.work.count).team.slug == HOT_TEAM
        hot = next(line for line in lines if line.team.slug == HOT_TEAM)
        assert hot.work.count == summary["hot_team_open_tasks"]
        page = list_tasks(session, filters=TaskFilter(team_ids=[hot.team.id]))
        assert page.total == hot.work.count and len(page.rows) == min(50, hot.work.count)

        person = session.exec(select(User).where(User.is_manager)).first()
        assert person is not None and verify_password(person.password_hash, PASSWORD)
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_seed_refuses_a_database_with_people(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'seed.db'}"
    seed(url, 10, out=io.StringIO())
    with pytest.raises(SystemExit, match="already has people or teams"):
        seed(url, 10, out=io.StringIO())
