"""The floor routes of bench/route_floor.py cost what the real routes' framework costs:
the same checks run (sign-in, the CSRF token, the form fields' bounds), and nothing of a
rule's work is done (no statement beyond the viewer's)."""

from functools import partial

from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from app.web.session import get_session
from bench.route_floor import ROW_BYTES, app_with_floors
from tests.factories import Factory
from tests.web import WebClient, with_statements


def _client(session: Session) -> WebClient:
    app = app_with_floors()
    app.dependency_overrides[get_session] = lambda: session
    return WebClient(TestClient(app, base_url="http://testserver", follow_redirects=False),
                     session)


def test_the_floors_refuse_what_the_real_routes_refuse(session: Session, make: Factory):
    web = _client(session)
    task = make.tasks(make.request(make.service(), make.user("Rita")))[0]
    form = {"view": "queue", "back": "/queues/it"}

    def both(data: dict[str, str], **options: bool) -> tuple[int, int]:
        return (web.post(f"/tasks/{task.id}/claim", data, htmx=True, **options).status_code,
                web.post("/bench/floor/tasks/1/claim", data, htmx=True, **options).status_code)

    assert both(form) == (403, 403)  # nobody signed in: no CSRF token to send
    assert web.get("/bench/floor/page").status_code == 303  # to the sign-in page
    web.login(make.user("Ivan", teams=("it",)))
    assert both(form, csrf=False) == (403, 403)
    assert both({**form, "view": "v" * 21}) == (400, 400)
    assert web.get("/bench/floor/page").status_code == 200


def test_the_claims_floor_answers_the_rows_size_reading_only_who_asks(
        session: Session, make: Factory):
    web = _client(session)
    web.login(make.user("Ivan", teams=("it",)))

    def claim(path: str) -> Response:
        return web.post(path, {"view": "queue", "back": "/queues/it", "note": ""}, htmx=True)

    for path in ("/bench/floor/tasks/1/claim", "/bench/floor/tasks/1/claim-on-loop"):
        answer, sent = with_statements(session, partial(claim, path))

        assert answer.status_code == 200 and len(answer.content) == ROW_BYTES
        assert answer.headers["HX-Trigger"] == "task-changed"
        assert all(statement.lstrip().upper().startswith(("SELECT", "BEGIN"))
                   for statement in sent), sent


def test_the_filings_floor_reads_the_whole_form_and_files_nothing(
        session: Session, make: Factory):
    web = _client(session)
    web.login(make.user("Rita"))

    answer, sent = with_statements(session, lambda: web.post(
        "/bench/floor/services/laptop/requests", {"a": "1", "b": "2", "c": "3"}))

    # The three fields and the CSRF token the client adds.
    assert answer.status_code == 303 and answer.headers["location"] == "/requests/4"
    assert not any("INSERT" in statement.upper() for statement in sent)
