"""Queue pages served again from memory (app.web.page_cache): only while nothing they show
has changed, only to the login they were rendered for, never past their time.

These tests commit for real: the middleware checks a kept page against the database
with a connection of its own, as it does in production."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.types import Message, Receive, Scope, Send

import app.web.page_cache
import app.web.routes.queues
from app.main import create_app
from app.rules.errors import DomainError
from app.rules.people import deactivate_person, revoke_role
from app.rules.requests import add_comment
from app.rules.tasks import claim_task, complete_task, hand_task
from app.rules.teams import add_member, remove_team_member, rename_team
from app.storage.models import (
    LoginSession,
    QueueVersion,
    Service,
    ServiceRequest,
    Task,
    Team,
    TeamLook,
    User,
    utcnow,
)
from tests.factories import Factory
from tests.web import WebClient, run_async


@dataclass
class Desk:
    session: Session
    make: Factory
    client: TestClient
    renders: list[str]
    member: User
    teammate: User
    admin: User
    service: Service
    request: ServiceRequest

    def visitor(self, person: User) -> WebClient:
        return WebClient(self.client, self.session).login(person)

    def another_browser(self, person: User) -> WebClient:
        """A browser with cookies of its own, on the same app (and so the same memory)."""
        client = TestClient(self.client.app, base_url="http://testserver",
                            follow_redirects=False)
        return WebClient(client, self.session).login(person)

    def task(self) -> Task:
        task = self.session.exec(select(Task).where(Task.request_id == self.request.id)).one()
        self.session.refresh(task)
        return task


@pytest.fixture
def desk(committed: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    renders: list[str] = []
    list_tasks = app.web.routes.queues.list_tasks

    def counted(*args: Any, **kwargs: Any) -> Any:
        renders.append(kwargs["filters"].search)
        return list_tasks(*args, **kwargs)

    monkeypatch.setattr(app.web.routes.queues, "list_tasks", counted)
    with Session(committed, expire_on_commit=False) as session:
        make = Factory(session)
        service = make.service(slug="kept", steps=[("it", "task")])
        member = make.user("Mia Member", teams=("it",))
        teammate = make.user("Tom Teammate", teams=("it",))
        admin = make.user("Ada Admin", admin=True)
        requester = make.user("Rob Requester")
        session.commit()
        request = make.request(service, requester, {"summary": "Printer on fire"})
        with TestClient(create_app(), base_url="http://testserver",
                        follow_redirects=False) as client:
            yield Desk(session, make, client, renders, member, teammate, admin, service,
                       request)


def test_an_unchanged_queue_page_is_served_again_without_rendering(desk: Desk):
    member = desk.visitor(desk.member)

    first = member.get("/queues/it")
    again = member.get("/queues/it")

    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert "Printer on fire" in again.text
    assert len(desk.renders) == 1
    # Still sent with every page's headers: never kept by the browser or a proxy.
    assert again.headers["cache-control"] == "no-store"
    assert again.headers["content-security-policy"]


def _claim(desk: Desk) -> None:
    claim_task(desk.session, task=desk.task(), by=desk.teammate)


def _hand(desk: Desk) -> None:
    claim_task(desk.session, task=desk.task(), by=desk.member)
    desk.visitor(desk.member).get("/queues/it")  # kept after the claim
    hand_task(desk.session, task=desk.task(), by=desk.member, to=desk.teammate)


def _complete(desk: Desk) -> None:
    claim_task(desk.session, task=desk.task(), by=desk.member)
    desk.visitor(desk.member).get("/queues/it")
    complete_task(desk.session, task=desk.task(), by=desk.member)


def _new_request(desk: Desk) -> None:
    desk.make.request(desk.service, desk.admin, {"summary": "Second printer on fire"})


ASSIGNED_TO_TOM = '<td data-label="Assignee">Tom Teammate'


@pytest.mark.parametrize(("change", "shows"), [
    (_claim, ASSIGNED_TO_TOM),
    (_hand, ASSIGNED_TO_TOM),
    (_complete, "the queue is clear"),
    (_new_request, "Second printer on fire"),
])
def test_a_change_to_the_teams_tasks_is_shown_at_once(
    desk: Desk, change: Callable[[Desk], None], shows: str,
):
    member = desk.visitor(desk.member)
    assert shows not in member.get("/queues/it").text

    change(desk)
    page = member.get("/queues/it")

    assert shows in page.text


def test_a_new_inbox_item_shows_on_a_kept_page_at_once(desk: Desk):
    """The bell's count is on the page: a comment changes no queue, but the count."""
    claim_task(desk.session, task=desk.task(), by=desk.member)
    member = desk.visitor(desk.member)
    assert '<span class="bell-count">' not in member.get("/queues/it").text
    renders = len(desk.renders)
    add_comment(desk.session, service_request=desk.request, by=desk.teammate,
                body="Toner is in the cupboard", internal=False, is_team_member=True)

    page = member.get("/queues/it")

    assert '<span class="bell-count">1' in page.text
    assert len(desk.renders) == renders + 1


def test_a_change_in_another_team_leaves_the_page_kept(desk: Desk):
    other = desk.make.service(slug="elsewhere", steps=[("facilities", "task")])
    member = desk.visitor(desk.member)
    member.get("/queues/it")
    renders = len(desk.renders)

    desk.make.request(other, desk.admin, {"summary": "Door squeaks"})
    member.get("/queues/it")

    assert len(desk.renders) == renders


def test_a_change_an_admin_makes_is_shown_at_once(desk: Desk):
    member = desk.visitor(desk.member)
    member.get("/queues/it")
    team = desk.session.exec(select(Team).where(Team.slug == "it")).one()

    rename_team(desk.session, team=team, name="Information Technology", by=desk.admin)

    assert "Information Technology" in member.get("/queues/it").text


def test_a_page_is_only_ever_served_to_the_login_it_was_rendered_for(desk: Desk):
    member = desk.visitor(desk.member)
    mine = member.get("/queues/it")
    teammate = desk.another_browser(desk.teammate)

    theirs = teammate.get("/queues/it")

    assert len(desk.renders) == 2
    assert member.csrf_token in mine.text and member.csrf_token not in theirs.text
    assert teammate.csrf_token in theirs.text


def test_signing_out_ends_what_was_kept(desk: Desk):
    member = desk.visitor(desk.member)
    member.get("/queues/it")
    cookies = dict(desk.client.cookies)

    assert member.post("/logout").status_code == 303
    desk.client.cookies.update(cookies)  # the old cookie, sent again
    page = member.get("/queues/it")

    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_a_deactivated_person_is_not_served_what_was_kept(desk: Desk):
    member = desk.visitor(desk.member)
    member.get("/queues/it")

    deactivate_person(desk.session, person=desk.member, by=desk.admin)
    page = member.get("/queues/it")

    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def _remove_from_the_team(desk: Desk) -> WebClient:
    member = desk.visitor(desk.member)
    member.get("/queues/it")  # kept for the member
    remove_team_member(desk.session, team=desk.make.team("it"), person=desk.member,
                       by=desk.admin)
    return member


def _no_longer_a_manager(desk: Desk) -> WebClient:
    manager = desk.make.user("Max Manager", manager=True)
    desk.session.commit()
    browser = desk.another_browser(manager)
    browser.get("/queues/it")  # kept for the manager
    revoke_role(desk.session, person=manager, role="manager", by=desk.admin)
    return browser


@pytest.mark.parametrize("lose_access", [_remove_from_the_team, _no_longer_a_manager])
def test_who_may_see_a_queue_is_decided_again_after_a_change(
    desk: Desk, lose_access: Callable[[Desk], WebClient],
):
    """PRODUCT.md rule 6: a team's queue is for its members and managers; a page kept
    for someone who has since lost that is not served to them."""
    browser = lose_access(desk)

    assert browser.get("/queues/it").status_code == 403


def _expire_logins(desk: Desk) -> None:
    desk.session.execute(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))


def _make_inactive(desk: Desk) -> None:
    desk.session.execute(update(User).where(col(User.id) == desk.member.id)
                         .values(is_active=False))


@pytest.mark.parametrize("change", [_expire_logins, _make_inactive])
def test_the_login_is_checked_again_whatever_else_changed(desk: Desk,
                                                         change: Callable[[Desk], None]):
    """Changes that write nothing to the admin log (a login running out; a person
    switched off by hand in the database) still end what was kept."""
    member = desk.visitor(desk.member)
    member.get("/queues/it")
    # A snapshot of our own after the page's: opening the queue wrote the member's mark
    # on its news (app.rules.team_looks), and SQLite refuses a write from a read begun
    # before another connection's write.
    desk.session.rollback()

    change(desk)
    desk.session.commit()
    page = member.get("/queues/it")

    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_a_kept_page_is_rendered_again_once_its_time_is_up(desk: Desk,
                                                           monkeypatch: pytest.MonkeyPatch):
    member = desk.visitor(desk.member)
    clock = [1000.0]
    monkeypatch.setattr(app.web.page_cache, "monotonic", lambda: clock[0])
    member.get("/queues/it")
    clock[0] += 9
    member.get("/queues/it")
    assert len(desk.renders) == 1

    clock[0] += 2  # 11 s after it was rendered: past the default 10 s
    member.get("/queues/it")

    assert len(desk.renders) == 2


def test_each_address_and_fragment_is_kept_apart(desk: Desk):
    member = desk.visitor(desk.member)

    whole = member.get("/queues/it")
    fragment = member.get("/queues/it", htmx=True)
    searched = member.get("/queues/it?q=printer")

    assert len(desk.renders) == 3
    assert "<html" in whole.text and "<html" not in fragment.text
    assert desk.renders[-1] == "printer" and "Printer on fire" in searched.text


def _queue_version(desk: Desk) -> int:
    team = desk.session.exec(select(Team).where(Team.slug == "it")).one()
    row = desk.session.get(QueueVersion, team.id, populate_existing=True)
    return row.version if row else 0


def test_a_teams_queue_version_rises_in_the_transaction_of_each_change(desk: Desk):
    before = _queue_version(desk)
    _claim(desk)
    assert _queue_version(desk) == before + 1

    with pytest.raises(DomainError):
        claim_task(desk.session, task=desk.task(), by=desk.member)  # refused
    assert _queue_version(desk) == before + 1


def test_a_change_rolled_back_raises_no_version(desk: Desk):
    before = _queue_version(desk)
    task = desk.task()
    task.assignee_id = desk.member.id
    desk.session.flush()  # noted as the flush starts
    desk.session.rollback()

    desk.session.commit()  # a later transaction of the same session

    assert _queue_version(desk) == before


def test_the_same_person_signed_in_twice_gets_two_pages(desk: Desk):
    first = desk.visitor(desk.member)
    one = first.get("/queues/it")
    second = desk.another_browser(desk.member)

    other = second.get("/queues/it")

    assert len(desk.renders) == 2
    assert first.csrf_token != second.csrf_token
    assert first.csrf_token in one.text and second.csrf_token in other.text


def test_a_new_teammate_added_without_the_admin_pages_is_shown_at_once(desk: Desk):
    """As `baton user add --team` does: no admin log entry, still a directory change."""
    claim_task(desk.session, task=desk.task(), by=desk.member)
    member = desk.visitor(desk.member)
    assert "Nina Newcomer" not in member.get("/queues/it").text

    newcomer = desk.make.user("Nina Newcomer")
    add_member(desk.session, team=desk.make.team("it"), user=newcomer)
    desk.session.commit()

    assert "Nina Newcomer" in member.get("/queues/it").text


def test_a_page_pushed_out_while_it_was_checked_is_still_served():
    """On PostgreSQL the check waits for the database; meanwhile other requests may
    fill the memory and push the page out (a bench run found this as a 500)."""
    sent: list[Message] = []

    async def queue_page(scope: Scope, _receive: Receive, send: Send) -> None:
        scope[app.web.page_cache.PAGE_VERSION] = app.web.page_cache.PageVersion(1, 1, 1, 1)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"the queue"})

    cache = app.web.page_cache.PageCache(queue_page, seconds=10, pages=1)

    async def pushed_out_meanwhile(_token: str, _kept: object) -> bool:
        cache.kept.clear()
        return True

    cache._still_current = pushed_out_meanwhile  # type: ignore[method-assign]
    scope = {"type": "http", "method": "GET", "path": "/queues/it", "query_string": b"",
             "headers": [(b"cookie", b"baton_session=token")]}

    async def send(message: Message) -> None:
        sent.append(message)

    async def ask() -> None:
        await cache(dict(scope), None, send)  # type: ignore[arg-type]

    run_async(ask())
    run_async(ask())

    assert [m.get("body") for m in sent if m["type"] == "http.response.body"] == [
        b"the queue", b"the queue"]


def test_a_saved_view_is_shown_at_once_on_a_kept_page(desk: Desk):
    # The page shows its viewer's saved views as tabs (issue 14): saving one is a
    # directory change (app.storage.page_versions), so a kept page is rendered again.
    member = desk.visitor(desk.member)
    member.get("/queues/it")
    member.get("/queues/it")
    assert len(desk.renders) == 1

    saved = member.post("/queues/it/views", {"name": "Only mine", "state": "mine"})
    assert saved.status_code == 303

    assert ">Only mine</a>" in member.get("/queues/it").text
    assert len(desk.renders) == 2


def test_a_members_look_at_the_queue_is_never_skipped_by_a_kept_page(desk: Desk):
    # Opening the queue page moves the member's mark on the team's news (issue 14's
    # inbox, app.rules.team_looks); a kept page is served without the route, so it must
    # never be served while a look is due: the team's news is in the bell the check
    # compares, so the page is rendered again, and the look made.
    member = desk.visitor(desk.member)
    team_id = desk.task().team_id
    mine = (col(TeamLook.user_id) == desk.member.id, col(TeamLook.team_id) == team_id)

    def mark() -> datetime:
        desk.session.rollback()  # a snapshot after the page's write
        return desk.session.exec(select(TeamLook.looked_at).where(*mine)).one()

    assert '<span class="bell-count">' not in member.get("/queues/it").text
    assert mark() >= desk.task().opened_at
    member.get("/queues/it")
    assert len(desk.renders) == 1  # kept: nothing new, nothing written
    # The mark falls behind the queue's task, the queue itself unchanged.
    behind = desk.task().opened_at - timedelta(seconds=1)
    desk.session.execute(update(TeamLook).where(*mine).values(looked_at=behind))
    desk.session.commit()

    page = member.get("/queues/it")

    assert len(desk.renders) == 2
    assert '<span class="bell-count">' not in page.text
    assert mark() >= desk.task().opened_at
    member.get("/queues/it")
    assert len(desk.renders) == 2  # kept again
