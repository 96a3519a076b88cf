"""`baton serve`'s options reach uvicorn's own configuration: the command is checked
against a real `uvicorn.Config` made from what it would run uvicorn with."""

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from app.cli import main
from app.config import ROOT, get_settings


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What `uvicorn.run` is called with, instead of serving."""
    called: dict[str, Any] = {}

    def run(app: str, **options: Any) -> None:
        called["config"] = uvicorn.Config(app, **options)

    monkeypatch.setattr(uvicorn, "run", run)
    return called


@pytest.fixture
def settings_from_env(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_workers_get_a_generous_start_up_timeout_by_default(served, settings_from_env):  # type: ignore[no-untyped-def]
    settings_from_env.delenv("BATON_STARTUP_TIMEOUT", raising=False)
    main(["serve", "--workers", "2"])
    config = served["config"]
    assert config.workers == 2
    # uvicorn's own default is 5 s: workers were killed while importing on a busy host.
    assert config.timeout_worker_healthcheck == 60


def test_the_start_up_timeout_is_an_option_of_serve(served, settings_from_env):  # type: ignore[no-untyped-def]
    settings_from_env.setenv("BATON_STARTUP_TIMEOUT", "30")
    main(["serve", "--workers", "2", "--startup-timeout", "120"])
    assert served["config"].timeout_worker_healthcheck == 120


def test_the_start_up_timeout_can_come_from_the_environment(served, settings_from_env):  # type: ignore[no-untyped-def]
    settings_from_env.setenv("BATON_STARTUP_TIMEOUT", "90")
    main(["serve", "--workers", "2"])
    assert served["config"].timeout_worker_healthcheck == 90


def test_a_taken_port_is_said_plainly_and_nothing_is_served(  # type: ignore[no-untyped-def]
    served, settings_from_env, capsys
):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(SystemExit) as exit_:
            main(["serve", "--port", str(port)])
    assert exit_.value.code == 1
    assert "config" not in served
    out, err = capsys.readouterr()
    assert f"Port {port} on 127.0.0.1 is already in use by another program" in err
    assert "Baton runs at" not in out


def test_the_demo_refuses_a_taken_port_before_loading_anything(  # type: ignore[no-untyped-def]
    served, settings_from_env, capsys
):
    settings_from_env.setenv("BATON_DEMO_MODE", "1")  # restored after: `demo` sets it
    settings_from_env.setattr("app.demo.seed_demo", _must_not_run)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        with pytest.raises(SystemExit) as exit_:
            main(["demo", "--port", str(holder.getsockname()[1])])
    assert exit_.value.code == 1
    assert "already in use" in capsys.readouterr().err


def _must_not_run(*args: Any, **kwargs: Any) -> int:
    raise AssertionError("the demo was loaded for a port it cannot serve on")


def test_baton_runs_at_is_printed_once_the_port_listens(tmp_path: Path) -> None:
    """A real server: when the line appears, a connection to the port is accepted."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    env = {**os.environ, "BATON_DATA_DIR": str(tmp_path),
           "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}", "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # the first line it prints; EOF if it died
        assert line.strip() == f"Baton runs at http://127.0.0.1:{port}"
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        server.terminate()
        server.wait(timeout=30)
