"""The live request page's poll and a bulk action on 50 tasks, at a database bench.seed
filled (issue 14's targets: the poll p95 <= 3 ms when nothing changed; a bulk action on
50 tasks <= 250 ms).

    python -m bench.live_bulk --database-url sqlite:////tmp/b1m/bench.db

The poll is measured over HTTP, one uvicorn worker serving the database, a sequential
client: GET /requests/<id>/changes?since=<the page's version> (204) for the request's
requester and for a member of its team, and the full request page beside it; first
GET /healthz, the floor of any request that asks the database something. The
bulk action runs in process, inside one transaction rolled back at the end (the
batch's own transaction is a savepoint in it, and each task a savepoint in that), so
the database stays as seeded: the claims of 50 of the busiest team's open tasks by one
member (app.rules.bulk.act_on_tasks), then completing those 50, then the 50 rows a
response re-reads (task_row). The batch's savepoint is released where a real post
commits once: on PostgreSQL that one COMMIT's round trip and WAL flush are not in the
figure (a few tenths of a ms on this disk). `--only bulk` skips the poll.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session

from app.reads.request_changes import page_version
from app.reads.request_detail import timeline_page
from app.reads.task_rows import task_row
from app.rules.bulk import BulkAction, act_on_tasks, tasks_for_bulk
from app.storage.db import make_engine
from app.storage.models import ServiceRequest, User
from bench.client import sign_in, time_calls
from bench.load import server_env, serving
from bench.seed import PASSWORD

BATCH = 50


@contextmanager
def rolled_back(url: str) -> Iterator[Session]:
    engine = make_engine(url)
    with engine.connect() as connection:
        outer = connection.begin()
        # expire_on_commit=False as a web request's session (app.storage.db.request_session):
        # each task's commit does not make the next one reload the person and its task.
        with Session(bind=connection, join_transaction_mode="create_savepoint",
                     expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.close()
                outer.rollback()
    engine.dispose()


def _subjects(session: Session) -> tuple[int, int, list[int], int, str, str]:
    """The busiest team, one active member of it, and an open request with a task of
    that team: its id and its requester's and the member's e-mails."""
    team_id, member_id = session.execute(text(
        "SELECT m.team_id, m.user_id FROM membership m JOIN \"user\" u ON u.id = m.user_id "
        "WHERE u.is_active AND m.team_id = (SELECT team_id FROM task WHERE state = 'open' "
        "GROUP BY team_id ORDER BY count(*) DESC LIMIT 1) ORDER BY m.user_id LIMIT 1")).one()
    open_ids = list(session.execute(text(
        "SELECT id FROM task WHERE team_id = :team AND state = 'open' AND kind = 'task' "
        "ORDER BY opened_at, id LIMIT :n"), {"team": team_id, "n": BATCH * 4}).scalars())
    request_id = session.execute(text(
        "SELECT t.request_id FROM task t JOIN service_request r ON r.id = t.request_id "
        "WHERE t.team_id = :team AND t.state = 'open' AND r.state = 'open' "
        "ORDER BY t.id DESC LIMIT 1"), {"team": team_id}).scalar_one()
    requester = session.execute(text(
        "SELECT u.email FROM \"user\" u JOIN service_request r ON r.requester_id = u.id "
        "WHERE r.id = :id"), {"id": request_id}).scalar_one()
    member = session.get_one(User, member_id).email
    return team_id, member_id, open_ids, request_id, requester, member


def bulk_figures(url: str, rounds: int) -> list[str]:
    lines = []
    with rolled_back(url) as session:
        team_id, member_id, open_ids, *_ = _subjects(session)
        member = session.get_one(User, member_id)
        if len(open_ids) < BATCH * rounds:
            raise SystemExit(f"{len(open_ids)} open tasks; {BATCH * rounds} needed")
        claims, completions, rows = [], [], []
        for n in range(rounds):
            ids = open_ids[n * BATCH:(n + 1) * BATCH]

            def timed(action: Callable[[], object], into: list[float]) -> object:
                started = time.perf_counter()
                result = action()
                into.append((time.perf_counter() - started) * 1000)
                return result

            def run(action: BulkAction, batch: list[int] = ids) -> object:
                tasks = tasks_for_bulk(session, task_ids=batch, team_id=team_id)
                outcomes = act_on_tasks(session, tasks=tasks, by=member, action=action)
                refused = [o.error for o in outcomes if not o.done]
                if refused:
                    raise SystemExit(f"refused: {refused[:3]}")
                return outcomes

            outcomes = timed(lambda: run(BulkAction.claim), claims)
            timed(lambda done=outcomes: [task_row(session, o.task, viewer_id=member_id)
                                         for o in done], rows)  # type: ignore[attr-defined]
            timed(lambda: run(BulkAction.complete), completions)
    for name, times in (("claim 50 tasks", claims), ("complete 50 tasks", completions),
                        ("re-read the 50 rows", rows)):
        lines.append(f"| {name} | {len(times)} | {statistics.median(times):.0f} "
                     f"| {max(times):.0f} |")
    return lines


def poll_figures(url: str, rounds: int) -> list[str]:
    engine = make_engine(url)
    with Session(engine) as session:
        _team, _member_id, _ids, request_id, requester, member = _subjects(session)
        request = session.get_one(ServiceRequest, request_id)
        versions = {
            notes: page_version(timeline_page(session, service_request=request,
                                              with_internal_notes=notes))
            for notes in (False, True)}
    engine.dispose()
    lines = []
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
        env = server_env(database_url=url, data_dir=Path(tmp), secret="b" * 40,
                         access_log=False)
        command = [sys.executable, "-m", "app.cli", "serve"]
        with serving(command, workers=1, env=env, log=Path(tmp) / "server.log") as server:
            # The floor beside it, in the same run: the health check (SELECT 1, nobody
            # signed in) goes through the same server, session and database trips, so a
            # poll near it costs no more than asking the database anything at all.
            floor = sign_in("127.0.0.1", server.port, requester, PASSWORD)
            latency = time_calls(lambda: floor.expect("GET", "/healthz", 200),
                                 rounds=rounds, warmup=20)
            lines.append(f"| anyone | /healthz (the floor) | {latency.rounds} | "
                         f"{latency.p50:.2f} | {latency.p95:.2f} | {latency.p99:.2f} |")
            for who, email, notes in (("requester", requester, False),
                                      ("team member", member, True)):
                person = sign_in("127.0.0.1", server.port, email, PASSWORD)
                poll = f"/requests/{request_id}/changes?since={versions[notes]}"
                for name, path, status in (("poll, nothing changed", poll, 204),
                                           ("request page", f"/requests/{request_id}", 200)):
                    latency = time_calls(lambda p=path, s=status, b=person: b.expect(
                        "GET", p, s, headers={"HX-Request": "true"} if s == 204 else None),
                        rounds=rounds, warmup=20)
                    lines.append(f"| {who} | {name} | {latency.rounds} | {latency.p50:.2f} "
                                 f"| {latency.p95:.2f} | {latency.p99:.2f} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=400, help="polls per case")
    parser.add_argument("--batches", type=int, default=4, help="bulk actions of 50")
    parser.add_argument("--only", choices=("poll", "bulk"), help="one half of the run")
    args = parser.parse_args(argv)
    kind = args.database_url.split(":")[0]
    print(f"{kind}; {os.cpu_count()} CPUs; one worker; sequential client")
    if args.only != "bulk":
        print("| viewer | GET | requests | p50 ms | p95 ms | p99 ms |")
        print("|---|---|---:|---:|---:|---:|")
        print("\n".join(poll_figures(args.database_url, args.rounds)))
        print()
    if args.only != "poll":
        print("| bulk action (in process, rolled back) | runs | median ms | max ms |")
        print("|---|---:|---:|---:|")
        print("\n".join(bulk_figures(args.database_url, args.batches)))


if __name__ == "__main__":
    main()
