"""Who may call what in /api/v1: every endpoint for every role (PRODUCT.md rule 6, as the
pages answer it), and for no token, a read-only token and a revoked one. Each case runs
in its own rolled-back transaction, so each write starts from the same world."""

import pytest

from tests.api.conftest import Api, World

ROLES = ["requester", "agent", "lead", "other_team", "manager", "admin", "anonymous",
         "read_only", "revoked"]
# What every token-less or dead-token call gets, whatever the endpoint.
NO_TOKEN = {"anonymous": 401, "revoked": 401}


def _reads(**by_role: int) -> dict[str, int]:
    """A read: the read-only token is Ivan's (an agent), so it reads as he does."""
    expected = {role: 200 for role in ROLES} | NO_TOKEN | by_role
    expected["read_only"] = by_role.get("read_only", expected["agent"])
    return expected


def _writes(**by_role: int) -> dict[str, int]:
    return _reads(**by_role) | {"read_only": 403}


# (method, address, body, expected status per role). {laptop}, {purchase}, {task} and
# {approval} are filled in from the world; {lena} is the lead's e-mail.
ENDPOINTS = [
    ("GET", "/me", None, _reads()),
    ("GET", "/openapi.json", None, _reads()),
    ("GET", "/services", None, _reads()),
    ("GET", "/services/laptop", None, _reads()),
    ("POST", "/services/laptop/requests", {"answers": {"summary": "Another"}},
     _writes(requester=201, agent=201, lead=201, other_team=201, manager=201, admin=201)),
    ("GET", "/requests", None, _reads()),
    ("GET", "/requests/{laptop}", None, _reads(admin=404, other_team=404)),
    ("POST", "/requests/{laptop}/comments", {"body": "Any news?"},
     _writes(requester=201, agent=201, lead=201, manager=201, other_team=404, admin=404)),
    ("POST", "/requests/{laptop}/comments", {"body": "Spare in stock", "internal": True},
     _writes(requester=403, agent=201, lead=201, manager=403, other_team=404, admin=404)),
    ("POST", "/requests/{laptop}/cancel", {"reason": "Not needed"},
     _writes(agent=403, lead=403, manager=403, other_team=404, admin=404)),
    ("GET", "/teams/it/tasks", None, _reads(requester=403, other_team=403, admin=403)),
    ("GET", "/search", None, _reads()),
    ("GET", "/overview", None, _reads(requester=403, agent=403, lead=403, other_team=403,
                                      admin=403)),
    ("POST", "/tasks/{task}/claim", None,
     _writes(requester=403, manager=403, other_team=404, admin=404)),
    ("POST", "/tasks/{task}/release", None,
     _writes(agent=409, lead=409, requester=403, manager=403, other_team=404, admin=404)),
    ("POST", "/tasks/{task}/hand", {"to": "{lena}"},
     _writes(agent=409, lead=409, requester=403, manager=403, other_team=404, admin=404)),
    ("POST", "/tasks/{task}/complete", {"note": "Done"},
     _writes(requester=403, manager=403, other_team=404, admin=404)),
    ("POST", "/tasks/{approval}/approve", {"note": "Fine"},
     _writes(requester=403, manager=403, other_team=404, admin=404)),
    ("POST", "/tasks/{approval}/reject", {"reason": "Too dear"},
     _writes(requester=403, manager=403, other_team=404, admin=404)),
]


def _filled(text: str, world: World) -> str:
    return text.format(laptop=world.laptop.id, purchase=world.purchase.id, task=world.task.id,
                       approval=world.approval.id, lena=world.people["lead"].email)


def _check(api: Api, world: World, role: str, method: str, path: str, body, expected) -> None:  # type: ignore[no-untyped-def]
    json = {key: _filled(value, world) if isinstance(value, str) else value
            for key, value in body.items()} if body is not None else None
    answer = api.call(method, _filled(path, world), world.tokens[role], json=json,
                      params={"q": "laptop"} if path == "/search" else None)
    assert answer.status_code == expected[role], f"{role}: {answer.text}"
    if answer.status_code >= 400:
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == answer.status_code
    if answer.status_code == 401:
        assert answer.headers["www-authenticate"].startswith("Bearer")


READS = [endpoint for endpoint in ENDPOINTS if endpoint[0] == "GET"]
WRITES = [endpoint for endpoint in ENDPOINTS if endpoint[0] == "POST"]


@pytest.mark.parametrize(("method", "path", "body", "expected"), READS,
                         ids=[f"{m} {p}" for m, p, _b, _e in READS])
def test_each_read_answers_each_role_as_the_pages_would(api: Api, world: World, method,
                                                        path, body, expected):
    # Reads change nothing, so every role asks in the same world.
    for role in ROLES:
        _check(api, world, role, method, path, body, expected)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path", "body", "expected"), WRITES,
                         ids=[f"{m} {p}{' internal' if b and b.get('internal') else ''}"
                              for m, p, b, _ in WRITES])
def test_each_write_answers_each_role_as_the_pages_would(api: Api, world: World, role,
                                                         method, path, body, expected):
    _check(api, world, role, method, path, body, expected)


def test_the_matrix_covers_every_endpoint_of_the_document(api: Api, world: World):
    document = api.get("/openapi.json", world.tokens["agent"]).json()
    documented = {(method.upper(), path) for path, methods in document["paths"].items()
                  for method in methods}
    covered = {(method, path.replace("{laptop}", "{request_id}")
                .replace("{task}", "{task_id}").replace("{approval}", "{task_id}")
                .replace("/services/laptop", "/services/{slug}")
                .replace("/teams/it", "/teams/{team_slug}"))
               for method, path, _body, _expected in ENDPOINTS if path != "/openapi.json"}
    assert documented == covered
