"""Where a write's time goes (issue 18's targets 3 and 4): filing a request, claiming a
task and completing it, each rule run in process as a web request runs it (a session on
one connection of its own, app.storage.db.request_session), timed whole, with the time
the driver spent inside it beside it: every statement's execute (its rows' fetch is
counted as Python's) and the COMMIT. What is left is Python: SQLAlchemy's ORM and Core,
and Baton's own rules.

    python -m bench.rules --database-url sqlite:////tmp/w20k/baton.db

WRITES: run it on a copy of a bench.seed database, never the shared ones (the rules
commit, as a post does). `file` files the busiest form as its requester (the answers
bench.subjects finds, validated as the route validates them); `claim` claims the open
tasks (not approvals) of the team with the most, as its first active member, newest
first; `complete` completes the tasks `claim` claimed, in the same order. Nothing of
HTTP is in these figures: bench.pages times the same three posts over HTTP.
"""

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy import select as core_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.rules.catalog import current_version, definition_of
from app.rules.intake import validate_intake
from app.rules.submission import submit_request
from app.rules.tasks import claim_task, complete_task
from app.storage.db import make_engine, request_session
from app.storage.directory_cache import note_directory_version
from app.storage.models import Service, Task, Team, User
from app.storage.page_versions import directory_version
from bench.client import BenchError
from bench.subjects import discover, open_task_ids

ROUNDS = 200
WARMUP = 20


@dataclass
class DriverClock:
    """The driver's share of each call: statements sent and their time, COMMITs included."""
    seconds: float = 0.0
    statements: int = 0
    _started: list[float] = field(default_factory=list)

    def watch(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        do_commit = engine.dialect.do_commit

        def timed_commit(connection: Any) -> None:
            started = time.perf_counter()
            try:
                do_commit(connection)
            finally:
                self.seconds += time.perf_counter() - started
                self.statements += 1
        engine.dialect.do_commit = timed_commit  # type: ignore[method-assign,assignment]

    def _before(self, *_args: Any) -> None:
        self._started.append(time.perf_counter())

    def _after(self, *_args: Any) -> None:
        self.seconds += time.perf_counter() - self._started.pop()
        self.statements += 1

    def reset(self) -> None:
        self.seconds, self.statements = 0.0, 0


@dataclass
class Figures:
    total_ms: list[float] = field(default_factory=list)
    driver_ms: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)

    def row(self, name: str) -> str:
        total, driver = statistics.median(self.total_ms), statistics.median(self.driver_ms)
        python = [t - d for t, d in zip(self.total_ms, self.driver_ms, strict=True)]
        return (f"| {name} | {len(self.total_ms)} | {total:.2f} | "
                f"{_p95(self.total_ms):.2f} | {driver:.2f} | {statistics.median(python):.2f} | "
                f"{statistics.median(self.statements):.0f} | "
                f"{100 * statistics.median(python) / total:.0f}% |")


def _p95(values: list[float]) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * 0.95))]


def _timed(clock: DriverClock, figures: Figures | None, call: Callable[[], object]) -> None:
    clock.reset()
    started = time.perf_counter()
    call()
    elapsed = time.perf_counter() - started
    if figures is not None:
        figures.total_ms.append(elapsed * 1000)
        figures.driver_ms.append(clock.seconds * 1000)
        figures.statements.append(clock.statements)


def _opened_as_a_web_request(session: Session) -> None:
    """What a web request reads first, with who is asking: the directory version, under
    which what it reads of the directory may come from memory (app.web.viewer,
    app.storage.directory_cache)."""
    note_directory_version(session, session.execute(core_select(directory_version)).scalar_one())


def _worker(engine: Engine, count: int) -> tuple[int, list[int]]:
    """The team with the most open tasks (not approvals), its first active member, and
    `count` of those tasks, newest first (as bench.pages' claim)."""
    with Session(engine) as session:
        team_id = session.execute(text(
            "SELECT team_id FROM task WHERE state = 'open' AND kind = 'task' "
            "GROUP BY team_id ORDER BY count(*) DESC LIMIT 1")).scalar_one()
        member_id = session.execute(text(
            "SELECT u.id FROM membership m JOIN \"user\" u ON u.id = m.user_id "
            "WHERE m.team_id = :team AND u.is_active ORDER BY u.id LIMIT 1"),
            {"team": team_id}).scalar_one()
        ids = open_task_ids(session, session.get_one(Team, team_id), count)
    if len(ids) < count:
        raise BenchError(f"{len(ids)} open tasks in the team with the most; {count} needed")
    return member_id, ids


def measure(url: str, *, rounds: int, warmup: int, only: list[str]) -> list[str]:
    engine = make_engine(url)
    clock = DriverClock()
    clock.watch(engine)
    rows = []
    try:
        if "file" in only:
            rows.append(_filing(url, engine, clock, rounds, warmup).row("file"))
        if {"claim", "complete"} & set(only):
            member_id, ids = _worker(engine, rounds + warmup)
            claims, completions = Figures(), Figures()
            # The tasks are claimed first (timed only when asked for), then completed.
            runs = [(claim_task, claims)] + (
                [(complete_task, completions)] if "complete" in only else [])
            for rule, figures in runs:
                for n, task_id in enumerate(ids):
                    with request_session(engine) as session:
                        _opened_as_a_web_request(session)
                        member = session.get_one(User, member_id)
                        task = session.get_one(Task, task_id)
                        _timed(clock, figures if n >= warmup else None,
                               lambda: rule(session, task=task, by=member))  # noqa: B023
            for name, figures in (("claim", claims), ("complete", completions)):
                if name in only:
                    rows.append(figures.row(name))
    finally:
        engine.dispose()
    return rows


def _filing(url: str, engine: Engine, clock: DriverClock, rounds: int,
            warmup: int) -> Figures:
    subjects = discover(url, tasks_needed=0)
    figures = Figures()
    with tempfile.TemporaryDirectory(prefix="baton-bench-files-") as files:
        for n in range(rounds + warmup):
            with request_session(engine) as session:
                _opened_as_a_web_request(session)
                requester = session.exec(
                    select(User).where(User.email == subjects.requester_email)).one()
                service = session.exec(
                    select(Service).where(Service.slug == subjects.service_slug)).one()
                version = current_version(session, service)
                values = {key: value for key, value in subjects.form.items()
                          if key != "version_id"}
                intake = validate_intake(session, definition=definition_of(version),
                                         values=values, uploads={}, max_upload_mb=20)
                key = secrets.token_urlsafe(24)  # a fresh one-time key, as each form page has
                _timed(clock, figures if n >= warmup else None, lambda: submit_request(
                    session, service=service, version=version,  # noqa: B023
                    requester=requester, intake=intake,  # noqa: B023
                    attachments_dir=Path(files), submission_key=key))  # noqa: B023
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--warmup", type=int, default=WARMUP)
    parser.add_argument("--only", default="file,claim,complete",
                        help="comma-separated rules of file,claim,complete")
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    dialect = args.database_url.split(":", 1)[0].split("+", 1)[0]
    now = time.strftime("%H:%M UTC", time.gmtime())
    print(f"\n{dialect}; in process, one call at a time; {now}")
    print("| rule | calls | p50 ms | p95 ms | driver p50 ms | Python p50 ms | statements "
          "| Python share |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    try:
        for row in measure(args.database_url, rounds=args.rounds, warmup=args.warmup,
                           only=only):
            print(row)
    except BenchError as error:
        sys.exit(f"bench.rules: {error}")


if __name__ == "__main__":
    main()
