"""Clients that send slowly, too much or too many: a real `baton serve` keeps answering
everyone else, and its memory stays bounded (issue 12 items 2-4)."""

import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlmodel import Session

from tests.factories import Factory
from tests.production.conftest import FaultDatabase, Server, Visitor

pytestmark = pytest.mark.fault

# A header deadline short enough to wait for in a test (app.web.server_protocol).
HEADER_SECONDS = 2.0


@pytest.fixture
def server(fault_database: FaultDatabase, serve_on) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    os.environ["BATON_HEADER_SECONDS"] = str(HEADER_SECONDS)
    try:
        yield serve_on(fault_database)
    finally:
        os.environ.pop("BATON_HEADER_SECONDS", None)


@pytest.fixture
def agent(fault_database: FaultDatabase, server: Server, visit) -> Visitor:  # type: ignore[no-untyped-def]
    with Session(fault_database.engine, expire_on_commit=False) as setup:
        make = Factory(setup)
        make.service(slug="laptop", steps=[("it", "task")], fields=[
            {"key": "summary", "label": "Summary", "type": "text", "required": True},
            {"key": "quote", "label": "Quote", "type": "file"},
        ])
        person = make.user("Ivan Agent", teams=("it",))
        setup.commit()
    return visit(server, person)  # type: ignore[no-any-return]


def _port(server: Server) -> int:
    return int(server.base.rsplit(":", 1)[1])


@contextmanager
def _connections(server: Server, count: int) -> Iterator[list[socket.socket]]:
    sockets = [socket.create_connection(("127.0.0.1", _port(server)), timeout=30)
               for _ in range(count)]
    try:
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def _rss_kib(server: Server) -> int:
    with open(f"/proc/{server.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _answers_everyone(server: Server, agent: Visitor, times: int = 10) -> None:
    """The login page for someone not signed in, and a queue page for an agent, each
    answering 200 within a few seconds, several times over."""
    with httpx.Client(base_url=server.base, timeout=5) as stranger:
        for _ in range(times):
            assert stranger.get("/login").status_code == 200
            assert agent.client.get("/queues/it", timeout=5).status_code == 200


def _status_of(sock: socket.socket) -> int:
    answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 "), answer[:100]
    return int(answer[9:12])


def test_32_clients_trickling_bodies_hold_no_connection_others_need(
    server: Server, agent: Visitor
):
    head = (b"POST /services/laptop/requests HTTP/1.1\r\nHost: x\r\n"
            b"Cookie: baton_csrf=made-up\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 60000\r\n\r\ncsrf_token=made-up&summary=")
    with _connections(server, 32) as trickling:
        for sock in trickling:
            sock.sendall(head)
        for _ in range(3):
            for sock in trickling:
                sock.sendall(b"x" * 10)
            _answers_everyone(server, agent, times=5)


def test_a_body_over_the_route_s_limit_is_refused_before_it_is_sent(server: Server):
    with _connections(server, 1) as (sock,):
        sock.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")
        assert _status_of(sock) == 413


def test_an_oversized_header_is_a_431_at_once_and_memory_stays_bounded(
    server: Server, agent: Visitor
):
    before = _rss_kib(server)
    with _connections(server, 1) as (sock,):
        sock.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sent = 0
        try:
            while sent < 64 * 1024 * 1024:
                sock.sendall(b"a" * 65536)
                sent += 65536
        except OSError:
            pass  # the server answered and closed the connection
        assert sent < 8 * 1024 * 1024
        assert _status_of(sock) == 431
    _answers_everyone(server, agent)
    assert _rss_kib(server) - before < 32 * 1024


def test_a_half_sent_request_is_answered_408_and_closed(server: Server, agent: Visitor):
    with _connections(server, 1) as (sock,):
        sock.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(HEADER_SECONDS * 5)
        assert _status_of(sock) == 408
    _answers_everyone(server, agent, times=2)


def test_an_idle_connection_is_closed(server: Server):
    with _connections(server, 1) as (sock,):
        sock.settimeout(HEADER_SECONDS * 5)
        started = time.monotonic()
        assert sock.recv(1) == b""
        assert time.monotonic() - started < HEADER_SECONDS * 5


@pytest.mark.parametrize("encode", [
    lambda fields: ("application/x-www-form-urlencoded", "&".join(fields).encode()),
    lambda fields: ("multipart/form-data; boundary=b", b"".join(
        f'--b\r\nContent-Disposition: form-data; name="{field.split("=")[0]}"\r\n\r\n1\r\n'
        .encode() for field in fields) + b"--b--\r\n"),
], ids=["urlencoded", "multipart"])
def test_ten_thousand_form_fields_are_refused_with_a_400(
    server: Server, agent: Visitor, encode: Callable[[list[str]], tuple[str, bytes]]
):
    content_type, body = encode([f"f{n}=1" for n in range(10_000)])
    response = agent.client.post(
        "/services/laptop/requests", content=body,
        headers={"Content-Type": content_type, "X-CSRF-Token": agent.csrf_token}, timeout=10)
    assert response.status_code == 400, response.text[:300]
    assert "Too many fields" in response.text
    _answers_everyone(server, agent, times=2)
