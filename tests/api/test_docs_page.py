"""The API's documentation page: for signed-in people, listing every endpoint of the
API's own OpenAPI document and no page of Baton's."""

from tests.api.conftest import Api, World
from tests.web import WebClient


def test_a_signed_in_person_reads_the_api_documentation(web: WebClient, world: World,
                                                        api: Api):
    web.login(world.people["requester"])
    page = web.get("/help/api")
    assert page.status_code == 200
    document = api.get("/openapi.json", world.tokens["requester"]).json()
    for path, methods in document["paths"].items():
        for method in methods:
            assert f"{method.upper()} /api/v1{path}" in page.text
    assert 'id="problem-rate-limited"' in page.text


def test_nobody_signed_in_is_sent_to_sign_in(web: WebClient):
    answer = web.get("/help/api")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_the_document_is_openapi_3_1_of_the_api_alone(api: Api, world: World):
    document = api.get("/openapi.json", world.tokens["agent"]).json()
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": "/api/v1"}]
    assert all(not path.startswith(("/queues", "/admin", "/catalog", "/login"))
               for path in document["paths"])
    assert document["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    claim = document["paths"]["/tasks/{task_id}/claim"]["post"]
    assert "application/problem+json" in claim["responses"]["403"]["content"]
    assert any(p["name"] == "Idempotency-Key" for p in claim["parameters"])


def test_the_document_links_a_filed_request_to_its_page_and_a_task_to_its_actions(
        api: Api, world: World):
    paths = api.get("/openapi.json", world.tokens["agent"]).json()["paths"]
    filed = paths["/services/{slug}/requests"]["post"]["responses"]["201"]["links"]
    page = paths["/requests/{request_id}"]["get"]["operationId"]
    assert filed[page]["parameters"] == {"request_id": "$response.body#/id"}
    queue = paths["/teams/{team_slug}/tasks"]["get"]["responses"]["200"]["links"]
    claim = paths["/tasks/{task_id}/claim"]["post"]["operationId"]
    assert queue[claim]["parameters"] == {"task_id": "$response.body#/tasks/0/id"}
