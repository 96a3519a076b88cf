"""Browser tests: a real uvicorn serving Baton on 127.0.0.1 with its own SQLite database,
driven by Debian's Chromium through Playwright. Nothing downloads a browser; when
/usr/bin/chromium is missing these tests fail, they do not skip.

Under pytest-xdist with `--dist loadgroup` (scripts/test) every browser test goes to one
worker (tests/conftest.py's scheduler): one demo server and one Chromium for them all, the
tests in their order, as in a serial run, while the other workers take the rest."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "baton-demo"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:  # type: ignore[type-arg]
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """Baton with the demo data, served by uvicorn in its own process; its data folder is
    removed at the end."""
    data_dir = Path(tempfile.mkdtemp(prefix="baton-browser-"))
    try:
        yield from _serve_demo(data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _serve_demo(data_dir: Path) -> Iterator[str]:
    env = {
        **os.environ,
        "BATON_DATA_DIR": str(data_dir),
        "BATON_DATABASE_URL": f"sqlite:///{data_dir / 'baton.db'}",
        "BATON_DEMO_MODE": "1",
    }
    env.pop("BATON_SECRET_KEY", None)
    subprocess.run([sys.executable, "-m", "app.cli", "demo", "--no-serve"], cwd=ROOT,
                   env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"Baton did not start: {server.stderr.read().decode()[-2000:]}")
        time.sleep(0.1)  # polling for readiness, not timing a behaviour
    yield base
    server.terminate()
    server.wait(timeout=10)


def sign_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
