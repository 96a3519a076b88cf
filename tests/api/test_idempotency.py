"""Idempotency-Key on every POST: the same key, token and request is answered with the
first answer and changes nothing again; the same key with another request is a 422;
another token's key never meets this one's; keys are forgotten after 24 hours; the first
answer of a change is kept in the change's own transaction."""

from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from app.storage.api_tables import IdempotentAnswer
from app.storage.clock import frozen_at
from app.storage.models import ServiceRequest, TimelineEvent, utcnow
from app.web.api import idempotency
from tests.api.conftest import Api, World

KEY = {"Idempotency-Key": "7b0c9c1e-retry-me"}


def _count(session: Session, model) -> int:  # type: ignore[no-untyped-def]
    return session.exec(select(func.count()).select_from(model)).one()


def test_filing_twice_with_one_key_files_once(api: Api, world: World, session: Session):
    body = {"answers": {"summary": "Monitor"}}
    first = api.post("/services/laptop/requests", world.tokens["requester"], json=body,
                     headers=KEY)
    requests = _count(session, ServiceRequest)
    again = api.post("/services/laptop/requests", world.tokens["requester"], json=body,
                     headers=KEY)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert _count(session, ServiceRequest) == requests


def test_a_task_action_sent_again_changes_nothing_again(api: Api, world: World,
                                                        session: Session):
    token = world.tokens["agent"]
    first = api.post(f"/tasks/{world.task.id}/claim", token, headers=KEY)
    events = _count(session, TimelineEvent)
    again = api.post(f"/tasks/{world.task.id}/claim", token, headers=KEY)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert _count(session, TimelineEvent) == events
    # Without the key the same action is a new one, refused as the state now says.
    assert api.post(f"/tasks/{world.task.id}/claim", token).status_code == 409


def test_one_key_with_another_request_is_refused(api: Api, world: World):
    token = world.tokens["requester"]
    api.post("/services/laptop/requests", token, json={"answers": {"summary": "A"}},
             headers=KEY)
    other = api.post("/services/laptop/requests", token, json={"answers": {"summary": "B"}},
                     headers=KEY)
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert "Idempotency-Key" in other.json()["errors"]
    elsewhere = api.post(f"/requests/{world.laptop.id}/comments", token,
                         json={"body": "A"}, headers=KEY)
    assert elsewhere.status_code == 422


def test_a_refusal_is_replayed_too(api: Api, world: World):
    token = world.tokens["agent"]
    first = api.post(f"/tasks/{world.task.id}/release", token, headers=KEY)
    assert first.status_code == 409
    again = api.post(f"/tasks/{world.task.id}/release", token, headers=KEY)
    assert (again.status_code, again.content) == (409, first.content)
    assert again.headers["content-type"] == "application/problem+json"


def test_keys_are_per_token(api: Api, world: World, session: Session):
    body = {"answers": {"summary": "Same"}}
    one = api.post("/services/laptop/requests", world.tokens["requester"], json=body,
                   headers=KEY)
    two = api.post("/services/laptop/requests", world.tokens["agent"], json=body,
                   headers=KEY)
    assert one.json()["id"] != two.json()["id"]


def test_a_key_is_kept_24_hours(api: Api, world: World, session: Session):
    body = {"answers": {"summary": "Old"}}
    with frozen_at(utcnow() - timedelta(hours=25)):
        old = api.post("/services/laptop/requests", world.tokens["requester"], json=body,
                       headers=KEY)
    new = api.post("/services/laptop/requests", world.tokens["requester"], json=body,
                   headers=KEY)
    assert new.status_code == 201 and new.json()["id"] != old.json()["id"]
    # The expired answer was forgotten when the new one was kept.
    assert _count(session, IdempotentAnswer) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "clé".encode()])
def test_a_key_that_is_not_a_key_is_refused(api: Api, world: World, key: str | bytes):
    answer = api.post(f"/tasks/{world.task.id}/claim", world.tokens["agent"],
                      headers={"Idempotency-Key": key})
    assert answer.status_code == 422
    assert "Idempotency-Key" in answer.json()["errors"]


def test_the_answer_of_a_change_is_kept_in_the_changes_transaction(
        api: Api, world: World, session: Session, monkeypatch):
    # Storing an answer on its own fails here: a change's answer must not need it.
    def no_separate_store(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("stored apart from the change")

    monkeypatch.setattr(idempotency, "_store_alone", no_separate_store)
    token = world.tokens["agent"]
    first = api.post(f"/tasks/{world.task.id}/complete", token, json={"note": "ok"},
                     headers=KEY)
    assert first.status_code == 200
    kept = session.exec(select(IdempotentAnswer)).one()
    assert kept.status == 200 and kept.body.encode() == first.content
    again = api.post(f"/tasks/{world.task.id}/complete", token, json={"note": "ok"},
                     headers=KEY)
    assert again.content == first.content
