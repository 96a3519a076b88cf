"""Baton's benchmarks: page latency and throughput, form posts and worker memory, per
database and data size, each page next to a bare Starlette baseline of the same size.

Run: .venv/bin/python -m bench.run [--databases sqlite,postgresql]
         [--sizes 10000,100000,1000000] [--write-results bench/RESULTS.md]
     .venv/bin/python -m bench.run --quick      (CI: 10k requests, a few seconds a page)

Markdown goes to stdout, progress to stderr. Never part of the test suite: it needs
minutes to hours, a PostgreSQL server and wrk. See bench/README.md.
"""

import argparse
import os
import secrets
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from bench.client import BenchError, Browser, sign_in
from bench.databases import DEFAULT_POSTGRES, KINDS, Database, machine, prepared
from bench.load import (
    Load,
    Server,
    baseline_command,
    baton_command,
    prepare_wrk,
    server_env,
    serving,
)
from bench.measure import (
    Page,
    Row,
    baseline_post_latency,
    baseline_throughput,
    claim_complete_latency,
    page_latency,
    page_throughput,
    pages_of,
    submit_latency,
    yardstick_ms,
)
from bench.report import Table, markdown
from bench.subjects import Subjects, discover

WORKERS = (1, 2)
# Warm-up rounds of claim+complete: few, as each uses up an open task.
CLAIM_WARMUP = 3
# Full run, and --quick: enough to prove every step works, not to publish figures.
DEFAULTS = {"sizes": "10000,100000,1000000", "rounds": 300, "warmup": 20, "post_rounds": 100,
            "deep_pages": 30, "duration": 10, "wrk_warmup": 2}
QUICK = {"sizes": "10000", "rounds": 20, "warmup": 3, "post_rounds": 5, "deep_pages": 5,
         "duration": 1, "wrk_warmup": 0}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _default_password(seeder: str) -> str:
    if seeder == "demo":
        from app.demo import DEMO_PASSWORD
        return DEMO_PASSWORD
    try:
        from bench.seed import PASSWORD
    except ImportError:
        raise BenchError("bench/seed.py is missing: use --seeder demo") from None
    return PASSWORD


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default=",".join(KINDS), help="sqlite,postgresql")
    parser.add_argument("--sizes", help=f"requests per database ({DEFAULTS['sizes']})")
    parser.add_argument("--quick", action="store_true",
                        help="CI: one size of 10k, few rounds, 1 s of load per URL")
    parser.add_argument("--postgres-url", default=os.environ.get("BATON_TEST_DATABASE_URL")
                        or DEFAULT_POSTGRES, help="the server on which to create baton_bench_N")
    parser.add_argument("--work-dir", type=Path, help="for SQLite files, logs (default: temp)")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the databases left by an earlier --keep run, unseeded")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--seeder", choices=("bench", "demo"), default="bench",
                        help="bench.seed, or the (slow) demo data for development")
    parser.add_argument("--password", help="every seeded person's password")
    parser.add_argument("--rounds", type=int, help="sequential GETs per page for latency")
    parser.add_argument("--warmup", type=int, help="sequential warm-up requests")
    parser.add_argument("--post-rounds", type=int, help="submits and claim+completes")
    parser.add_argument("--deep-pages", type=int, help="how deep to follow the queue")
    parser.add_argument("--duration", type=int, help="seconds of wrk load per URL")
    parser.add_argument("--wrk-warmup", type=int, help="seconds of wrk load before each")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--access-log", action="store_true", help="keep uvicorn's access log")
    parser.add_argument("--write-results", type=Path, help="also append the tables here")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.databases = [kind.strip() for kind in args.databases.split(",") if kind.strip()]
    if unknown := set(args.databases) - set(KINDS):
        parser.error(f"unknown database {', '.join(sorted(unknown))}")
    args.sizes = [int(size) for size in str(args.sizes).split(",")]
    if args.reuse and not args.work_dir and "sqlite" in args.databases:
        parser.error("--reuse needs the --work-dir of the run that kept the SQLite files")
    args.password = args.password or _default_password(args.seeder)
    return args


def _notes(args: argparse.Namespace, db: Database, subjects: Subjects, pages: int) -> list[str]:
    seeded = (f"seeded by {'bench.seed' if args.seeder == 'bench' else 'baton demo'} "
              f"in {db.seed_seconds:.0f} s" if db.seed_seconds is not None else "reused")
    return [
        f"Data: {seeded}; hot team `{subjects.team_slug}` with {subjects.team_queued:,} open "
        f"or claimed tasks; queue member {subjects.member_email} "
        f"({subjects.member_claimed:,} claimed); requester {subjects.requester_email} "
        f"({subjects.requester_requests:,} requests), request {subjects.request_id}; "
        f"manager {subjects.manager_email}, who submits `{subjects.service_slug}`.",
        f"Latency: one worker, {args.rounds} sequential requests per page ({args.post_rounds} "
        f"per post) over one keep-alive connection after {args.warmup} warm-up requests.",
        f"Throughput: wrk, {args.threads} thread{'s' if args.threads > 1 else ''}, "
        f"{args.connections} connections, "
        f"{args.duration} s per URL after {args.wrk_warmup} s of warm-up; Baton and the "
        f"baseline (bench/baseline.py, `/bytes/<n>`) under the same uvicorn settings, "
        f"access log {'on' if args.access_log else 'off'}. The queue was followed "
        f"{pages} pages deep at most.",
        "Queue pages are rendered at every request, latency and load alike: each request "
        "asks at an address of its own (`&render=N`, which the page ignores), since Baton "
        "serves an unchanged queue page again from memory (app/web/page_cache.py); the row "
        "“unchanged since last asked” is the first page asked again at one address.",
    ]


def _first_run(args: argparse.Namespace, subjects: Subjects, people: dict[str, Browser],
               rows: dict[str, Row], server: Server) -> list[Page]:
    """The pages to load, each with its sequential latency and the server's CPU time per
    request (on one worker)."""
    pages = pages_of(subjects, people, args.deep_pages)
    for page in pages:
        say(f"  latency: {page.name}")
        cpu = server.cpu_seconds()
        latency = page_latency(page, people, rounds=args.rounds, warmup=args.warmup)
        cpu_ms = (server.cpu_seconds() - cpu) * 1000 / (args.rounds + args.warmup)
        rows[page.name] = Row(page.name, page.size, latency=latency, cpu_ms=cpu_ms)
    return pages


def _measure_baton(args: argparse.Namespace, subjects: Subjects, pages: list[Page],
                   people: dict[str, Browser], port: int, workers: int, load: Load,
                   rows: dict[str, Row], tasks: Iterator[int]) -> None:
    for page in pages:
        say(f"  {workers} worker(s), load: {page.name}")
        rows[page.name].rps[workers] = page_throughput(page, people, load, port)
    say(f"  {workers} worker(s): submit, claim, complete")
    # Submitted by the manager: the requester's own pages stay as they were measured.
    submit = submit_latency(subjects, people["manager"], rounds=args.post_rounds,
                            warmup=args.warmup)
    claim, complete, claim_size, complete_size = claim_complete_latency(
        subjects, people["member"], tasks, rounds=args.post_rounds, warmup=CLAIM_WARMUP)
    for name, size, latency in (("Submit a request (POST form)", 0, submit),
                                ("Claim a task (htmx POST)", claim_size, claim),
                                ("Complete it (htmx POST)", complete_size, complete)):
        # The latency shown is the one-worker run's, like the pages'.
        row = rows.setdefault(name, Row(name, size, sequential=True, latency=latency))
        row.rps[workers] = latency.rps


def _measure_baseline(args: argparse.Namespace, port: int, workers: int, load: Load,
                      rows: dict[str, Row]) -> None:
    by_size: dict[int, float] = {}
    client = Browser("127.0.0.1", port)
    try:
        for row in rows.values():
            if row.sequential:
                # Cheap, so as many rounds as the pages get: a steadier yardstick.
                row.baseline[workers] = baseline_post_latency(
                    client, row.size, rounds=args.rounds, warmup=args.warmup).rps
            else:
                if row.size not in by_size:
                    say(f"  {workers} worker(s): baseline {row.size:,} bytes")
                    by_size[row.size] = baseline_throughput(row.size, load, port)
                row.baseline[workers] = by_size[row.size]
    finally:
        client.close()


def measure_database(args: argparse.Namespace, db: Database, work_dir: Path, load: Load,
                     machine_line: str) -> Table:
    # Each round of claim+complete uses up one open task, in the 1- and the 2-worker run.
    needed = 2 * (args.post_rounds + CLAIM_WARMUP)
    subjects = discover(db.url, tasks_needed=needed)
    if len(subjects.task_ids) < needed:
        raise BenchError(f"team {subjects.team_slug} has {len(subjects.task_ids)} open tasks "
                         f"to claim, {needed} needed: lower --post-rounds")
    env = server_env(database_url=db.url, data_dir=work_dir / f"data-{db.kind}-{db.size}",
                     secret=secrets.token_urlsafe(32), access_log=args.access_log)
    log = work_dir / f"server-{db.kind}-{db.size}.log"
    people: dict[str, Browser] = {}
    pages: list[Page] = []
    rows: dict[str, Row] = {}
    rss: dict[str, dict[int, list[float]]] = {"Baton": {}, "baseline": {}}
    tasks = iter(subjects.task_ids)
    speed_before = yardstick_ms()
    for workers in WORKERS:
        with serving(baton_command(), workers=workers, env=env, log=log) as server:
            if not people:
                for who, email in (("member", subjects.member_email),
                                   ("requester", subjects.requester_email),
                                   ("manager", subjects.manager_email)):
                    people[who] = sign_in("127.0.0.1", server.port, email, args.password)
                # Asks /healthz as a load balancer does: no cookie, so no login to read.
                people["load balancer"] = Browser("127.0.0.1", server.port)
            for browser in people.values():
                browser.connect(server.port)
            if not pages:
                pages = _first_run(args, subjects, people, rows, server)
            _measure_baton(args, subjects, pages, people, server.port, workers, load, rows,
                           tasks)
            rss["Baton"][workers] = server.peak_rss_mb()
        with serving(baseline_command(), workers=workers, env=env, log=log) as base:
            _measure_baseline(args, base.port, workers, load, rows)
            rss["baseline"][workers] = base.peak_rss_mb()
    for browser in people.values():
        browser.close()
    notes = _notes(args, db, subjects, args.deep_pages)
    notes.append(f"Yardstick (the same pure-Python loop on every run, bench/measure.py; "
                 f"lower is a faster machine): {speed_before:.0f} ms before this table, "
                 f"{yardstick_ms():.0f} ms after.")
    return Table(db.kind, db.size, machine_line, notes, list(rows.values()), rss)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="baton-bench-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    ok = False
    try:
        load = prepare_wrk(work_dir, connections=args.connections, threads=args.threads,
                           seconds=args.duration, warmup_seconds=args.wrk_warmup)
        machine_line = machine(args.postgres_url if "postgresql" in args.databases else None)
        command = shlex.join(["python", "-m", "bench.run", *(argv or sys.argv[1:])])
        heading = f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: `{command}`\n"
        print(heading, flush=True)
        if args.write_results:
            with open(args.write_results, "a") as results:
                results.write("\n" + heading + "\n")
        for kind in args.databases:
            for size in args.sizes:
                say(f"{kind}, {size:,} requests: preparing the database")
                with prepared(kind, size, work_dir=work_dir, postgres_url=args.postgres_url,
                              seeder=args.seeder, reuse=args.reuse, keep=args.keep) as db:
                    text = markdown(measure_database(args, db, work_dir, load, machine_line))
                print(text, flush=True)
                if args.write_results:
                    with open(args.write_results, "a") as results:
                        results.write(text + "\n")
        ok = True
    finally:
        if args.work_dir or args.keep or not ok:
            say(f"Work dir (server logs{', databases' if args.keep else ''}): {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
