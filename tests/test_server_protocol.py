"""The HTTP protocol Baton is served with counts and times every request's headers,
also those of a request sent while an earlier one on the connection is being answered."""

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from app.web.server_protocol import MAX_HEADER_BYTES, GuardedHttpToolsProtocol
from tests.web import run_async


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _never_answers(scope: Any, receive: Any, send: Any) -> None:
    await asyncio.Event().wait()


def _connection() -> tuple[GuardedHttpToolsProtocol, _Transport]:
    config = uvicorn.Config(_never_answers, http=GuardedHttpToolsProtocol, lifespan="off")
    protocol = GuardedHttpToolsProtocol(config=config, server_state=ServerState(),
                                        app_state={}, _loop=asyncio.get_running_loop())
    transport = _Transport()
    protocol.connection_made(transport)
    return protocol, transport


def test_oversized_headers_are_refused_with_a_431():
    async def scenario() -> _Transport:
        protocol, transport = _connection()
        protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: "
                               + b"a" * MAX_HEADER_BYTES)
        return transport

    transport = run_async(scenario())
    assert transport.written.startswith(b"HTTP/1.1 431 ")
    assert transport.closed


def test_a_request_sent_while_the_one_before_is_answered_has_its_headers_counted():
    async def scenario() -> _Transport:
        protocol, transport = _connection()
        protocol.data_received(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.sleep(0)  # the first request is now being answered, slowly
        protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: "
                               + b"a" * MAX_HEADER_BYTES)
        for task in list(protocol.tasks):
            task.cancel()
        return transport

    transport = run_async(scenario())
    assert b"431" in transport.written.split(b"\r\n", 1)[0]
    assert transport.closed


def test_headers_within_the_limit_reach_the_app():
    async def scenario() -> tuple[_Transport, int]:
        protocol, transport = _connection()
        protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\nX-Fine: "
                               + b"a" * (MAX_HEADER_BYTES // 2) + b"\r\n\r\n")
        started = len(protocol.tasks)
        for task in list(protocol.tasks):
            task.cancel()
        return transport, started

    transport, started = run_async(scenario())
    assert transport.written == b""
    assert not transport.closed
    assert started == 1
