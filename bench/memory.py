"""What one Baton worker holds in memory (issue 18 item 5: <= 80 MB RSS per worker after
a benchmark run at 1M requests), and what the libraries it is built on hold before any
of Baton's code is imported.

    python -m bench.memory --database-url sqlite:////tmp/b1m/baton.db

It prints, in MiB:

- the floors, each in a fresh interpreter: Python itself; FastAPI and uvicorn with a
  one-route app (the smallest server of this stack); the rest of the fixed stack
  (SQLAlchemy, SQLModel, Jinja2, pydantic-settings, argon2) on top, as a SQLite worker
  has it, then with psycopg, as a PostgreSQL worker has it; and Baton's application
  module imported (`python -m bench.import_memory` says which of its modules hold what);
- one uvicorn worker (`baton serve`, one worker) on the database: its RSS once it
  answers, after a mix of the pages people open most (the busiest team's queue and its
  later pages and searches, random request pages, My work, the overview, My requests,
  the catalog, the inbox, search), and its peak (VmHWM).
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.api import team_request_ids
from bench.client import Browser, sign_in
from bench.load import server_env, serving
from bench.seed import PASSWORD
from bench.subjects import discover

_FLOORS = {
    "Python alone": "",
    "FastAPI and uvicorn, a one-route app": (
        "import fastapi, uvicorn\n"
        "app = fastapi.FastAPI()\n"
        "app.get('/')(lambda: {'ok': True})\n"),
    # A worker on SQLite never imports psycopg (nor libpq and OpenSSL with it).
    "+ SQLAlchemy, SQLModel, Jinja2, pydantic-settings, argon2 (a SQLite worker's)": (
        "import fastapi, uvicorn\n"
        "app = fastapi.FastAPI()\n"
        "import sqlalchemy.orm, sqlmodel, jinja2, jinja2_fragments, "
        "pydantic_settings, argon2, multipart\n"),
    "+ psycopg (a PostgreSQL worker's)": (
        "import fastapi, uvicorn\n"
        "app = fastapi.FastAPI()\n"
        "import sqlalchemy.orm, sqlmodel, psycopg, jinja2, jinja2_fragments, "
        "pydantic_settings, argon2, multipart\n"),
    "Baton's application imported (app.main; psycopg comes with a PostgreSQL engine)": (
        "import uvicorn\nimport app.main\n"),
}
_RSS = ("import sys\n"
        "print(next(int(l.split()[1]) for l in open('/proc/self/status') "
        "if l.startswith('VmRSS:')))\n")


def floor_mib(code: str) -> float:
    done = subprocess.run([sys.executable, "-c", code + _RSS], capture_output=True,
                          text=True, check=True, cwd=Path(__file__).parent.parent)
    return int(done.stdout.split()[-1]) / 1024


def status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def page_mix(browser: Browser, *, team: str, word: str, request_ids: list[int],
             rounds: int, manager: bool) -> int:
    """The pages people open most, `rounds` times over; returns how many were asked."""
    pick = random.Random(11)
    pages = 0
    for _ in range(rounds):
        for path in (f"/queues/{team}", f"/queues/{team}?q={word}",
                     f"/queues/{team}?order=newest", "/overview" if manager else "/my-work",
                     "/requests",
                     "/catalog", "/inbox", f"/search?q={word}",
                     *(f"/requests/{pick.choice(request_ids)}" for _ in range(5))):
            browser.expect("GET", path, 200)
            pages += 1
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--setting", action="append", default=[], metavar="BATON_X=VALUE",
                        help="a setting for the server (an A/B of a switch)")
    args = parser.parse_args()

    print("| what | RSS MiB |\n|---|---:|")
    for name, code in _FLOORS.items():
        print(f"| {name} | {floor_mib(code):.1f} |")

    subjects = discover(args.database_url, tasks_needed=0)
    request_ids = team_request_ids(args.database_url, subjects.team_slug, 2000)
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
        env = server_env(database_url=args.database_url, data_dir=Path(tmp), secret="m" * 40,
                         access_log=False)
        env.update(setting.split("=", 1) for setting in args.setting)
        with serving([sys.executable, "-m", "app.cli", "serve"], workers=1, env=env,
                     log=Path(tmp) / "server.log") as server:
            pid = server.worker_pids()[0]
            print(f"| one worker, answering (pid {pid}) | {status_mib(pid, 'VmRSS'):.1f} |")
            began = time.perf_counter(), server.cpu_seconds()
            browser = sign_in("127.0.0.1", server.port, subjects.member_email, PASSWORD)
            pages = page_mix(browser, team=subjects.team_slug, word=subjects.search_word,
                             request_ids=request_ids, rounds=args.rounds, manager=False)
            browser.close()
            manager = sign_in("127.0.0.1", server.port, subjects.manager_email, PASSWORD)
            pages += page_mix(manager, team=subjects.team_slug, word=subjects.search_word,
                              request_ids=request_ids, rounds=max(1, args.rounds // 4),
                              manager=True)
            manager.close()
            print(f"| one worker, after {pages:,} pages | {status_mib(pid, 'VmRSS'):.1f} |")
            print(f"| one worker, its peak (VmHWM) | {status_mib(pid, 'VmHWM'):.1f} |")
            wall, cpu = time.perf_counter() - began[0], server.cpu_seconds() - began[1]
    print(f"\n{pages:,} pages in {wall:.1f} s, the worker's CPU {cpu:.2f} s "
          f"({cpu / pages * 1000:.2f} ms a page); {os.cpu_count()} CPUs; database "
          f"{args.database_url.split('://')[0]}; settings {args.setting or 'the defaults'}")


if __name__ == "__main__":
    main()
