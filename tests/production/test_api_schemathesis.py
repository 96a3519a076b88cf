"""Schemathesis against a live server (issue 15): property-based requests generated from
/api/v1/openapi.json, sent to a real `baton serve` with a seeded database of its own,
with a read-and-write token. No answer may be a server error, and every answer must
match the document: its status codes, content types, headers and schemas.

Marked `fault` (a step of its own in scripts/test, after the SQLite and PostgreSQL runs):
it starts servers and sends a few thousand requests, too slow for the main runs. On
each database the `fault` tests use (a SQLite file; a private PostgreSQL server when
its binaries exist)."""

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from app.rules.api_tokens import create_token
from app.rules.teams import add_member
from tests.factories import Factory
from tests.production.conftest import FaultDatabase, Server

pytestmark = pytest.mark.fault

CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "response_schema_conformance",
])


@pytest.fixture
def seeded(fault_database: FaultDatabase) -> str:
    """A catalog, a team with its queue, requests to read and act on; the token of a
    member of the team who also files requests."""
    with Session(fault_database.engine, expire_on_commit=False) as setup:
        make = Factory(setup)
        laptop = make.service(slug="laptop", steps=[("it", "task"), ("hr", "approval")],
                              fields=[
                                  {"key": "summary", "label": "Summary", "type": "text",
                                   "required": True, "max_length": 200},
                                  {"key": "count", "label": "How many", "type": "number"},
                                  {"key": "urgent", "label": "Urgent", "type": "checkbox"},
                              ])
        ivan = make.user("Ivan", teams=("it", "hr"))
        add_member(setup, team=make.team("it"), user=make.user("Lena"), lead=True)
        rita = make.user("Rita")
        for number in range(5):
            make.request(laptop, rita, {"summary": f"Laptop {number}"})
            make.request(laptop, ivan, {"summary": f"Screen {number}"})
        setup.commit()
        return create_token(setup, owner=ivan, name="schemathesis", days=7,
                            read_only=False).secret


@pytest.fixture
def server(fault_database: FaultDatabase, serve_on, seeded: str,  # type: ignore[no-untyped-def]
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    # Schemathesis sends far more than a client would in a minute: the rate limit has
    # its own tests (tests/api/test_token_use.py).
    monkeypatch.setenv("BATON_API_REQUESTS_PER_MINUTE", "1000000")
    yield serve_on(fault_database)


def test_the_api_answers_generated_requests_as_its_document_says(
        server: Server, seeded: str, tmp_path: Path):
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{server.base}/api/v1/openapi.json",
        "--url", f"{server.base}/api/v1", "-H", f"Authorization: Bearer {seeded}",
        "--checks", CHECKS, "--max-examples", "20", "--generation-deterministic",
        "--request-timeout", "30", "--no-color",
        "--report", "junit", "--report-dir", str(tmp_path / "report"),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=900,
                         cwd=tmp_path)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:] + "\n--- server log ---\n" + server.log_tail()
    # Every generated case was sent and passed every check (and there were many).
    counts = re.search(r"(\d+) generated, (\d+) passed", output)
    assert counts is not None and counts[1] == counts[2] and int(counts[1]) >= 500, output[-3000:]
    assert "Traceback" not in server.log.read_text(errors="replace"), server.log_tail()
