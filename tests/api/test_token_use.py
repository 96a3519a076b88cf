"""A token over HTTP (issue 15): bearer only, never a cookie; expired, revoked and
deactivated tokens are 401 with WWW-Authenticate; read-only tokens are refused writes;
each token's requests are limited per minute (429 with Retry-After); every change made
with a token is on the timeline as its person "via API token <name>"."""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.config import get_settings
from app.rules.api_tokens import create_token, revoke_token
from app.rules.people import deactivate_person
from app.storage.clock import frozen_at
from app.storage.models import ServiceRequest, TimelineEvent, utcnow
from tests.api.conftest import Api, World, token_of
from tests.factories import Factory
from tests.web import WebClient


def test_a_cookie_is_not_a_token(api: Api, web: WebClient, world: World):
    # Signed in in the browser, with the page's CSRF token: the API still wants a token.
    web.login(world.people["requester"])
    answer = web.client.post("/api/v1/services/laptop/requests",
                             json={"answers": {"summary": "x"}},
                             headers={"X-CSRF-Token": web.csrf_token})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="baton"'
    assert web.client.get("/api/v1/requests").status_code == 401


def test_a_token_needs_no_csrf_token(api: Api, world: World, session: Session):
    answer = api.post("/services/laptop/requests", world.tokens["requester"],
                      json={"answers": {"summary": "Docking station"}})
    assert answer.status_code == 201
    assert session.get_one(ServiceRequest, answer.json()["id"]).title.endswith("Docking station")


def test_an_expired_token_is_refused(api: Api, world: World, session: Session,
                                     make: Factory):
    with frozen_at(utcnow() - timedelta(days=8)):
        secret = create_token(session, owner=world.people["agent"], name="week", days=7,
                              read_only=True).secret
    answer = api.get("/me", secret)
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    assert answer.json()["detail"] == "This token is unknown, expired or revoked."


def test_a_revoked_token_is_refused_from_the_next_request_on(api: Api, world: World,
                                                             session: Session):
    made = create_token(session, owner=world.people["agent"], name="x", days=7,
                        read_only=True)
    assert api.get("/me", made.secret).status_code == 200
    revoke_token(session, token_id=made.token.id, by=world.people["admin"])
    assert api.get("/me", made.secret).status_code == 401


def test_deactivating_a_person_ends_their_tokens(api: Api, world: World, session: Session):
    secret = world.tokens["agent"]
    assert api.get("/me", secret).status_code == 200
    deactivate_person(session, person=world.people["agent"], by=world.people["admin"])
    answer = api.get("/me", secret)
    assert answer.status_code == 401 and "www-authenticate" in answer.headers


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer  ", "token abc",
                                    "Bearer " + "x" * 300])
def test_anything_but_a_bearer_token_is_refused(api: Api, world: World, header: str):
    answer = api.get("/me", None, headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_read_only_token_reads_and_is_refused_every_write(api: Api, world: World,
                                                            session: Session):
    token = world.tokens["read_only"]
    assert api.get(f"/requests/{world.laptop.id}", token).status_code == 200
    before = session.exec(select(TimelineEvent)).all()
    answer = api.post(f"/tasks/{world.task.id}/claim", token)
    assert answer.status_code == 403
    assert answer.json()["type"].endswith("read-only-token")
    assert session.exec(select(TimelineEvent)).all() == before


def test_anonymous_callers_learn_only_how_to_authenticate(api: Api, app):
    for path in ["/me", "/openapi.json", "/no/such/address", "/services"]:
        answer = api.get(path, None)
        assert answer.status_code == 401, path
        assert set(answer.json()) == {"type", "title", "status", "detail"}
    # The pages' application serves no OpenAPI document at all.
    assert api.client.get("/openapi.json").status_code == 404
    assert api.client.get("/docs").status_code == 404


def test_a_token_change_is_on_the_timeline_as_its_person_via_the_token(
        api: Api, world: World, session: Session, web: WebClient):
    secret = token_of(session, world.people["agent"], name="Helpdesk bot")
    assert api.post(f"/tasks/{world.task.id}/complete", secret,
                    json={"note": "Imaged"}).status_code == 200
    events = session.exec(select(TimelineEvent).where(
        TimelineEvent.request_id == world.laptop.id).order_by(TimelineEvent.id)).all()
    made = [(e.kind, e.actor_id, e.via) for e in events if e.via]
    assert ("claimed", world.people["agent"].id, "API token Helpdesk bot") in made
    assert ("completed", world.people["agent"].id, "API token Helpdesk bot") in made
    # The page's own actions carry no label.
    assert events[0].kind == "submitted" and events[0].via is None
    web.login(world.people["requester"])
    page = web.get(f"/requests/{world.laptop.id}")
    assert "via API token Helpdesk bot" in page.text


def test_a_token_past_its_rate_limit_is_told_when_to_come_back(api: Api, world: World,
                                                               monkeypatch):
    monkeypatch.setattr(get_settings(), "api_requests_per_minute", 3)
    token = world.tokens["agent"]
    start = utcnow().replace(second=30, microsecond=0)
    with frozen_at(start):
        assert [api.get("/me", token).status_code for _ in range(3)] == [200, 200, 200]
        refused = api.get("/me", token)
        # Another token of the same person has its own count.
        assert api.get("/me", world.tokens["read_only"]).status_code == 200
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "30"
    assert refused.json()["type"].endswith("rate-limited")
    with frozen_at(start + timedelta(seconds=30)):
        assert api.get("/me", token).status_code == 200
