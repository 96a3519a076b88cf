"""Benchmark the typed-answer report: its first page with the exact count, as a manager
asks it of the busiest service, with and without filters.

    .venv/bin/python -m bench.answer_report --database-url sqlite:////tmp/b1m/bench.db
    .venv/bin/python -m bench.answer_report --database-url URL --rounds 200

Serves a database bench.seed filled with one `baton serve` worker on a free 127.0.0.1
port (bench.load.serving), signs in as one of its managers (bench.client.sign_in), and
times `--rounds` sequential GETs of each case after `--warmup` (bench.client.time_calls,
one keep-alive connection, each answer checked to be 200 with a count on it). The service
is the one with the most requests among those whose form has a number, a choice and a
date field (the seed's "business trip" and the like: about 3% of all requests), found
through the models, so no seeded name is written here. The cases:

1. no filter;
2. a number: `amount > 5000`;
3. a choice equal to a text: `priority == "High"` (its last option);
4. a date answer in this year, quoted as people write it, and the state completed;
5. what an insights throughput bar links to: completed in one week (four weeks ago).

Prints p50/p95/p99, the worker's CPU ms per request (/proc, as bench.run has it), each
case's count of matching requests, and the load average of the machine before and after:
the figures of issue 13's target (p95 <= 100 ms at 1,000,000 requests, one worker).
"""

import argparse
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.rules.catalog import current_version, definition_of
from app.storage.db import make_engine
from app.storage.models import Service, ServiceRequest, User, utcnow
from bench.client import BenchError, Browser, sign_in, time_calls
from bench.load import baton_command, server_env, serving
from bench.seed import PASSWORD

_COUNT = re.compile(r'<p class="count"><strong>(\d+)</strong>')


@dataclass
class Case:
    name: str
    params: list[tuple[str, str]]


def _subject(url: str) -> tuple[str, str, list[Case]]:
    """A manager's e-mail, the service's slug and the cases to ask of its report."""
    engine = make_engine(url)
    with Session(engine) as session:
        manager = session.exec(select(User.email).where(
            col(User.is_manager), col(User.is_active)).order_by(col(User.id)).limit(1)).first()
        busiest = session.exec(
            select(ServiceRequest.service_id).group_by(col(ServiceRequest.service_id))
            .order_by(func.count().desc()).limit(30)).all()
        for service_id in busiest:
            service = session.get_one(Service, service_id)
            first = {}
            for item in definition_of(current_version(session, service)).fields:
                first.setdefault(item.type, item)
            if {"number", "select", "date"} <= first.keys():
                break
        else:
            raise BenchError("no busy service has a number, a choice and a date field: "
                             "is the database seeded by bench.seed?")
    engine.dispose()
    if manager is None:
        raise BenchError("the database has no active manager: seed it with bench.seed")
    number, choice, day = first["number"].key, first["select"], first["date"].key
    option = (choice.options or [""])[-1].replace("\\", "\\\\").replace('"', '\\"')
    year = utcnow().year
    monday = utcnow().date() - timedelta(days=utcnow().weekday() + 28)
    cases = [
        Case("no filter", []),
        Case(f"number: {number} > 5000", [("where", f"{number} > 5000")]),
        Case(f'choice: {choice.key} == "{option}"', [("where", f'{choice.key} == "{option}"')]),
        Case(f"date answer in {year} + state completed", [
            ("where", f'{day} >= "{year}-01-01" and {day} <= "{year}-12-31"'),
            ("state", "completed")]),
        Case(f"completed {monday}..{monday + timedelta(days=6)} + state completed", [
            ("state", "completed"), ("completed_from", monday.isoformat()),
            ("completed_to", (monday + timedelta(days=6)).isoformat())]),
    ]
    return manager, service.slug, cases


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def measure(url: str, *, rounds: int, warmup: int) -> None:
    email, slug, cases = _subject(url)
    with tempfile.TemporaryDirectory(prefix="baton-bench-report-") as tmp:
        env = server_env(database_url=url, data_dir=Path(tmp), secret="bench-only-secret-key",
                         access_log=False)
        env["BATON_COOKIE_SECURE"] = "false"
        with serving(baton_command(), workers=1, env=env, log=Path(tmp) / "server.log") as server:
            manager = sign_in("127.0.0.1", server.port, email, PASSWORD)
            print(f"\n/reports/{slug}, first page with its exact count; one worker; "
                  f"{url.split(':', 1)[0]}; {rounds} rounds after {warmup}; "
                  f"load average before: {_load()}")
            print("| case | matching | p50 ms | p95 ms | p99 ms | server CPU ms |")
            print("|---|---:|---:|---:|---:|---:|")
            for case in cases:
                path = f"/reports/{slug}" + (f"?{urlencode(case.params)}" if case.params else "")
                count = _count(manager, path)
                cpu = server.cpu_seconds()
                latency = time_calls(lambda path=path: manager.expect("GET", path, 200),
                                     rounds=rounds, warmup=warmup)
                cpu_ms = (server.cpu_seconds() - cpu) * 1000 / (rounds + warmup)
                print(f"| {case.name} | {count:,} | {latency.p50:.1f} | {latency.p95:.1f} "
                      f"| {latency.p99:.1f} | {cpu_ms:.1f} |", flush=True)
            manager.close()
            print(f"load average after: {_load()}")


def _count(manager: Browser, path: str) -> int:
    found = _COUNT.search(manager.expect("GET", path, 200).text)
    if found is None:
        raise BenchError(f"GET {path} shows no count")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", action="append", required=True,
                        help="a database bench.seed filled (repeat for several)")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPUs; {sys.version.split()[0]}")
    for url in args.database_url:
        measure(url, rounds=args.rounds, warmup=args.warmup)


if __name__ == "__main__":
    main()
