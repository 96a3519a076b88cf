"""The inbox over HTTP, after a fresh-eyes trial (issue 14): an assignment says so, and
tells whoever held the task."""

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from app.reads.inbox import PAGE_SIZE
from app.rules.requests import add_comment
from app.rules.tasks import assign_task, claim_task
from app.rules.teams import remove_team_member
from app.storage.clock import frozen_at
from app.storage.models import (
    InboxItem,
    Membership,
    ServiceRequest,
    TimelineEvent,
    User,
    utcnow,
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



