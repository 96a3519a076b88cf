"""Request bodies: read whole and bounded before any route (or database) sees them."""

import asyncio
from typing import Any

from sqlmodel import Session, select

from app.storage.models import ServiceRequest, User
from app.web.request_body import SMALL_BODY_BYTES, BodyGate, BodyTiming
from app.web.session import get_session
from tests.factories import Factory
from tests.routes import test_catalog as catalog_tests
from tests.routes.test_catalog import GOOD_ANSWERS, field_html, submit
from tests.web import WebClient, run_async

OVER_SMALL = b"x" * (SMALL_BODY_BYTES + 1)


# The laptop service of the catalog tests, and an employee signed in to file it.
service = catalog_tests.service
employee = catalog_tests.employee


def test_a_small_form_route_refuses_a_body_over_64_kb_by_its_length(web: WebClient):
    response = web.client.post("/login", content=OVER_SMALL, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert "64 KB" in response.text


def test_a_chunked_body_is_refused_once_it_passes_the_limit(web: WebClient):
    chunks = (b"y" * 16 * 1024 for _ in range(100))
    response = web.client.post("/login", content=chunks, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413


def test_a_content_length_that_is_not_a_number_is_a_400(web: WebClient):
    response = web.client.post("/login", content=b"a=b", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Content-Length": "3e0"})
    assert response.status_code == 400


def test_an_upload_route_reads_no_large_body_from_someone_not_signed_in(
    web: WebClient, service, session: Session  # type: ignore[no-untyped-def]
):
    web.client.cookies.set("baton_csrf", "made-up")
    response = web.client.post(
        "/services/new-laptop/requests",
        data={"csrf_token": "made-up", **GOOD_ANSWERS},
        files=[("quote", ("quote.pdf", OVER_SMALL, "application/pdf"))])
    assert response.status_code == 413
    assert session.exec(select(ServiceRequest)).first() is None


def test_a_signed_in_person_may_upload_up_to_what_the_form_s_file_fields_allow(
    web: WebClient, service, employee: User, session: Session  # type: ignore[no-untyped-def]
):
    # The quote field takes 3 files of 1 MB: with the text allowance, 5 MB in all.
    within = submit(web, service, session, GOOD_ANSWERS,
                    files=[("quote", ("quote.pdf", b"q" * 900_000, "application/pdf"))])
    assert within.status_code == 303
    beyond = submit(web, service, session, GOOD_ANSWERS,
                    files=[("quote", (f"q{n}.pdf", b"q" * 1_000_000, "application/pdf"))
                           for n in range(6)])
    assert beyond.status_code == 413
    assert "5 MB" in beyond.text


def test_a_csrf_token_with_characters_beyond_ascii_is_a_403_not_a_500(web: WebClient):
    web.client.cookies.set("baton_csrf", "plain-ascii-token")
    in_form = web.client.post("/login", data={
        "email": "a@example.com", "password": "x", "csrf_token": "tökén"})
    assert in_form.status_code == 403
    in_header = web.client.post("/login", data={"email": "a@example.com", "password": "x"},
                                headers={"X-CSRF-Token": "tökén".encode()})
    assert in_header.status_code == 403


# --- the gate on its own: nothing reaches the app before the whole body -----------------


class _Trickle:
    """A client that sends part of a body and then nothing more until told to."""

    def __init__(self, parts: list[bytes]):
        self.parts = parts
        self.go_on = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        if len(self.parts) > 1:
            return {"type": "http.request", "body": self.parts.pop(0), "more_body": True}
        await self.go_on.wait()
        return {"type": "http.request", "body": self.parts.pop(0), "more_body": False}


def _post_scope(length: int) -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": "/login", "root_path": "",
            "query_string": b"", "headers": [
                (b"content-type", b"application/x-www-form-urlencoded"),
                (b"content-length", str(length).encode())]}


class _App:
    def __init__(self) -> None:
        self.called_with: bytes | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.called_with = body
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _gate(app: _App, timing: BodyTiming | None = None) -> BodyGate:
    return BodyGate(app, web_app=None, routers=[], timing=timing)


def test_the_app_is_not_called_before_the_whole_body_has_arrived():
    async def scenario() -> tuple[bytes | None, bytes | None, list[int]]:
        app = _App()
        client = _Trickle([b"email=a", b"&password=b"])
        statuses: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        task = asyncio.create_task(_gate(app)(_post_scope(18), client.receive, send))
        for _ in range(20):
            await asyncio.sleep(0)  # let the gate read all that has arrived
        before = app.called_with
        client.go_on.set()
        await task
        return before, app.called_with, statuses

    before, after, statuses = run_async(scenario())
    assert before is None
    assert after == b"email=a&password=b"
    assert statuses == [200]


def test_a_chunked_body_stops_being_read_at_the_limit():
    async def scenario() -> tuple[int, list[int]]:
        app = _App()
        read = 0
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            nonlocal read
            read += 1
            return {"type": "http.request", "body": b"y" * 16 * 1024, "more_body": True}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        scope = _post_scope(0)
        scope["headers"] = [(b"transfer-encoding", b"chunked")]
        await _gate(app)(scope, receive, send)
        return read, statuses

    read, statuses = run_async(scenario())
    assert statuses == [413]
    assert read == SMALL_BODY_BYTES // (16 * 1024) + 1


def test_a_body_that_does_not_arrive_in_time_is_a_408_and_the_app_never_runs():
    async def scenario() -> tuple[bytes | None, list[int]]:
        app = _App()
        client = _Trickle([b"email=a", b"never sent"])
        statuses: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        gate = _gate(app, BodyTiming(grace_seconds=0.05, min_bytes_per_second=10**9))
        await gate(_post_scope(18), client.receive, send)
        return app.called_with, statuses

    called_with, statuses = run_async(scenario())
    assert called_with is None
    assert statuses == [408]


def test_a_large_upload_while_the_database_is_down_is_a_503_not_a_500(
    web: WebClient, app, service  # type: ignore[no-untyped-def]
):
    from sqlalchemy.exc import OperationalError

    def unreachable():  # type: ignore[no-untyped-def]
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        yield  # pragma: no cover

    app.dependency_overrides[get_session] = unreachable
    web.client.cookies.set("baton_session", "someone-signed-in")
    response = web.client.post("/services/new-laptop/requests", content=OVER_SMALL,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


def test_only_an_admin_gets_a_large_body_read_on_the_admin_routes(
    web: WebClient, make: Factory
):
    for url in ("/admin/services/import", "/admin/services/new"):
        web.login(make.user("Erin Employee"))
        refused = web.post(url, files=[("catalog_file", ("big.toml", OVER_SMALL, "text/plain"))])
        assert refused.status_code == 413, url
        web.login(make.user("Adam Admin", admin=True))
        read = web.post(url, files=[("catalog_file", ("big.toml", OVER_SMALL, "text/plain"))])
        assert read.status_code != 413, url


def test_an_answer_over_a_megabyte_gets_a_message_next_to_its_field_and_keeps_the_others(
    web: WebClient, service, employee: User, session: Session  # type: ignore[no-untyped-def]
):
    answers = {**GOOD_ANSWERS, "summary": "x" * (2**20 + 1)}
    response = submit(web, service, session, answers)
    assert response.status_code == 422
    assert "field-error" in field_html(response.text, "summary")
    assert 'value="jo@example.org"' in field_html(response.text, "contact")
