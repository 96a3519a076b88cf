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
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
EMAIL, PASSWORD = "ivan@example.com", "baton-demo"
POLL_SECONDS = 15
SESSION_COOKIE = "baton_session"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(base: str, server: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited early with code {server.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not become healthy in time")


def sign_in(client: httpx.Client) -> None:
    page = client.get("/login")
    page.raise_for_status()
    match = re.search(r'name="csrf_token"\s+value="([^"]+)"', page.text) or re.search(
        r'value="([^"]+)"\s+name="csrf_token"', page.text)
    if not match or "baton_csrf" not in client.cookies:
        raise SystemExit("login page had no CSRF token/cookie")
    done = client.post("/login", data={"email": EMAIL, "password": PASSWORD,
                                       "csrf_token": match.group(1), "next": "/"})
    if done.status_code not in (302, 303) or SESSION_COOKIE not in client.cookies:
        raise SystemExit(f"sign-in failed: HTTP {done.status_code}")


def measure(client: httpx.Client, url: str, rounds: int, headers: dict | None = None) -> dict:
    for _ in range(10):  # warm up
        client.get(url, headers=headers).raise_for_status()
    times = []
    size = 0
    started = time.perf_counter()
    for _ in range(rounds):
        t0 = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
        size = len(response.content)
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "rps": rounds / elapsed,
            "mean": statistics.fmean(times), "bytes": size, "n": rounds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="demo requests to create")
    parser.add_argument("--rounds", type=int, default=300, help="requests per endpoint")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="baton-bench-")
    data = Path(tmp.name)
    os.environ["BATON_DATA_DIR"] = str(data)
    os.environ["BATON_DATABASE_URL"] = f"sqlite:///{data / 'baton.db'}"
    os.environ["BATON_DEMO_MODE"] = "1"
    env = dict(os.environ)

    print(f"Seeding demo data with {args.requests} requests ...", flush=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "app.cli", "demo", "--no-serve",
                    "--requests", str(args.requests)], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    print(f"  seeded in {time.perf_counter() - t0:.1f} s", flush=True)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(data / "server.log", "w")  # noqa: SIM115 (closed in the finally below)
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(base, server)
        with httpx.Client(base_url=base, timeout=30) as client:
            sign_in(client)
            since = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0).isoformat()
            cases = [
                ("GET /queues/it (full page)", "/queues/it", None),
                ("GET /queues/it?state=open (HX fragment)", "/queues/it?state=open",
                 {"HX-Request": "true"}),
                ("GET /queues/it/changes?since=-1min (poll)",
                 "/queues/it/changes?" + urlencode({"since": since}), None),
            ]
            results = [(name, measure(client, url, args.rounds, headers))
                       for name, url, headers in cases]
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        tmp.cleanup()

    full = results[0][1]
    print()
    print(f"Demo size: {args.requests} requests; one uvicorn worker, SQLite; "
          f"{os.cpu_count()} CPUs; sequential client.")
    print()
    header = ("| endpoint | requests | p50 ms | p95 ms | p99 ms | req/s | body bytes "
              "| cost vs full page |")
    print(header)
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results:
        ratio = r["mean"] / full["mean"]
        print(f"| {name} | {r['n']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} "
              f"| {r['rps']:.0f} | {r['bytes']} | {ratio:.2f}x |")
    poll = results[2][1]
    print()
    print(f"Poll cost is {poll['mean'] / full['mean']:.1%} of a full page render "
          f"(mean {poll['mean']:.1f} ms vs {full['mean']:.1f} ms).")
    print(f"Polling every {POLL_SECONDS} s, measured poll throughput of one worker: "
          f"{poll['rps']:.0f}/s.")
    for users in (100, 1000):
        rate = users / POLL_SECONDS
        print(f"  {users:>5} users on a queue page -> {rate:.1f} polls/s "
              f"= {rate / poll['rps']:.1%} of one worker")


if __name__ == "__main__":
    main()
