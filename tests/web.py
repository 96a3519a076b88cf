"""A test client that signs people in and sends the CSRF token like a browser would."""

import asyncio
import re
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import event
from sqlmodel import Session, select

from app.rules.sign_in import start_session
from app.storage.models import LoginSession, User
from app.web.auth import SESSION_COOKIE

T = TypeVar("T")


class WebClient:
    def __init__(self, client: TestClient, session: Session):
        self.client = client
        self.session = session
        self.csrf_token = ""

    def login(self, user: User) -> "WebClient":
        token = start_session(self.session, user=user)
        self.client.cookies.set(SESSION_COOKIE, token)
        login = self.session.exec(
            select(LoginSession).where(LoginSession.user_id == user.id)
            .order_by(LoginSession.created_at.desc())  # type: ignore[attr-defined]
        ).first()
        assert login is not None
        self.csrf_token = login.csrf_token
        return self

    def logout(self) -> None:
        self.client.cookies.clear()
        self.csrf_token = ""

    def get(self, url: str, *, htmx: bool = False, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        headers = kwargs.pop("headers", {})
        if htmx:
            headers["HX-Request"] = "true"
        return self.client.get(url, headers=headers, **kwargs)

    def post(self, url: str, data: dict | None = None, *, htmx: bool = False,  # type: ignore[type-arg]
             csrf: bool = True, files=None, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        headers = kwargs.pop("headers", {})
        data = dict(data or {})
        if htmx:
            headers["HX-Request"] = "true"
            if csrf:
                headers["X-CSRF-Token"] = self.csrf_token
        elif csrf:
            data.setdefault("csrf_token", self.csrf_token)
        return self.client.post(url, data=data, files=files, headers=headers, **kwargs)


def text_of(response: Response) -> str:
    """The page's text without tags and with runs of whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text)).strip()


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine to its end on an event loop of its own, in a thread of its own:
    after the browser tests, Playwright's event loop is still running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def with_statements(session: Session, call: Callable[[], T]) -> tuple[T, list[str]]:
    """What `call()` returned, and the statements sent on the session's engine meanwhile."""
    sent: list[str] = []

    def seen(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(session.get_bind(), "before_cursor_execute", seen)
    try:
        return call(), sent
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", seen)
