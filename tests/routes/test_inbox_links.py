"""The inbox over HTTP, after a fresh-eyes trial (issue 14): an assignment says so (and
tells whoever held the task), a word after @ that names no one posts, and the comment
box suggests only people who may see the request. Per role: who may see it, who may not."""

import re
from dataclasses import dataclass

import pytest
from sqlmodel import Session, col, select

from app.rules.requests import add_comment
from app.rules.tasks import assign_task, claim_task
from app.storage.models import (
    InboxItem,
    Membership,
    ServiceRequest,
    TimelineEvent,
    User,
)
from tests.factories import Factory
from tests.web import WebClient


@dataclass
class People:
    requester: User
    worker: User
    teammate: User
    lead: User
    other_team: User
    manager: User
    admin: User
    outsider: User


@pytest.fixture
def people(make: Factory, session: Session) -> People:
    make.team("it", "IT Support")
    make.team("hr", "People Operations")
    lead = make.user("Lena Lead", teams=("it",))
    membership = session.get(Membership, (make.team("it").id, lead.id))
    assert membership is not None
    membership.is_lead = True
    session.commit()
    return People(
        requester=make.user("Rita Requester"),
        worker=make.user("Wendy Worker", teams=("it",)),
        teammate=make.user("Tom Teammate", teams=("it",)),
        lead=lead,
        other_team=make.user("Hank Hr", teams=("hr",)),
        manager=make.user("Maria Manager", manager=True),
        admin=make.user("Adam Admin", admin=True),
        outsider=make.user("Otto Outsider"),
    )


@pytest.fixture
def filed(make: Factory, people: People) -> ServiceRequest:
    service = make.service(name="New laptop", steps=[("it", "task")])
    request = make.request(service, people.requester, {"summary": "A light one"})
    claim_task(make.session, task=make.tasks(request)[0], by=people.worker)
    return request


def comment(session: Session, request: ServiceRequest, by: User, body: str) -> TimelineEvent:
    return add_comment(session, service_request=request, by=by, body=body, internal=False,
                       is_team_member=True)


def bell(html: str) -> str:
    link = re.search(r'<a id="inbox-bell"[^>]*>(.*?)</a>', html, re.S)
    assert link, "no bell"
    count = re.search(r'<span class="bell-count">(\d+\+?)', link.group(1))
    return count.group(1) if count else ""


def unread_ids(session: Session, person: User) -> list[int]:
    session.expire_all()
    return list(session.exec(select(InboxItem.id).where(
        InboxItem.user_id == person.id, col(InboxItem.read_at).is_(None))
        .order_by(col(InboxItem.id))))


# --- an assignment says so -----------------------------------------------------------------


def test_an_assignment_says_assigned_you_and_tells_whoever_held_it(web: WebClient, make,
                                                                    session, people, filed):
    assign_task(session, task=make.tasks(filed)[0], by=people.lead, to=people.teammate)
    web.login(people.teammate)
    page = web.get("/inbox").text
    assert "Lena Lead</strong> assigned you <em>Step 1</em>" in page
    assert "handed you" not in page
    web.login(people.worker)
    page = web.get("/inbox").text
    assert re.search(r"Lena Lead</strong> assigned your task <em>Step 1</em> on <a[^>]*>"
                     rf"{filed.number} [^<]*</a> to <strong>Tom Teammate</strong>", page)


# --- mentions --------------------------------------------------------------------------------


def test_a_word_after_an_at_sign_that_names_no_one_posts(web: WebClient, session, people,
                                                        filed):
    web.login(people.worker)
    response = web.post(f"/requests/{filed.id}/comments",
                        {"body": "Decorators like @property are fine"})
    assert response.status_code == 303
    assert "Decorators like @property are fine" in web.get(f"/requests/{filed.id}").text


def test_the_comment_box_asks_the_request_for_who_may_be_mentioned(web: WebClient, people,
                                                                   filed):
    web.login(people.worker)
    page = web.get(f"/requests/{filed.id}").text
    assert f'data-mentions="/requests/{filed.id}/mentionable"' in page


@pytest.mark.parametrize("who", ["requester", "worker", "manager"])
def test_the_suggestions_hold_only_people_who_may_see_the_request(web: WebClient, people,
                                                                 filed, who):
    web.login(getattr(people, who))
    options = web.get(f"/requests/{filed.id}/mentionable?q=example.com").text
    for person in (people.requester, people.worker, people.teammate, people.manager):
        assert person.email in options
    for person in (people.other_team, people.admin, people.outsider):
        assert person.email not in options


def test_the_suggestions_for_an_internal_note_leave_out_the_requester(web: WebClient, people,
                                                                      filed):
    web.login(people.worker)
    options = web.get(f"/requests/{filed.id}/mentionable?q=example.com&internal=true").text
    assert people.requester.email not in options and people.teammate.email in options


@pytest.mark.parametrize("who", ["other_team", "admin", "outsider"])
def test_someone_who_cannot_see_the_request_gets_no_suggestions(web: WebClient, people,
                                                                filed, who):
    web.login(getattr(people, who))
    assert web.get(f"/requests/{filed.id}/mentionable?q=example.com").status_code == 404


def test_a_suggestion_query_is_bounded(web: WebClient, people, filed):
    web.login(people.worker)
    response = web.get(f"/requests/{filed.id}/mentionable?q={'a' * 101}")
    assert response.status_code == 400 and "was not understood" in response.text
