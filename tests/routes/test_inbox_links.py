"""The inbox over HTTP, after a fresh-eyes trial (issue 14): an item's link marks it read,
a Mark read keeps the pages shown so far, Mark all read marks only what the page showed,
an assignment says so (and tells whoever held the task), Follow comes back to its
button, a word after @ that names no one posts, and the comment box suggests only people
who may see the request. Per role: the reader, someone else, someone who cannot see."""

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


# --- an item's link marks it read -----------------------------------------------------------


def test_an_item_s_link_marks_it_read_and_opens_the_request_at_its_event(
    web: WebClient, session, people, filed
):
    event = comment(session, filed, people.worker, f"@{people.teammate.email} please check")
    [item] = unread_ids(session, people.teammate)
    web.login(people.teammate)
    page = web.get("/inbox").text
    assert bell(page) == "1"
    assert f'href="/inbox/items/{item}/open"' in page
    response = web.get(f"/inbox/items/{item}/open")
    assert response.status_code == 303
    assert response.headers["location"] == f"/requests/{filed.id}#event-{event.id}"
    assert unread_ids(session, people.teammate) == []
    request_page = web.get(response.headers["location"]).text
    assert bell(request_page) == "" and f'id="event-{event.id}"' in request_page
    # Again (the Back button, a second click): still read, still there.
    assert web.get(f"/inbox/items/{item}/open").status_code == 303


@pytest.mark.parametrize("who", ["worker", "outsider", "manager"])
def test_nobody_opens_someone_else_s_item(web: WebClient, session, people, filed, who):
    comment(session, filed, people.worker, "Ordered")
    [item] = unread_ids(session, people.requester)
    web.login(getattr(people, who))
    assert web.get(f"/inbox/items/{item}/open").status_code == 404
    assert unread_ids(session, people.requester) == [item]


def test_opening_an_item_needs_a_sign_in(web: WebClient, session, people, filed):
    comment(session, filed, people.worker, "Ordered")
    [item] = unread_ids(session, people.requester)
    assert web.get(f"/inbox/items/{item}/open").status_code in (302, 303, 401)
    assert unread_ids(session, people.requester) == [item]


def test_an_item_of_a_request_one_no_longer_sees_opens_the_inbox(web: WebClient, make,
                                                                  session, people, filed):
    web.login(people.teammate)
    web.post(f"/requests/{filed.id}/follow")
    comment(session, filed, people.worker, "A secret plan")
    [item] = unread_ids(session, people.teammate)
    remove_team_member(session, team=make.team("it"), person=people.teammate,
                       by=people.admin)
    response = web.get(f"/inbox/items/{item}/open")
    assert response.status_code == 303 and response.headers["location"] == "/inbox?show=all"
    assert unread_ids(session, people.teammate) == []


# --- Mark read keeps the pages shown so far -----------------------------------------------


@pytest.fixture
def many(session, people, filed) -> list[int]:
    """PAGE_SIZE + 5 comments to the requester, a minute apart; her item ids, oldest first."""
    start = utcnow()
    for number in range(PAGE_SIZE + 5):
        with frozen_at(start + timedelta(minutes=number)):
            comment(session, filed, people.worker, f"Update {number}")
    return unread_ids(session, people.requester)


def test_marking_an_older_item_read_answers_only_its_row(web: WebClient, session, people,
                                                        many):
    web.login(people.requester)
    older = web.get(f"/inbox?before={many[5]}", htmx=True).text
    assert f'id="inbox-item-{many[0]}"' in older
    response = web.post(f"/inbox/items/{many[0]}/read", htmx=True)
    assert response.status_code == 200
    # Gone from the unread list: nothing in its place, the pages shown stay; the bell.
    assert 'id="inbox-lists"' not in response.text and "inbox-item" not in response.text
    assert "HX-Retarget" not in response.headers
    assert bell(response.text) == str(len(many) - 1)
    assert unread_ids(session, people.requester) == many[1:]


def test_in_the_all_list_a_marked_item_comes_back_read_in_its_place(web: WebClient, session,
                                                                    people, many):
    web.login(people.requester)
    response = web.post(f"/inbox/items/{many[0]}/read?show=all", htmx=True)
    assert response.status_code == 200 and 'id="inbox-lists"' not in response.text
    row = re.search(rf'<li class="inbox-item" id="inbox-item-{many[0]}">.*?</li>',
                    response.text, re.S)
    assert row and "Update 0" in row.group(0) and "Mark read" not in row.group(0)


def test_marking_the_last_unread_item_read_shows_the_empty_list(web: WebClient, session,
                                                                people, filed):
    comment(session, filed, people.worker, "Only one")
    [item] = unread_ids(session, people.requester)
    web.login(people.requester)
    response = web.post(f"/inbox/items/{item}/read", htmx=True)
    assert response.headers["HX-Retarget"] == "#inbox-lists"
    assert "Nothing unread" in response.text and bell(response.text) == ""


def test_marking_a_team_s_news_read_answers_the_teams_section_alone(web: WebClient, make,
                                                                   session, people, filed):
    service = make.service(steps=[("it", "task")])
    make.request(service, people.requester, {"summary": "New one"})
    comment(session, filed, people.teammate, "For Wendy")
    web.login(people.worker)
    page = web.get("/inbox").text
    assert 'id="inbox-teams"' in page and "For Wendy" in page
    response = web.post(f"/inbox/teams/{make.team('it').id}/read", htmx=True)
    assert response.status_code == 200
    assert "inbox-item-" not in response.text and "new task" not in response.text
    assert bell(response.text) == "1"  # Tom's comment is still unread


# --- Mark all read marks only what the page showed ----------------------------------------


def test_mark_all_read_leaves_an_item_that_came_after_the_page(web: WebClient, session,
                                                              people, filed):
    comment(session, filed, people.worker, "Seen")
    web.login(people.requester)
    page = web.get("/inbox").text
    up_to = re.search(r'name="up_to" value="(\d+)"', page)
    shown_at = re.search(r'name="shown_at" value="(\d+)"', page)
    assert up_to and shown_at
    comment(session, filed, people.worker, "Came later")
    later = unread_ids(session, people.requester)[-1]
    response = web.post("/inbox/read-all", {"up_to": up_to.group(1),
                                            "shown_at": shown_at.group(1)})
    assert response.status_code == 303
    assert unread_ids(session, people.requester) == [later]


@pytest.mark.parametrize("field", [{"up_to": "many"}, {"up_to": "-1"},
                                   {"shown_at": "99999999999999999999"}])
def test_mark_all_read_refuses_a_bad_mark_clearly(web: WebClient, session, people, filed,
                                                  field):
    comment(session, filed, people.worker, "Seen")
    web.login(people.requester)
    response = web.post("/inbox/read-all", field)
    assert response.status_code == 400 and "was not understood" in response.text
    assert len(unread_ids(session, people.requester)) == 1


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


# --- Follow comes back to its button --------------------------------------------------------


@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_follow_and_unfollow_come_back_to_the_button(web: WebClient, people, filed, action):
    web.login(people.teammate)
    response = web.post(f"/requests/{filed.id}/{action}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/requests/{filed.id}#follow"
    assert re.search(r'<form[^>]*class="follow-form" id="follow"',
                     web.get(f"/requests/{filed.id}").text)


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
