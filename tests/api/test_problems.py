"""Every error of /api/v1 is an RFC 9457 problem (application/problem+json), FastAPI's own
404, 405 and 422 included, and the body gate's refusals; bad input is bounded and says
which field is wrong; filing checks answers exactly as the form does."""

from sqlmodel import Session

from app.web.request_body import SMALL_BODY_BYTES
from tests.api.conftest import Api, World
from tests.factories import Factory


def _is_problem(answer, status: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    return body  # type: ignore[no-any-return]


def test_frameworks_own_errors_are_problems(api: Api, world: World):
    token = world.tokens["agent"]
    _is_problem(api.get("/no/such/address", token), 404)
    refused = api.call("DELETE", "/services", token)
    _is_problem(refused, 405)
    assert "GET" in refused.headers["allow"]
    bad = _is_problem(api.get("/requests/abc", token), 422)
    assert "request_id" in bad["errors"]
    bad = _is_problem(api.get("/teams/it/tasks", token, params={"state": "lost"}), 422)
    assert "state" in bad["errors"]
    bad = _is_problem(api.post("/services/laptop/requests", token, json=["not", "an object"]),
                      422)
    assert bad["errors"]


def test_an_address_the_api_is_not_routed_is_still_a_problem(api: Api, world: World):
    # A line break in the path: the mount's pattern does not match it, the pages' app
    # answers, and still in the API's shape.
    _is_problem(api.get("/services/a%0Ab", world.tokens["agent"]), 404)


def test_a_broken_body_is_a_problem(api: Api, world: World):
    answer = api.client.post("/api/v1/services/laptop/requests", content=b"{nope",
                             headers={"Authorization": f"Bearer {world.tokens['agent']}",
                                      "Content-Type": "application/json"})
    _is_problem(answer, 422)


def test_a_body_past_the_limit_is_refused_before_it_is_read(api: Api, world: World):
    answer = api.client.post(
        "/api/v1/services/laptop/requests", content=b"x" * (SMALL_BODY_BYTES + 1),
        headers={"Authorization": f"Bearer {world.tokens['agent']}",
                 "Content-Type": "application/json"})
    _is_problem(answer, 413)


def test_filing_says_what_is_wrong_with_each_answer(api: Api, world: World, session: Session,
                                                    make: Factory):
    make.service(slug="kit", fields=[
        {"key": "summary", "label": "Summary", "type": "text", "required": True,
         "max_length": 10},
        {"key": "count", "label": "How many", "type": "number", "min": 1, "max": 5},
        {"key": "size", "label": "Size", "type": "select", "options": ["S", "M"]},
        {"key": "agree", "label": "Agree", "type": "checkbox", "required": True},
    ])
    answer = api.post("/services/kit/requests", world.tokens["requester"], json={"answers": {
        "summary": "far too long for this", "count": 9, "size": "XL", "agree": False,
        "colour": "red"}})
    errors = _is_problem(answer, 422)["errors"]
    assert set(errors) == {"colour"}  # an unknown field first: nothing else is read
    answer = api.post("/services/kit/requests", world.tokens["requester"], json={"answers": {
        "summary": "far too long for this", "count": 9, "size": "XL", "agree": False}})
    errors = _is_problem(answer, 422)["errors"]
    assert set(errors) == {"summary", "count", "size", "agree"}
    good = api.post("/services/kit/requests", world.tokens["requester"], json={"answers": {
        "summary": "Kit", "count": 2, "size": "M", "agree": True}})
    assert good.status_code == 201, good.text


def test_a_form_that_changed_meanwhile_files_nothing(api: Api, world: World):
    answer = api.post("/services/laptop/requests", world.tokens["requester"],
                      json={"answers": {"summary": "x"}, "version": 99})
    _is_problem(answer, 409)


def test_a_broken_cursor_says_so(api: Api, world: World):
    body = _is_problem(api.get("/teams/it/tasks", world.tokens["agent"],
                               params={"after": "2026-01-01T00:00:00+00:00_zz"}), 400)
    assert "after" in body["errors"]


def test_a_bad_date_in_a_search_says_which(api: Api, world: World):
    body = _is_problem(api.get("/search", world.tokens["agent"],
                               params={"q": "x", "filed_from": "yesterday"}), 422)
    assert set(body["errors"]) == {"filed_from"}


def test_dates_the_wrong_way_round_are_refused_not_searched(api: Api, world: World):
    body = _is_problem(api.get("/search", world.tokens["agent"], params={
        "q": "x", "filed_from": "2026-05-02", "filed_until": "2026-05-01"}), 422)
    assert "wrong way round" in body["errors"]["filed_until"]


def test_a_missing_team_or_task_is_a_problem(api: Api, world: World):
    _is_problem(api.get("/teams/nope/tasks", world.tokens["agent"]), 404)
    _is_problem(api.post("/tasks/999999/claim", world.tokens["agent"]), 404)
    _is_problem(api.get("/services/nope", world.tokens["agent"]), 404)

