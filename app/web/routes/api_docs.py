"""The API's documentation page, for signed-in people: the endpoints listed from the
API's own OpenAPI document (app.web.api), rendered on the server (no script, no CDN)."""

from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.config import get_settings
from app.web.api import PREFIX, create_api
from app.web.auth import CurrentUser
from app.web.render import render

router = APIRouter()

PROBLEM_KINDS = {
    "unauthenticated": "401: no token, or one that is unknown, expired or revoked "
                       "(WWW-Authenticate says so too). Make a new one on your profile page.",
    "read-only-token": "403: a read-only token tried to change something.",
    "forbidden": "403: the token's person may not do this (another team's task, someone "
                 "else's request, their own approval).",
    "not-found": "404: nothing there, or nothing the token's person may see.",
    "conflict": "409: the state does not allow it now (claimed by someone else, already "
                "closed, the service's form changed).",
    "invalid": "400 or 422: input that does not fit; `errors` names each field.",
    "key-reused": "422: an Idempotency-Key sent again with a different request.",
    "rate-limited": "429: too many requests this minute for this token; wait as "
                    "Retry-After says.",
    "too-many": "429: too many comments in a minute; wait as Retry-After says.",
}


@lru_cache
def api_document() -> dict[str, Any]:
    return create_api().openapi()


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    operations = []
    for path, methods in document.get("paths", {}).items():
        for method, operation in methods.items():
            body = (operation.get("requestBody", {}).get("content", {})
                    .get("application/json", {}).get("schema", {}))
            operations.append({
                "method": method.upper(), "path": PREFIX + path,
                "summary": operation.get("summary", ""),
                "description": operation.get("description", ""),
                "parameters": [
                    {"name": p["name"], "in": p["in"], "required": p.get("required", False),
                     "description": p.get("description", ""),
                     "type": _type_of(p.get("schema", {}))}
                    for p in operation.get("parameters", [])],
                "body": body.get("$ref", "").rsplit("/", 1)[-1],
                "answers": sorted(operation.get("responses", {})),
            })
    return operations


def _type_of(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(str(value) for value in schema["enum"])
    if "anyOf" in schema:
        return " | ".join(_type_of(part) for part in schema["anyOf"] if part.get("type") != "null")
    return str(schema.get("format") or schema.get("type") or "")


@router.get("/help/api", name="help.api")
def show_api_docs(request: Request, user: CurrentUser) -> Response:
    document = api_document()
    return render(request, "help/api.html", {
        "document": document, "operations": _operations(document), "prefix": PREFIX,
        "schemas": document.get("components", {}).get("schemas", {}),
        "problem_kinds": PROBLEM_KINDS, "rate_limit": get_settings().api_requests_per_minute,
    })
