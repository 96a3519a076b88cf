"""The README's examples of filing a request (curl and Python) work as written, against
the example catalog in services/."""

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.config import ROOT
from app.rules.api_tokens import create_token
from app.rules.catalog import import_catalog
from app.rules.people import create_person
from app.storage.models import ServiceRequest, TimelineEvent

README = (ROOT / "README.md").read_text()


@pytest.fixture
def token(session: Session) -> str:
    import_catalog(session, Path(ROOT / "services"))
    ana = create_person(session, email="ana@example.com", name="Ana", password="x" * 12)
    session.commit()
    return create_token(session, owner=ana, name="README", days=7, read_only=False).secret


def test_the_readmes_curl_example_files_a_request(app, session: Session, token: str):
    command = re.search(r"curl -sS (\S+) .*?-d '(.*?)'\n", README, re.S)
    assert command is not None
    url, body = command.group(1), json.loads(command.group(2))
    with TestClient(app) as client:
        answer = client.post(url.replace("https://baton.example.com", ""), json=body,
                             headers={"Authorization": f"Bearer {token}",
                                      "Idempotency-Key": "readme-1"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["number"].startswith("REQ-")


def test_the_readmes_python_example_files_a_request(app, session: Session, token: str,
                                                    monkeypatch, capsys):
    snippet = re.search(r"```python\n(import os, uuid, httpx.*?)```", README, re.S)
    assert snippet is not None
    client = TestClient(app)

    def client_at(*, base_url: str, headers: dict[str, str]) -> Any:
        # The README's client, served by this test's application.
        client.base_url = httpx.URL(base_url.replace("https://baton.example.com",
                                                     "http://testserver"))
        client.headers.update(headers)
        return client

    monkeypatch.setattr(httpx, "Client", client_at)
    monkeypatch.setenv("BATON_TOKEN", token)
    exec(compile(snippet.group(1), "README.md", "exec"), {})  # noqa: S102
    number = capsys.readouterr().out.strip()
    request = session.exec(select(ServiceRequest)).one()
    assert number == request.number
    submitted = session.exec(select(TimelineEvent).where(
        TimelineEvent.request_id == request.id)).first()
    assert submitted is not None and submitted.via == "API token README"
