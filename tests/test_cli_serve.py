"""`baton serve`'s options reach uvicorn's own configuration: the command is checked
against a real `uvicorn.Config` made from what it would run uvicorn with."""

from typing import Any

import pytest
import uvicorn

from app.cli import main
from app.config import get_settings


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
