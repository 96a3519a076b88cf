"""Shared setup of the /api/v1 tests: a client that sends a person's token."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from app.rules.api_tokens import create_token, revoke_token
from app.rules.teams import add_member
from app.storage.models import ServiceRequest, Task, User
from tests.factories import Factory


class Api:
    """Calls /api/v1 with a bearer token (or none)."""

    def __init__(self, client: TestClient):
        self.client = client

    def call(self, method: str, path: str, token: str | None, *,
             json: Any = None, headers: dict[str, str] | None = None,
             params: dict[str, Any] | None = None, content: bytes | None = None) -> Response:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        return self.client.request(method, "/api/v1" + path, json=json, headers=sent,
                                   params=params, content=content)

    def get(self, path: str, token: str | None, **kwargs: Any) -> Response:
        return self.call("GET", path, token, **kwargs)

    def post(self, path: str, token: str | None, **kwargs: Any) -> Response:
        return self.call("POST", path, token, **kwargs)


@pytest.fixture
def api(app) -> Iterator[Api]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver") as client:
        yield Api(client)


def token_of(session: Session, user: User, *, read_only: bool = False,
             name: str = "script") -> str:
    return create_token(session, owner=user, name=name, days=30, read_only=read_only).secret


@dataclass
class World:
    """Rita's laptop request (IT's task, then HR's approval, in order) and her purchase
    (IT's approval, open); Ivan of IT, Lena its lead, Faye of Facilities (no task
    here), Mona a manager, Adam an admin on no team; a token for each, and Ivan's
    read-only and revoked ones."""

    people: dict[str, User]
    tokens: dict[str, str | None]
    laptop: ServiceRequest
    purchase: ServiceRequest
    task: Task  # IT's task of the laptop request, open
    approval: Task  # IT's approval of the purchase, open


@pytest.fixture
def world(session: Session, make: Factory) -> World:
    laptop_service = make.service(slug="laptop", steps=[("it", "task"), ("hr", "approval")])
    purchase_service = make.service(slug="purchase", ordering="flexible",
                                    steps=[("it", "approval")])
    people = {
        "requester": make.user("Rita"), "agent": make.user("Ivan", teams=("it",)),
        "lead": make.user("Lena"), "other_team": make.user("Faye", teams=("facilities",)),
        "manager": make.user("Mona", manager=True), "admin": make.user("Adam", admin=True),
    }
    add_member(session, team=make.team("it"), user=people["lead"], lead=True)
    session.commit()
    tokens: dict[str, str | None] = {role: token_of(session, person)
                                     for role, person in people.items()}
    tokens["read_only"] = token_of(session, people["agent"], read_only=True, name="reader")
    revoked = create_token(session, owner=people["agent"], name="old", days=30,
                           read_only=False)
    revoke_token(session, token_id=revoked.token.id, by=people["agent"])
    tokens["revoked"] = revoked.secret
    tokens["anonymous"] = None
    laptop = make.request(laptop_service, people["requester"], {"summary": "A laptop"})
    purchase = make.request(purchase_service, people["requester"], {"summary": "Chairs"})
    return World(people, tokens, laptop, purchase, make.tasks(laptop)[0],
                 make.tasks(purchase)[0])
