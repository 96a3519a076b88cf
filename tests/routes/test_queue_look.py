"""Opening a team's queue page counts as looking at its new tasks (issue 14's inbox):
a member's "N new tasks in <team> since you last looked" starts again; only the page
itself, only for its members, only when something is new (no write otherwise), and
never past a manager's comment for the team, which the queue page does not show."""

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from app.storage.models import TeamLook, User
from tests.factories import Factory
from tests.web import WebClient


@dataclass
class People:
    requester: User
    member: User
    other_team: User
    manager: User


@pytest.fixture
def people(make: Factory) -> People:
    make.team("it", "IT Support")
    make.team("hr", "People Operations")
    return People(requester=make.user("Rita Requester"),
                  member=make.user("Tom Teammate", teams=("it",)),
                  other_team=make.user("Hank Hr", teams=("hr",)),
                  manager=make.user("Maria Manager", manager=True))


@pytest.fixture
def team_look_writes(session: Session) -> Iterator[list[str]]:
    """The statements that write a person's team marks, as the database is sent them."""
    writes: list[str] = []

    def note(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        if "team_look" in statement and statement.lstrip().upper().startswith(
                ("UPDATE", "INSERT")):
            writes.append(statement)

    engine = session.connection().engine
    event.listen(engine, "before_cursor_execute", note)
    yield writes
    event.remove(engine, "before_cursor_execute", note)


def bell(html: str) -> str:
    """The bell's count as shown ("" for none)."""
    link = re.search(r'<a id="inbox-bell"[^>]*>(.*?)</a>', html, re.S)
    assert link, "no bell on the page"
    count = re.search(r'<span class="bell-count">(\d+\+?)', link.group(1))
    return count.group(1) if count else ""


def new_tasks(make: Factory, people: People, count: int) -> None:
    service = make.service(steps=[("it", "task")])
    for number in range(count):
        make.request(service, people.requester, {"summary": f"Laptop {number}"})


def test_a_member_opening_the_queue_has_looked_at_its_new_tasks(
    web: WebClient, make, people, team_look_writes
):
    new_tasks(make, people, 3)
    web.login(people.member)
    page = web.get("/inbox").text
    assert "3 new tasks in IT Support" in page and bell(page) == "1"
    queue = web.get("/queues/it")
    assert queue.status_code == 200
    # The queue page already shows the bell it leaves behind.
    assert bell(queue.text) == ""
    assert len(team_look_writes) == 1  # one statement, the first mark included
    assert "new tasks in IT Support" not in web.get("/inbox").text
    # Nothing new: opening it again writes nothing.
    web.get("/queues/it")
    web.get("/queues/it?state=open")
    assert len(team_look_writes) == 1
    # One more task: counted from the look; the next look moves the mark again.
    new_tasks(make, people, 1)
    assert "1 new task in IT Support" in web.get("/inbox").text
    web.get("/queues/it")
    assert len(team_look_writes) == 2
    assert "new task" not in web.get("/inbox").text


def test_only_the_queue_page_itself_counts_as_looking(
    web: WebClient, make, people, team_look_writes
):
    new_tasks(make, people, 2)
    web.login(people.member)
    assert web.get("/queues/it?state=claimed", htmx=True).status_code == 200  # a filter change
    assert web.get("/queues/it/changes?since=2020-01-01T00:00:00Z", htmx=True).status_code \
        == 200
    assert web.get("/queues/it/tasks.csv").status_code == 200
    assert "2 new tasks in IT Support" in web.get("/inbox").text
    assert team_look_writes == []


@pytest.mark.parametrize("who, status", [("manager", 200), ("other_team", 403)])
def test_someone_off_the_team_opening_its_queue_moves_no_mark(
    web: WebClient, session, make, people, team_look_writes, who, status
):
    new_tasks(make, people, 2)
    assert web.login(getattr(people, who)).get("/queues/it").status_code == status
    assert team_look_writes == []
    assert session.exec(select(TeamLook)).all() == []
    web.login(people.member)
    assert "2 new tasks in IT Support" in web.get("/inbox").text


def test_a_managers_comment_for_the_team_keeps_the_mark_where_it_is(
    web: WebClient, make, people, team_look_writes
):
    service = make.service(steps=[("it", "task")])
    request = make.request(service, people.requester, {"summary": "Unclaimed"})
    web.login(people.manager)
    assert web.post(f"/requests/{request.id}/comments",
                    {"body": "Who can take this?"}).status_code == 303
    web.login(people.member)
    web.get("/queues/it")
    assert team_look_writes == []
    page = web.get("/inbox").text
    assert "Who can take this?" in page and "1 new task in IT Support" in page


def test_a_managers_comment_told_to_the_member_in_person_does_not_hold_the_mark(
    web: WebClient, make, people, team_look_writes
):
    """The member follows the request, so the comment is their own item and the team's
    notice is not theirs (one event, one item): it neither shows in the team's entry nor
    keeps the queue page from moving their mark."""
    service = make.service(steps=[("it", "task")])
    request = make.request(service, people.requester, {"summary": "Unclaimed"})
    web.login(people.member)
    assert web.post(f"/requests/{request.id}/follow").status_code == 303
    web.login(people.manager)
    assert web.post(f"/requests/{request.id}/comments",
                    {"body": "Who can take this?"}).status_code == 303
    web.login(people.member)
    web.get("/queues/it")
    assert len(team_look_writes) == 1
    page = web.get("/inbox").text
    assert "new task" not in page and "(manager) commented" not in page
    assert "Maria Manager</strong> commented on" in page and bell(page) == "1"
