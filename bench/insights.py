"""Benchmark the insights targets of issue 13 that no other benchmark measures, on a
database bench.seed filled:

    .venv/bin/python -m bench.insights --database-url sqlite:////tmp/b1m/bench.db
    .venv/bin/python -m bench.insights --database-url postgresql+psycopg://.../baton_b1m

1. Every insights page (p95 <= 50 ms for any window up to 52 weeks): /insights, the hot
   team's /insights/teams/<team>, the lists behind a step's and a team's numbers, and
   /insights/<busiest service> for the last 4, 13 and 52 weeks, as a manager, through one
   `baton serve` worker, `--rounds` sequential requests each after `--warmup`.
2. The expected-finish line on the request page (adds <= 1 ms): the page of an open
   request of the busiest service, as its requester, asked in turn of two workers, one
   as shipped and one whose request page leaves the line out (the same app, its
   request_detail's request_expectation replaced at start: nothing in the app is
   switched); and the line's own read, app.reads.expected_finish.request_expectation,
   timed in-process per call.
3. Recording durations on a completion (adds <= 1 ms): `--completions` open tasks of the
   hot team completed in-process through app.rules.tasks.complete_task, in turn with the
   figures recorded (app.storage.flow_figures' before-commit listener) and without; and
   the listener's own time. SQLite: on a copy of the database in a temp dir. PostgreSQL:
   inside one transaction rolled back at the end (each rule's commit releases a
   savepoint), so the seeded database is left as it was.

The typed-answer report and the CSV have benchmarks of their own (bench/answer_report.py,
bench/csv_export.py). Prints one Markdown table; the machine's load average is printed
with it, as every figure here moves with it.
"""

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, func
from sqlmodel import Session, col, select

from app.reads.expected_finish import request_expectation
from app.rules.tasks import complete_task
from app.storage import flow_figures
from app.storage.clock import utcnow
from app.storage.db import make_engine
from app.storage.models import (
    QUEUED_TASK_STATES,
    Service,
    ServiceRequest,
    ServiceWeek,
    Task,
    User,
)
from bench.catalog import HOT_TEAM
from bench.client import Latency, sign_in, summarise, time_calls
from bench.load import server_env, serving
from bench.seed import PASSWORD
from bench.subjects import _hot_team, _queue_member, open_task_ids

WEEKS = (4, 13, 52)
PAGE_TARGET_MS = 50.0
ADDED_TARGET_MS = 1.0

# The server of the A/B's "without" side: the request page as shipped, but its read of
# the expected finish answers None, as for a closed request (the line is left out).
_WITHOUT_EXPECTED_FINISH = (
    "import app.reads.request_detail as detail\n"
    "detail.request_expectation = lambda *args, **kwargs: None\n"
    "from app.cli import main\n"
    "main()\n"
)


def _subjects(url: str) -> dict[str, object]:
    """The busiest service (most requests completed in the last 52 weeks), a manager, and
    the newest open request of that service with its requester."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            since = utcnow().date() - timedelta(days=7 * 53)
            completed = func.sum(ServiceWeek.completed_count)
            service_id = session.exec(
                select(ServiceWeek.service_id).where(col(ServiceWeek.week) >= since)
                .group_by(col(ServiceWeek.service_id)).order_by(completed.desc()).limit(1)
            ).first()
            if service_id is None:
                raise SystemExit("No service has completed requests: seed with bench.seed.")
            service = session.get_one(Service, service_id)
            request_id, requester = session.exec(
                select(Task.request_id, User.email)
                .join(ServiceRequest, col(ServiceRequest.id) == Task.request_id)
                .join(User, col(User.id) == ServiceRequest.requester_id)
                .where(Task.service_id == service_id, col(User.is_active),
                       col(Task.state).in_(QUEUED_TASK_STATES))
                .order_by(col(Task.opened_at).desc()).limit(1)
            ).one()
            manager = session.exec(select(User.email).where(
                col(User.is_manager), col(User.is_active)).order_by(col(User.id))).first()
            requests = session.exec(select(func.max(ServiceRequest.id))).one()
            return {"service": service.slug, "service_id": service_id,
                    "request_id": request_id, "requester": requester, "manager": manager,
                    "requests": requests}
    finally:
        engine.dispose()


def _row(name: str, latency: Latency, target: str = "", met: bool | None = None) -> str:
    verdict = "" if met is None else ("yes" if met else "**no**")
    return (f"| {name} | {latency.rounds} | {latency.p50:.2f} | {latency.p95:.2f} "
            f"| {latency.p99:.2f} | {latency.mean:.2f} | {target} | {verdict} |")


def page_rows(port: int, subjects: dict, *, rounds: int, warmup: int) -> list[str]:
    manager = sign_in("127.0.0.1", port, str(subjects["manager"]), PASSWORD)
    rows = []
    # Every insights page: all services, the busiest service, the hot team's own page,
    # and the lists behind a number (the busiest service's first step, the hot team).
    paths = ("/insights", f"/insights/{subjects['service']}", f"/insights/teams/{HOT_TEAM}",
             f"/insights/{subjects['service']}/tasks?step=0&",
             f"/insights/tasks?team={HOT_TEAM}&")
    for path in paths:
        for weeks in WEEKS:
            address = f"{path}{'' if path.endswith('&') else '?'}weeks={weeks}"
            latency = time_calls(lambda a=address: manager.expect("GET", a, 200),
                                 rounds=rounds, warmup=warmup)
            rows.append(_row(f"GET {address}", latency, f"p95 ≤ {PAGE_TARGET_MS:.0f} ms",
                             latency.p95 <= PAGE_TARGET_MS))
    manager.close()
    return rows


def alternate(calls: list[Callable[[], object]], *, rounds: int, warmup: int
              ) -> list[Latency]:
    """Each call timed `rounds` times, taking turns, so that the machine's drifts (other
    work on its cores, its speed) fall on every side alike."""
    for _ in range(warmup):
        for call in calls:
            call()
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(rounds):
        for call, spent in zip(calls, times, strict=True):
            started = time.perf_counter()
            call()
            spent.append((time.perf_counter() - started) * 1000)
    return [summarise(spent) for spent in times]


def expected_finish_rows(ports: tuple[int, int], url: str, subjects: dict, *,
                         rounds: int, warmup: int) -> list[str]:
    path = f"/requests/{subjects['request_id']}"
    people = [sign_in("127.0.0.1", port, str(subjects["requester"]), PASSWORD)
              for port in ports]
    with_line, without = (people[0].expect("GET", path, 200).text,
                          people[1].expect("GET", path, 200).text)
    if with_line == without:
        raise SystemExit(f"{path}: the two servers answer the same page; the A/B is void.")
    shown, left_out = alternate([lambda: people[0].expect("GET", path, 200),
                                 lambda: people[1].expect("GET", path, 200)],
                                rounds=rounds, warmup=warmup)
    for person in people:
        person.close()
    engine = make_engine(url)
    with Session(engine) as session:
        tasks = list(session.exec(select(Task).where(Task.request_id == subjects["request_id"])))
        service_id = int(subjects["service_id"])  # type: ignore[call-overload]
        read = time_calls(lambda: request_expectation(session, service_id, tasks),
                          rounds=rounds, warmup=warmup)
    engine.dispose()
    added = shown.p95 - left_out.p95
    return [
        _row(f"GET {path} (open request), with the expected finish", shown),
        _row(f"GET {path}, the line left out", left_out),
        f"| … the line's cost: difference of p50 / p95 / mean | | "
        f"{shown.p50 - left_out.p50:+.2f} | {added:+.2f} | | "
        f"{shown.mean - left_out.mean:+.2f} | ≤ {ADDED_TARGET_MS:.0f} ms | "
        f"{'yes' if shown.p50 - left_out.p50 <= ADDED_TARGET_MS else '**no**'} |",
        _row("request_expectation() in-process, per call", read,
             f"≤ {ADDED_TARGET_MS:.0f} ms", read.p95 <= ADDED_TARGET_MS),
    ]


@contextmanager
def _writable(url: str, work: Path) -> Iterator[Session]:
    """A session whose completions leave the seeded database as it was."""
    if url.startswith("sqlite:///"):
        copy = work / "completions.db"
        source = sqlite3.connect(url.removeprefix("sqlite:///"))
        target = sqlite3.connect(copy)
        source.backup(target)  # a consistent copy while others read the original
        source.close()
        target.close()
        engine = make_engine(f"sqlite:///{copy}")
        with Session(engine) as session:
            yield session
        engine.dispose()
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        outer = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            try:
                yield session
            finally:
                session.close()
                outer.rollback()
    engine.dispose()


def recording_rows(url: str, *, completions: int, work: Path) -> list[str]:
    with _writable(url, work) as session:
        team, _queued = _hot_team(session)
        member, _claimed = _queue_member(session, team)
        task_ids = open_task_ids(session, team, completions + 20)
        if len(task_ids) < completions + 20:
            raise SystemExit(f"The hot team has {len(task_ids)} open tasks; "
                             f"{completions + 20} are needed.")
        recording = [True]
        listener_ms: list[float] = []

        def write_or_drop(session: Session) -> None:
            if not session.info.get(flow_figures._PENDING):
                return  # a commit with nothing to record (SQLite's begin_write)
            if not recording[0]:
                session.info.pop(flow_figures._PENDING)
                return
            session.flush()  # the change's own rows, flushed by the commit anyway
            started = time.perf_counter()
            flow_figures._write_pending(session)
            listener_ms.append((time.perf_counter() - started) * 1000)

        event.remove(Session, "before_commit", flow_figures._write_pending)
        event.listen(Session, "before_commit", write_or_drop)
        try:
            ids = iter(task_ids)

            def complete(record: bool) -> Callable[[], object]:
                def run() -> object:
                    recording[0] = record
                    task = session.get_one(Task, next(ids))
                    return complete_task(session, task=task, by=member)
                return run

            with_figures, without = alternate([complete(True), complete(False)],
                                              rounds=completions // 2, warmup=10)
        finally:
            event.remove(Session, "before_commit", write_or_drop)
            event.listen(Session, "before_commit", flow_figures._write_pending)
        listener = summarise(listener_ms[10:])  # after the warm-up's
    return [
        _row("complete_task() in-process, figures recorded", with_figures),
        _row("complete_task() in-process, figures not recorded", without),
        f"| … recording's cost: difference of p50 / p95 / mean | | "
        f"{with_figures.p50 - without.p50:+.2f} | {with_figures.p95 - without.p95:+.2f} | "
        f"| {with_figures.mean - without.mean:+.2f} | ≤ {ADDED_TARGET_MS:.0f} ms | |",
        _row("the recording itself (flow_figures' before-commit listener)", listener,
             f"≤ {ADDED_TARGET_MS:.0f} ms", listener.p95 <= ADDED_TARGET_MS),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a database bench.seed filled")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--completions", type=int, default=200)
    args = parser.parse_args(argv)
    url = args.database_url
    load_before = os.getloadavg()
    subjects = _subjects(url)
    table = [
        "| figure | n | p50 ms | p95 ms | p99 ms | mean ms | target | met |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    with tempfile.TemporaryDirectory(prefix="baton-bench-insights-") as tmp:
        work = Path(tmp)
        env = server_env(database_url=url, data_dir=work, secret="bench-only-secret-key",
                         access_log=False)
        env["BATON_COOKIE_SECURE"] = "false"
        with ExitStack() as servers:
            shipped = servers.enter_context(serving(
                [sys.executable, "-m", "app.cli", "serve"], workers=1, env=env,
                log=work / "server.log"))
            without = servers.enter_context(serving(
                [sys.executable, "-c", _WITHOUT_EXPECTED_FINISH, "serve"], workers=1,
                env=env, log=work / "server-without.log"))
            table += page_rows(shipped.port, subjects, rounds=args.rounds,
                               warmup=args.warmup)
            table += expected_finish_rows((shipped.port, without.port), url, subjects,
                                          rounds=args.rounds, warmup=args.warmup)
        table += recording_rows(url, completions=args.completions, work=work)
    load_after = os.getloadavg()
    kind = url.split(":", 1)[0].split("+")[0]
    print(f"Issue 13 targets on {kind}, {subjects['requests']:,} requests; one `baton serve` "
          f"worker; busiest service `{subjects['service']}`; load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after "
          f"({os.cpu_count()} CPUs).\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
