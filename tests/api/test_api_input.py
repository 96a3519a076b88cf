"""What /api/v1 shows and takes beyond the matrix: a service's steps without their
instructions (rule 6: those are for the step's team), text that cannot be stored (a lone
surrogate) refused by its field, and a task completed or approved with no body."""

import json
from typing import Any

import pytest
from httpx import Response
from sqlmodel import Session

from app.format.definitions import parse_service
from app.rules.catalog import save_service
from tests.api.conftest import Api, World
from tests.factories import Factory

SECRET = "Badge cupboard code 4711"


def post_raw(api: Api, path: str, token: str | None, body: Any) -> Response:
    """Posts `body` as JSON text with its lone surrogates escaped (\\ud800), as a client
    may send them: an HTTP client of Python could not encode them itself."""
    return api.client.post("/api/v1" + path, content=json.dumps(body),
                           headers={"Authorization": f"Bearer {token}",
                                    "Content-Type": "application/json"})


@pytest.fixture
def with_instructions(session: Session, make: Factory, world: World) -> str:
    make.team("it")
    definition = parse_service({
        "slug": "keys", "name": "Keys", "category": "General", "description": "",
        "ordering": "enforced",
        "fields": [{"key": "summary", "label": "Summary", "type": "text", "required": True}],
        "steps": [{"name": "Cut the key", "team": "it", "kind": "task",
                   "instructions": SECRET}],
    })
    save_service(session, definition=definition)
    session.commit()
    return "keys"


@pytest.mark.parametrize("role", ["requester", "other_team", "agent"])
def test_a_services_steps_come_without_their_instructions(
        api: Api, world: World, with_instructions: str, role: str):
    token = world.tokens[role]
    shown = api.get(f"/services/{with_instructions}", token)
    assert shown.status_code == 200
    assert shown.json()["steps"][0]["name"] == "Cut the key"
    assert "instructions" not in shown.json()["steps"][0]
    assert SECRET not in shown.text
    filed = api.post(f"/services/{with_instructions}/requests", world.tokens["requester"],
                     json={"answers": {"summary": "A key"}})
    assert filed.status_code == 201
    request = api.get(f"/requests/{filed.json()['id']}", token)
    assert SECRET not in request.text


@pytest.mark.parametrize("answers", [
    {"summary": "\ud800x"}, {"\ud800": "x"}, {"summary": ["ok", "\udfff"]},
])
def test_a_lone_surrogate_in_answers_is_refused_by_its_field(api: Api, world: World,
                                                            answers: dict):
    answer = post_raw(api, "/services/laptop/requests", world.tokens["requester"],
                      {"answers": answers})
    assert answer.status_code == 422
    assert "answers" in answer.json()["errors"]


def test_a_lone_surrogate_in_a_key_of_the_wrong_type_is_still_answered(api: Api,
                                                                       world: World):
    answer = post_raw(api, "/services/laptop/requests", world.tokens["requester"],
                      {"answers": {"\ud800": {"not": "an answer"}}})
    assert answer.status_code == 422


def test_a_lone_surrogate_in_other_text_is_refused(api: Api, world: World):
    requester, agent = world.tokens["requester"], world.tokens["agent"]
    sends = [
        (requester, f"/requests/{world.laptop.id}/comments", {"body": "a\ud800"}, "body"),
        (requester, f"/requests/{world.laptop.id}/cancel", {"reason": "\udc00"}, "reason"),
        (agent, f"/tasks/{world.task.id}/complete", {"note": "\ud800"}, "note"),
        (agent, f"/tasks/{world.approval.id}/reject", {"reason": "\ud800"}, "reason"),
        (agent, f"/tasks/{world.task.id}/hand", {"to": "\ud800"}, "to"),
    ]
    for token, path, body, field in sends:
        answer = post_raw(api, path, token, body)
        assert answer.status_code == 422, path
        assert field in answer.json()["errors"], path


@pytest.mark.parametrize("action", ["complete", "approve"])
def test_a_task_is_done_with_no_body(api: Api, world: World, action: str):
    task = world.task if action == "complete" else world.approval
    answer = api.post(f"/tasks/{task.id}/{action}", world.tokens["agent"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] in {"done", "approved"}


def test_an_internal_note_reaches_the_team_and_never_the_requester(api: Api, world: World):
    """Rule 6 through the API's content, not only its statuses: the agent's internal
    note is on the request for the agent's token, and absent for the requester's."""
    note = "Warranty voided, do not tell yet"
    posted = api.post(f"/requests/{world.laptop.id}/comments", world.tokens["agent"],
                      json={"body": note, "internal": True})
    assert posted.status_code == 201
    seen_by_agent = api.get(f"/requests/{world.laptop.id}", world.tokens["agent"])
    seen_by_requester = api.get(f"/requests/{world.laptop.id}", world.tokens["requester"])
    assert seen_by_agent.status_code == seen_by_requester.status_code == 200
    assert note in seen_by_agent.text
    assert note not in seen_by_requester.text


def test_part_of_a_name_in_a_person_answer_names_nobody(api: Api, world: World, make):  # type: ignore[no-untyped-def]
    """The web form's picker suggests people as they are typed; the API searches no one,
    so its refusal does not name the people a fragment could mean."""
    make.service(slug="desk", steps=[("it", "task")], fields=[
        {"key": "who", "label": "Who sits there", "type": "person", "required": True}])
    answer = api.post("/services/desk/requests", world.tokens["requester"],
                      json={"answers": {"who": "Iva"}})  # part of Ivan's name
    assert answer.status_code == 422
    message = answer.json()["errors"]["who"]
    assert message.startswith("No active person of Baton matches")
    assert world.people["agent"].email not in answer.text and "Ivan" not in answer.text
