"""A sequential HTTP client on one keep-alive connection, and latency measurement.

http.client rather than httpx: a lighter client adds less of its own time to each
round trip, which matters for pages answered in a few milliseconds.
"""

import html
import http.client
import re
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

SESSION_COOKIE = "baton_session"
_CSRF_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


class BenchError(SystemExit):
    """Anything that makes a figure untrustworthy: the run stops and exits non-zero."""


_BOUNDARY = "baton-bench-form-boundary"


def _multipart(form: Mapping[str, object]) -> bytes:
    """The form as a browser sends one whose enctype is multipart/form-data."""
    parts = []
    for name, values in form.items():
        for value in values if isinstance(values, list) else [values]:
            parts.append(f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"'
                         f"\r\n\r\n{value}\r\n")
    return ("".join(parts) + f"--{_BOUNDARY}--\r\n").encode()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Browser:
    """One person's keep-alive connection with their cookies."""

    host: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    csrf_token: str = ""
    _conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, *, form: Mapping[str, object] | None = None,
                headers: Mapping[str, str] | None = None, multipart: bool = False,
                body: bytes | None = None) -> Reply:
        """`body`: sent as it is (say JSON, with its Content-Type among `headers`)."""
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = self.cookie_header()
        if form is not None and multipart:
            body = _multipart(form)
            sent["Content-Type"] = f"multipart/form-data; boundary={_BOUNDARY}"
        elif form is not None:
            body = urlencode(form, doseq=True).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        response = self._send(method, path, body, sent)
        reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                      response.read())
        for line in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(line).items():
                self.cookies[name] = morsel.value
        return reply

    def _send(self, method: str, path: str, body: bytes | None,
              headers: dict[str, str]) -> http.client.HTTPResponse:
        reused = self._conn is not None
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            self._conn.request(method, path, body=body, headers=headers)
            return self._conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closes a connection left idle past its keep-alive time (while
            # wrk runs, say): reconnect once. A fresh connection failing is an error.
            self.close()
            if not reused:
                raise
            return self._send(method, path, body, headers)

    def expect(self, method: str, path: str, status: int, **kwargs: object) -> Reply:
        """The request, refused loudly unless it answers exactly `status`."""
        reply = self.request(method, path, **kwargs)  # type: ignore[arg-type]
        if reply.status != status:
            where = reply.headers.get("location", "")
            raise BenchError(f"{method} {path} answered {reply.status}, expected {status}"
                             + (f" (to {where})" if where else "") + f": {reply.text[:300]}")
        return reply

    def connect(self, port: int) -> None:
        """Talk to another server (the next run) with the same cookies."""
        self.close()
        self.port = port

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def sign_in(host: str, port: int, email: str, password: str) -> Browser:
    """Signs in through the login form; keeps the session's CSRF token for posts."""
    browser = Browser(host, port)
    page = browser.expect("GET", "/login", 200)
    token = _CSRF_FIELD.search(page.text)
    if token is None:
        raise BenchError("the login page has no CSRF token")
    browser.expect("POST", "/login", 303, form={
        "email": email, "password": password, "csrf_token": token.group(1), "next": "/",
    })
    if SESSION_COOKIE not in browser.cookies:
        raise BenchError(f"signing in as {email} set no session cookie")
    browser.cookies.pop("baton_csrf", None)
    # The signed-in session has its own CSRF token, embedded in every page.
    token = _CSRF_FIELD.search(browser.expect("GET", "/catalog", 200).text)
    if token is None:
        raise BenchError("a signed-in page has no CSRF token")
    browser.csrf_token = token.group(1)
    return browser


def more_link(page: str) -> str | None:
    """The "show older tasks" link of a task list, if there is one."""
    match = re.search(r'hx-get="([^"]*after=[^"]*)"', page)
    return html.unescape(match.group(1)) if match else None


@dataclass
class Latency:
    p50: float
    p95: float
    p99: float
    mean: float
    rounds: int

    @property
    def rps(self) -> float:
        """Sequential requests/s: one client, one request at a time."""
        return 1000 / self.mean if self.mean else 0.0


def summarise(times_ms: list[float]) -> Latency:
    cuts = statistics.quantiles(times_ms, n=100, method="inclusive")
    return Latency(cuts[49], cuts[94], cuts[98], statistics.fmean(times_ms), len(times_ms))


def time_calls(call: Callable[[], object], *, rounds: int, warmup: int) -> Latency:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return summarise(times)
