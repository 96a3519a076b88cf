"""Servers under test (Baton or the baseline, under uvicorn on 127.0.0.1), their memory,
and bounded load from wrk."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.client import BenchError

ROOT = Path(__file__).resolve().parent.parent
BATON = Path(sys.executable).parent / "baton"

# wrk calls `done` once at the end; one JSON line is easier to read back than its report.
_DONE_HOOK = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
    .. '"status": %d, "timeout": %d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

# For a page that must be rendered at every request rather than served again from a
# worker's memory (app.web.page_cache keeps pages per address): each request asks for the
# same page at an address of its own, with a parameter the page ignores.
_FRESH_ADDRESSES = """
local sent = 0
request = function()
  sent = sent + 1
  local joint = string.find(wrk.path, "?", 1, true) and "&" or "?"
  return wrk.format(nil, wrk.path .. joint .. "render=" .. sent)
end
"""


def fresh_address(path: str, serial: int) -> str:
    """The address `_FRESH_ADDRESSES` makes, for the sequential client."""
    return f"{path}{'&' if '?' in path else '?'}render={serial}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    workers: int

    def worker_pids(self) -> list[int]:
        """The processes that answer requests: uvicorn serves in-process with one worker,
        and from spawned children (not the multiprocessing helpers) with more."""
        if self.workers == 1:
            return [self.process.pid]
        pids = []
        for child in _children(self.process.pid):
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                pids.append(child)
        return sorted(pids)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the workers have used so far: what a page costs the
        server itself, whatever else this machine's cores were busy with meanwhile."""
        ticks = 0
        for pid in self.worker_pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> list[float]:
        """VmHWM (peak resident set) of each worker, in MiB."""
        peaks = []
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        if len(peaks) != self.workers:
            raise BenchError(f"found {len(peaks)} worker processes, expected {self.workers}")
        return peaks


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _wait_healthy(server: Server, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"the server exited with code {server.process.returncode}:\n"
                             + log.read_text()[-2000:])
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=1):
                # Every worker must be up, or the first seconds of load hit only one.
                if len(server.worker_pids()) == server.workers:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise BenchError(f"the server did not answer /healthz within {timeout:.0f} s")


@contextmanager
def serving(command: list[str], *, workers: int, env: Mapping[str, str],
            log: Path, cwd: Path = ROOT) -> Iterator[Server]:
    """Runs `command --port P --workers N` in `cwd` until the block ends (`python -m
    app.cli` there serves that checkout's code: bench.pages_ab)."""
    port = free_port()
    with open(log, "a") as output:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            cwd=cwd, env=dict(env), stdout=output, stderr=subprocess.STDOUT,
        )
        server = Server(process, port, workers)
        try:
            _wait_healthy(server, log)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def baton_command() -> list[str]:
    return [str(BATON), "serve"]


def baseline_command() -> list[str]:
    return [sys.executable, "-m", "bench.baseline"]


@dataclass
class Load:
    """How wrk loads one URL: a fixed, small number of connections for a fixed time."""

    connections: int
    threads: int
    seconds: int
    warmup_seconds: int
    script: Path
    fresh_script: Path  # the same, each request at an address of its own


def prepare_wrk(work_dir: Path, *, connections: int, threads: int, seconds: int,
                warmup_seconds: int) -> Load:
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed (apt-get install wrk)")
    script = work_dir / "done.lua"
    script.write_text(_DONE_HOOK)
    fresh_script = work_dir / "fresh.lua"
    fresh_script.write_text(_DONE_HOOK + _FRESH_ADDRESSES)
    return Load(connections, threads, seconds, warmup_seconds, script, fresh_script)


def _wrk(load: Load, url: str, headers: Mapping[str, str], seconds: int,
         fresh: bool = False) -> dict:
    script = load.fresh_script if fresh else load.script
    command = ["wrk", "-t", str(load.threads), "-c", str(load.connections),
               "-d", f"{seconds}s", "--timeout", "10s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk failed on {url}: {done.stderr or done.stdout}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    failed = {k: v for k, v in summary.items()
              if k in ("connect", "read", "write", "status", "timeout") and v}
    if failed:
        # `status` counts answers of 400 and above; redirects are caught by the runner's
        # check of each URL before and after the load.
        raise BenchError(f"wrk saw errors on {url}: {failed} of {summary['requests']} requests")
    return summary


def requests_per_second(load: Load, url: str, headers: Mapping[str, str], *,
                        fresh: bool = False) -> float:
    """wrk's rate on `url`; `fresh`: each request at an address of its own."""
    if load.warmup_seconds:
        _wrk(load, url, headers, load.warmup_seconds, fresh)
    summary = _wrk(load, url, headers, load.seconds, fresh)
    return summary["requests"] / (summary["duration_us"] / 1e6)


def server_env(*, database_url: str, data_dir: Path, secret: str,
               access_log: bool) -> dict[str, str]:
    # Nothing of the caller's own BATON_* settings may leak into the server under test.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(BATON_DATABASE_URL=database_url, BATON_DATA_DIR=str(data_dir),
               BATON_SECRET_KEY=secret, BATON_ACCESS_LOG="1" if access_log else "0")
    return env
