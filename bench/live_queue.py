"""Benchmark the live queue's poll against the full queue page.

Run: .venv/bin/python -m bench.live_queue [--requests N] [--rounds R]

Builds a throwaway SQLite demo database with N requests (`baton demo --no-serve`),
serves it with one uvicorn worker on a free 127.0.0.1 port, signs in as a member of
the IT queue and measures sequential round-trip latency of:

* GET /queues/it                     the full queue page
* GET /queues/it?state=open (htmx)   the results fragment a filter change fetches
* GET /queues/it/changes?since=...   the live-queue poll each open page makes
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from bench.client import Browser, Latency, sign_in, time_calls
from bench.load import serving

ROOT = Path(__file__).resolve().parent.parent
EMAIL, PASSWORD = "ivan@example.com", "baton-demo"
POLL_SECONDS = 15


def measure(person: Browser, url: str, rounds: int,
            headers: dict | None = None) -> tuple[Latency, int]:
    """Sequential GETs of one URL (after ten to warm up), and the body's size."""
    size = [0]

    def get() -> None:
        size[0] = len(person.expect("GET", url, 200, headers=headers).body)

    return time_calls(get, rounds=rounds, warmup=10), size[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="demo requests to create")
    parser.add_argument("--rounds", type=int, default=300, help="requests per endpoint")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
        data = Path(tmp)
        env = {**os.environ, "BATON_DATA_DIR": str(data), "BATON_DEMO_MODE": "1",
               "BATON_DATABASE_URL": f"sqlite:///{data / 'baton.db'}"}
        print(f"Seeding demo data with {args.requests} requests ...", flush=True)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "app.cli", "demo", "--no-serve",
                        "--requests", str(args.requests)], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        print(f"  seeded in {time.perf_counter() - t0:.1f} s", flush=True)

        with serving([sys.executable, "-m", "app.cli", "serve"], workers=1, env=env,
                     log=data / "server.log") as server:
            person = sign_in("127.0.0.1", server.port, EMAIL, PASSWORD)
            since = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0).isoformat()
            cases = [
                ("GET /queues/it (full page)", "/queues/it", None),
                ("GET /queues/it?state=open (HX fragment)", "/queues/it?state=open",
                 {"HX-Request": "true"}),
                ("GET /queues/it/changes?since=-1min (poll)",
                 "/queues/it/changes?" + urlencode({"since": since}), None),
            ]
            results = [(name, *measure(person, url, args.rounds, headers))
                       for name, url, headers in cases]
            person.close()

    full = results[0][1]
    print()
    print(f"Demo size: {args.requests} requests; one uvicorn worker, SQLite; "
          f"{os.cpu_count()} CPUs; sequential client.")
    print()
    header = ("| endpoint | requests | p50 ms | p95 ms | p99 ms | req/s | body bytes "
              "| cost vs full page |")
    print(header)
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, latency, size in results:
        ratio = latency.mean / full.mean
        print(f"| {name} | {latency.rounds} | {latency.p50:.1f} | {latency.p95:.1f} "
              f"| {latency.p99:.1f} | {latency.rps:.0f} | {size} | {ratio:.2f}x |")
    poll = results[2][1]
    print()
    print(f"Poll cost is {poll.mean / full.mean:.1%} of a full page render "
          f"(mean {poll.mean:.1f} ms vs {full.mean:.1f} ms).")
    print(f"Polling every {POLL_SECONDS} s, measured poll throughput of one worker: "
          f"{poll.rps:.0f}/s.")
    for users in (100, 1000):
        rate = users / POLL_SECONDS
        print(f"  {users:>5} users on a queue page -> {rate:.1f} polls/s "
              f"= {rate / poll.rps:.1%} of one worker")


if __name__ == "__main__":
    main()
