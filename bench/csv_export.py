"""Benchmark a CSV download: rows per second, and how much the worker's memory grows.

    .venv/bin/python -m bench.csv_export --requests 100000        # a fresh SQLite seed
    .venv/bin/python -m bench.csv_export --database-url URL       # a database bench.seed made
        [--path /queues/service-desk/tasks.csv ...] [--rounds 3]

URL: sqlite:////path/bench.db or postgresql+psycopg://user@host:port/name. Serves the
database with one `baton serve` worker on a free 127.0.0.1 port, signs in as a manager of
the seed, and downloads each `--path` (by default `/overview/tasks.csv`, all open work:
the longest list there is; a manager may download any team's queue too) `--rounds`
times, reading the body as it streams. Each round's line says the machine's load
average (1 minute) as it started, and the worker's CPU time for the download: on a
shared machine the wall-clock rate falls with the load, the rate per CPU second much
less (it is what one free core would give, less the time spent waiting on the client).

While it streams, the resident memory of the server (the process and its children, from
/proc) is sampled every 20 ms; the figure is the peak during the download less the memory
before it. The streamed CSV must not grow with the list (app.web.csv_export): the target
of issue 13 is 100,000 rows at >= 50,000 rows/s with the worker growing <= 20 MB.
"""

import argparse
import http.client
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlmodel import Session, col, select

from app.storage.db import make_engine
from app.storage.models import User
from bench.client import sign_in
from bench.load import serving
from bench.seed import PASSWORD, seed

URL = "/overview/tasks.csv"


def _load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def _tree_rss_kib(pid: int) -> int:
    """The resident memory of a process and its descendants, in KiB (Linux)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines()
                          if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total


def _tree_cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) of a process and its descendants so far (Linux)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def _manager_email(url: str) -> str:
    engine = make_engine(url)
    with Session(engine) as session:
        email = session.exec(select(User.email).where(
            col(User.is_manager), col(User.is_active)).limit(1)).first()
    engine.dispose()
    if email is None:
        raise SystemExit("The database has no active manager: seed it with bench.seed.")
    return email


def download(port: int, cookie: str, pid: int, url: str = URL
             ) -> tuple[int, int, float, int, float]:
    """One download: its rows, bytes, seconds, the server's peak memory growth (KiB) and
    the server's CPU seconds."""
    cpu = _tree_cpu_seconds(pid)
    before = _tree_rss_kib(pid)
    peak = [before]
    streaming = threading.Event()
    streaming.set()

    def sample() -> None:
        while streaming.is_set():
            peak[0] = max(peak[0], _tree_rss_kib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    connection.request("GET", url, headers={"Cookie": cookie})
    response = connection.getresponse()
    if response.status != 200:
        raise SystemExit(f"GET {url} answered {response.status}: {response.read()[:300]!r}")
    size = lines = 0
    while chunk := response.read(256 * 1024):
        size += len(chunk)
        lines += chunk.count(b"\r\n")
    seconds = time.perf_counter() - started
    connection.close()
    streaming.clear()
    sampler.join()
    # Lines, not rows: a title with a line break in it would count twice (the seed has none).
    return lines - 1, size, seconds, peak[0] - before, _tree_cpu_seconds(pid) - cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--requests", type=int, help="seed a fresh SQLite database first")
    where.add_argument("--database-url", help="a database bench.seed filled")
    parser.add_argument("--path", action="append", help=f"a CSV to download ({URL})")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="baton-bench-csv-") as tmp:
        data = Path(tmp)
        url = args.database_url or f"sqlite:///{data / 'bench.db'}"
        if args.requests:
            seed(url, args.requests, out=sys.stderr)
        env = {"PATH": "/usr/bin:/bin", "BATON_DATABASE_URL": url,
               "BATON_DATA_DIR": str(data), "BATON_SECRET_KEY": "bench-only-secret-key",
               "BATON_COOKIE_SECURE": "false"}
        with serving([sys.executable, "-m", "app.cli", "serve"], workers=1, env=env,
                     log=data / "server.log") as server:
            person = sign_in("127.0.0.1", server.port, _manager_email(url), PASSWORD)
            cookie = person.cookie_header()
            person.close()
            for path in args.path or [URL]:
                print(f"GET {path}, one worker, {url.split(':', 1)[0]}")
                print("| round | rows | MB | seconds | rows/s | worker memory growth MB "
                      "| worker CPU s | rows per worker CPU s | load average |")
                print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
                for number in range(1, args.rounds + 1):
                    load = _load_average()
                    rows, size, seconds, grown, cpu = download(server.port, cookie,
                                                               server.process.pid, path)
                    print(f"| {number} | {rows:,} | {size / 1e6:.1f} | {seconds:.2f} "
                          f"| {rows / seconds:,.0f} | {grown / 1024:.1f} | {cpu:.2f} "
                          f"| {rows / max(cpu, 0.01):,.0f} | {load:.1f} |", flush=True)


if __name__ == "__main__":
    main()
