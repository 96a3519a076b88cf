"""Baton's JSON API, /api/v1 (issue 15): a FastAPI application of its own, mounted
beside the pages. Of its own so that:
- it takes bearer tokens only (app.web.api.caller) and none of the pages' cookie and
  CSRF machinery applies to it, while every page route keeps it;
- its errors, FastAPI's own 404/405/422 included, are problem details (problems.py);
- its OpenAPI document holds its routes and no page's, and is served only to a caller
  with a token (GET /api/v1/openapi.json); the pages' application serves none.

Baton is called; it never calls: nothing here sends a request anywhere.
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response

from app.web.api import overview, requests, work
from app.web.api.caller import Caller, RequireToken
from app.web.api.idempotency import Replay, replayed
from app.web.api.problems import PROBLEM_TYPE, Problem, install

PREFIX = "/api/v1"
_ERRORS = {
    "400": "The input cannot be read or stored",
    "401": "No token, or a token that is unknown, expired or revoked",
    "403": "The token may not do this (read-only, or not yours to act on)",
    "404": "Nothing there, or not yours to see",
    "409": "The state does not allow it (already claimed, already closed, form changed)",
    "413": "The body is larger than the API takes",
    "422": "The input does not fit: `errors` says what, by field",
    "429": "Too many requests for this token: wait as Retry-After says",
    "503": "The database is not answering at the moment: retry after Retry-After",
}


def create_api() -> FastAPI:
    api = FastAPI(
        title="Baton API", version="1", openapi_url=None, docs_url=None, redoc_url=None,
        description="File requests and read and work queues as a person, with a personal "
                    "access token (Authorization: Bearer <token>, made on your profile "
                    "page). Errors are RFC 9457 problem details. Every POST takes an "
                    "Idempotency-Key.",
    )
    install(api)

    @api.exception_handler(Replay)
    async def replay(_request: Request, exc: Replay) -> Response:
        return replayed(exc)

    api.include_router(requests.router)
    api.include_router(work.router)
    api.include_router(overview.router)

    @api.get("/openapi.json", include_in_schema=False)
    def openapi_document(caller: Caller) -> dict[str, Any]:
        return api.openapi()

    api.openapi = lambda: _document(api)  # type: ignore[method-assign]
    api.add_middleware(RequireToken)
    return api


def _document(api: FastAPI) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API's routes: every operation needs the bearer
    token and says which problems it may answer, in application/problem+json."""
    if api.openapi_schema:
        return api.openapi_schema
    document = get_openapi(title=api.title, version=api.version, description=api.description,
                           routes=api.routes, servers=[{"url": PREFIX}])
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    components["securitySchemes"] = {"token": {
        "type": "http", "scheme": "bearer",
        "description": "A personal access token from your profile page in Baton."}}
    document["security"] = [{"token": []}]
    problem = {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path in document.get("paths", {}).values():
        for method, operation in path.items():
            responses = operation.setdefault("responses", {})
            for status, description in _ERRORS.items():
                if method == "get" and status in ("409", "413"):
                    continue
                responses[status] = {"description": description, "content": problem}
            if method == "post":
                operation.setdefault("parameters", []).append({
                    "name": "Idempotency-Key", "in": "header", "required": False,
                    "description": "Send the same key with the same request to be "
                                   "answered the first answer again (kept 24 hours).",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255}})
    _link(document)
    api.openapi_schema = document
    return document


# How one answer leads to the next call (OpenAPI links): a client, and schemathesis's
# stateful phase, follow a filed request to its page and a queue's task to its actions.
_TASK_ACTIONS = ("claim", "release", "hand", "complete", "approve", "reject")
_LINKS = {
    ("post", "/services/{slug}/requests", "201"): {
        "request_id": "$response.body#/id",
        "to": [("get", "/requests/{request_id}"), ("post", "/requests/{request_id}/comments"),
               ("post", "/requests/{request_id}/cancel")]},
    ("get", "/requests/{request_id}", "200"): {
        "task_id": "$response.body#/steps/0/id",
        "to": [("post", f"/tasks/{{task_id}}/{action}") for action in _TASK_ACTIONS]},
    ("get", "/teams/{team_slug}/tasks", "200"): {
        "task_id": "$response.body#/tasks/0/id",
        "to": [("post", f"/tasks/{{task_id}}/{action}") for action in _TASK_ACTIONS]},
    ("post", "/tasks/{task_id}/claim", "200"): {
        "task_id": "$response.body#/id",
        "to": [("post", f"/tasks/{{task_id}}/{action}") for action in _TASK_ACTIONS[1:]]},
}


def _link(document: dict[str, Any]) -> None:
    paths = document.get("paths", {})
    for (method, path, status), link in _LINKS.items():
        answer = paths[path][method]["responses"][status]
        parameter = next(name for name in link if name != "to")
        for target_method, target_path in link["to"]:
            target = paths[target_path][target_method]
            name = target["operationId"]
            answer.setdefault("links", {})[name] = {
                "operationId": name, "parameters": {parameter: link[parameter]}}
