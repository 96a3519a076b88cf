"""A queue filtered by the age of its open work (the insights' drill-down) and the kept-page
cache (app.web.page_cache): a filtered page is never served as the unfiltered one nor the
other way round, and a page whose bounds move with the clock is never kept.

These tests commit for real, as tests/test_page_cache.py does: the cache checks a kept
page against the database with a connection of its own."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

import app.web.routes.queues
from app.main import create_app
from app.storage.clock import frozen_at
from app.storage.models import User
from tests.factories import Factory
from tests.web import WebClient


@dataclass
class Desk:
    client: TestClient
    session: Session
    member: User
    renders: list[Any]
    at: str  # a moment of counting, as an insights link carries it

    def visitor(self) -> WebClient:
        return WebClient(self.client, self.session).login(self.member)


@pytest.fixture
def desk(committed: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    renders: list[Any] = []
    list_tasks = app.web.routes.queues.list_tasks

    def counted(*args: Any, **kwargs: Any) -> Any:
        renders.append(kwargs["filters"])
        return list_tasks(*args, **kwargs)

    monkeypatch.setattr(app.web.routes.queues, "list_tasks", counted)
    now = datetime.now(UTC).replace(microsecond=0)
    with Session(committed, expire_on_commit=False) as session:
        make = Factory(session)
        service = make.service(slug="aged", steps=[("it", "task")])
        member = make.user("Mia Member", teams=("it",))
        requester = make.user("Rob Requester")
        session.commit()
        with frozen_at(now - timedelta(days=2)):
            make.request(service, requester, {"summary": "Two days old"})
        make.request(service, requester, {"summary": "Brand new"})
        with TestClient(create_app(), base_url="http://testserver",
                        follow_redirects=False) as client:
            yield Desk(client, session, member, renders, str(int(now.timestamp())))


def _titles(page: Any) -> list[str]:
    return re.findall(r"(Two days old|Brand new)", page.text.split('id="results"', 1)[1])


def test_a_filtered_queue_and_the_whole_queue_are_never_served_for_each_other(desk: Desk):
    member = desk.visitor()
    filtered = f"/queues/it?age=1&at={desk.at}"  # open 1-3 days

    whole = member.get("/queues/it")
    aged = member.get(filtered)
    whole_again = member.get("/queues/it")
    aged_again = member.get(filtered)

    assert sorted(set(_titles(whole))) == sorted(set(_titles(whole_again))) \
        == ["Brand new", "Two days old"]
    assert set(_titles(aged)) == set(_titles(aged_again)) == {"Two days old"}
    # Both were kept, each under its own address: two renders, not four.
    assert len(desk.renders) == 2
    assert desk.renders[1].opened_until is not None and desk.renders[0].opened_until is None


def test_an_age_counted_now_is_not_kept(desk: Desk):
    """Without `at`, the bounds move with the clock: a kept page could list tasks that
    have since grown older than its bucket."""
    member = desk.visitor()
    member.get("/queues/it?age=1")
    member.get("/queues/it?age=1")
    assert len(desk.renders) == 2


def test_a_moment_of_counting_in_the_future_is_not_kept(desk: Desk):
    member = desk.visitor()
    future = str(int(desk.at) + 86400)
    first = member.get(f"/queues/it?age=1&at={future}")
    member.get(f"/queues/it?age=1&at={future}")
    assert first.status_code == 200 and len(desk.renders) == 2
