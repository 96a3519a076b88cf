"""The HTTP protocol Baton is served with: uvicorn's (httptools), with the limits it lacks.

uvicorn reads request headers without a size limit and gives a connection as long as it
likes to send them: a 64 MB header held a worker for 4 s, a 256 MB one for 92 s and
595 MB, and a connection that sent nothing (or half a request) was never closed. Here:

- the request line and headers together may take MAX_HEADER_BYTES; more is a 431 and
  the connection is closed, whatever is still coming;
- they must arrive within BATON_HEADER_SECONDS (10) of the connection opening (or of the request
  starting, on a kept-alive connection), else a 408 and the connection is closed; an
  idle connection that never sends a byte is closed the same way;
- the body's own limits and deadline are app.web.request_body's.

Only the parser's callbacks and uvicorn's own timers are used; nothing here blocks.
"""

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config import get_settings

MAX_HEADER_BYTES = 32 * 1024


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    max_header_bytes = MAX_HEADER_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_seconds = get_settings().header_seconds
        self._header_bytes = 0
        self._awaiting_headers = True
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_clock()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._awaiting_headers:
            super().data_received(data)
            return
        if self._header_timer is None:
            self._start_header_clock()  # a kept-alive connection's next request
        self._header_bytes += len(data)
        super().data_received(data)
        # Counted after parsing, so that a read that brings the end of the headers and
        # the start of a body together is not mistaken for a long header.
        if self._awaiting_headers and self._header_bytes > self.max_header_bytes:
            self._refuse(431, "Request Header Fields Too Large",
                         "The request's headers are too large.")

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._stop_header_clock()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        # Whatever arrives after this request's body is the next request's line and
        # headers, counted and timed from its first byte, even while this one is still
        # being answered (a pipelined request). The wait for it is uvicorn's keep-alive
        # timeout.
        self._awaiting_headers = True
        self._header_bytes = 0
        super().on_message_complete()

    def _start_header_clock(self) -> None:
        self._stop_header_clock()
        self._header_timer = self.loop.call_later(self.header_seconds, self._headers_too_slow)

    def _stop_header_clock(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self._awaiting_headers and not self.transport.is_closing():
            if self._header_bytes:
                self._refuse(408, "Request Timeout", "The request took too long to arrive.")
            else:
                self.transport.close()  # idle: nothing to answer

    def _refuse(self, status: int, phrase: str, message: str) -> None:
        self._stop_header_clock()
        self._awaiting_headers = False
        body = message.encode()
        self.transport.write(
            f"HTTP/1.1 {status} {phrase}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode() + body
        )
        self.transport.close()
