"""The databases under test: a fresh one per kind and size, filled by the seed, and the
machine they run on."""

import os
import platform
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from bench.client import BenchError
from bench.load import BATON, ROOT

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
KINDS = ("sqlite", "postgresql")


@dataclass
class Database:
    kind: str  # one of KINDS
    size: int
    url: str
    seed_seconds: float | None  # None: reused as it was


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as psycopg takes it (no `+psycopg` driver part)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _admin(server_url: str) -> psycopg.Connection:
    return psycopg.connect(_libpq(server_url), autocommit=True)


def _exists(server_url: str, name: str) -> bool:
    with _admin(server_url) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() \
            is not None


def _drop(server_url: str, name: str) -> None:
    with _admin(server_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def _seed(url: str, size: int, *, seeder: str, data_dir: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    if seeder == "demo":
        # Development only: the demo's own data, made through the app's rules (slow).
        env.update(BATON_DATABASE_URL=url, BATON_DATA_DIR=str(data_dir), BATON_DEMO_MODE="1")
        command = [str(BATON), "demo", "--no-serve", "--requests", str(size)]
    else:
        command = [sys.executable, "-m", "bench.seed", "--requests", str(size),
                   "--database-url", url]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, check=False, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise BenchError(f"seeding failed ({' '.join(command)}):\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started


@contextmanager
def prepared(kind: str, size: int, *, work_dir: Path, postgres_url: str, seeder: str,
             reuse: bool, keep: bool) -> Iterator[Database]:
    """A database of `size` requests for the block: made fresh and seeded (or reused
    with --reuse), dropped at the end unless --keep."""
    data_dir = work_dir / f"data-{kind}-{size}"
    data_dir.mkdir(parents=True, exist_ok=True)
    name = f"baton_bench_{size}"
    if kind == "sqlite":
        path = work_dir / f"{name}.sqlite"
        url = f"sqlite:///{path}"
        if reuse and not path.exists():
            raise BenchError(f"--reuse: there is no {path}")
        if not reuse:
            path.unlink(missing_ok=True)
    else:
        url = _with_database(postgres_url, name)
        if reuse and not _exists(postgres_url, name):
            raise BenchError(f"--reuse: there is no database {name}")
        if not reuse:
            _drop(postgres_url, name)
            with _admin(postgres_url) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        seconds = None if reuse else _seed(url, size, seeder=seeder, data_dir=data_dir)
        yield Database(kind, size, url, seconds)
    finally:
        if not keep and not reuse:
            if kind == "sqlite":
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            else:
                _drop(postgres_url, name)


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def machine(postgres_url: str | None) -> str:
    """One line naming the machine and the software the figures depend on."""
    parts = [_cpu_model(), f"{os.cpu_count()} cores", f"{_ram_gib():.0f} GiB RAM",
             f"Python {platform.python_version()}", f"SQLite {sqlite3.sqlite_version}"]
    if postgres_url:
        with _admin(postgres_url) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        parts.append(f"PostgreSQL {version[0] if version else '?'}")
    return ", ".join(parts)
