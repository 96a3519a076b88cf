"""Idempotency-Key on every POST: the same key, token and request is answered with the
first answer and changes nothing again; the same key with another request is a 422;
another token's key never meets this one's; keys are forgotten after 24 hours; the first
answer of a change is kept in the change's own transaction."""

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from app.rules.requests import COMMENTS_PER_MINUTE
from app.storage.api_tables import ApiToken, IdempotentAnswer
from app.storage.clock import frozen_at
from app.storage.models import ServiceRequest, TimelineEvent, utcnow
from app.web.api import idempotency
from app.web.api.caller import ApiCaller
from app.web.api.problems import ApiProblem
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


def test_the_same_json_spelled_otherwise_is_the_same_request(api: Api, world: World,
                                                             session: Session):
    token, headers = world.tokens["requester"], {**KEY, "Content-Type": "application/json"}
    first = api.post("/services/laptop/requests", token, headers=headers,
                     content=b'{"answers": {"summary": "Monitor"}}')
    requests = _count(session, ServiceRequest)
    again = api.post("/services/laptop/requests", token, headers=headers,
                     content=b'\n{ "answers":{"summary" :"Monitor"} }\n')
    assert (first.status_code, again.status_code) == (201, 201)
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


def test_a_refusal_that_passes_with_time_is_not_kept(api: Api, world: World,
                                                     session: Session):
    # Rita posts as many comments as a minute allows; the next, with a key, is refused
    # (429 with Retry-After), and the same send after the wait is taken, not replayed.
    token = world.tokens["requester"]
    path = f"/requests/{world.laptop.id}/comments"
    start = utcnow()
    with frozen_at(start):
        for number in range(COMMENTS_PER_MINUTE):
            assert api.post(path, token, json={"body": f"c{number}"}).status_code == 201
        refused = api.post(path, token, json={"body": "one more"}, headers=KEY)
        assert refused.status_code == 429 and "retry-after" in refused.headers
        assert _count(session, IdempotentAnswer) == 0
    with frozen_at(start + timedelta(minutes=2)):
        later = api.post(path, token, json={"body": "one more"}, headers=KEY)
    assert later.status_code == 201 and "idempotent-replayed" not in later.headers
    assert later.json()["note"] == "one more"


def _kept_elsewhere(session: Session, world: World, fingerprint: str) -> idempotency.IdempotencyKey:
    """A key another send (at once with this one) kept first, with `fingerprint`; and
    this send's key, with another request's fingerprint."""
    caller_token = session.exec(select(ApiToken).where(
        ApiToken.user_id == world.people["agent"].id, ApiToken.name == "script")).one()
    session.add(IdempotentAnswer(token_id=caller_token.id, key=KEY["Idempotency-Key"],
                                 fingerprint=fingerprint, status=200, body="{}",
                                 created_at=utcnow()))
    session.commit()
    return idempotency.IdempotencyKey(caller_token.id, KEY["Idempotency-Key"], "this send")


def test_the_race_fallback_of_a_refusal_checks_the_request(session: Session, world: World):
    mine = _kept_elsewhere(session, world, "another request")
    with pytest.raises(ApiProblem) as reused:
        idempotency._store_alone(session, mine, 409, "{}")
    assert (reused.value.status, reused.value.kind) == (422, "key-reused")


def test_the_race_fallback_of_a_change_checks_the_request(session: Session, world: World):
    mine = _kept_elsewhere(session, world, "another request")
    caller = ApiCaller(user=world.people["agent"], token_id=mine.token_id,
                       token_name="script", read_only=False, team_ids=frozenset())

    def lost_the_race() -> None:
        raise IntegrityError("INSERT INTO idempotent_answer", {}, Exception("duplicate"))

    with pytest.raises(ApiProblem) as reused:
        idempotency.run_change(session, caller, mine, lost_the_race,
                               lambda _made, _acting: (200, {}))
    assert (reused.value.status, reused.value.kind) == (422, "key-reused")


def test_the_race_fallback_replays_the_same_request(session: Session, world: World):
    mine = _kept_elsewhere(session, world, "this send")
    answer = idempotency._store_alone(session, mine, 409, "{}")
    assert answer.status_code == 200 and answer.headers["idempotent-replayed"] == "true"


def test_a_body_nested_past_pythons_depth_is_fingerprinted_as_it_is(api: Api, world: World):
    # claim takes no body, so only the key's fingerprint reads it: never a 500.
    response = api.post(f"/tasks/{world.task.id}/claim", world.tokens["agent"],
                        headers={**KEY, "Content-Type": "application/json"},
                        content=b"[" * 5000 + b"]" * 5000)
    assert response.status_code == 200
