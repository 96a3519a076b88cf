"""Two sends of one Idempotency-Key at once, on real connections: both look the key up
before either has kept an answer (each pauses just after its look-up), and still one
request is filed and both are answered with it. The second's change fails at its commit,
on the key kept with the first's, and is rolled back whole."""

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.main import create_app
from app.rules.api_tokens import create_token
from app.storage.models import ServiceRequest
from tests.factories import Factory


@pytest.fixture
def pause_after_the_key_look_up(committed: Engine) -> Iterator[None]:
    def pause(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM idempotent_answer" in statement and statement.lstrip().startswith("SELECT"):
            time.sleep(0.2)  # lets the other send reach its own look-up

    event.listen(committed, "after_cursor_execute", pause)
    yield
    event.remove(committed, "after_cursor_execute", pause)


def test_one_key_sent_twice_at_once_files_one_request(committed: Engine,
                                                      pause_after_the_key_look_up: None):
    with Session(committed, expire_on_commit=False) as setup:
        make = Factory(setup)
        make.service(slug="laptop")
        secret = create_token(setup, owner=make.user("Rita"), name="hr", days=7,
                              read_only=False).secret
        setup.commit()
    answers: list[Any] = []
    barrier = threading.Barrier(2, timeout=30)

    def send() -> None:
        with TestClient(create_app()) as client:
            barrier.wait()
            answers.append(client.post(
                "/api/v1/services/laptop/requests", json={"answers": {"summary": "Once"}},
                headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": "once"}))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [answer.status_code for answer in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    with Session(committed) as check:
        assert check.exec(select(func.count()).select_from(ServiceRequest)).one() == 1
