"""The inbox over HTTP: the bell on every page, the inbox page per role, marking read (plain
and htmx), following, and mentions refused next to the comment box."""

import re
from dataclasses import dataclass

import pytest
from sqlmodel import Session, col, select

from app.rules.requests import add_comment
from app.rules.tasks import claim_task
from app.storage.models import InboxItem, RequestFollow, ServiceRequest, TimelineEvent, User
from tests.factories import Factory
from tests.web import WebClient, with_statements


@dataclass
class People:
    requester: User
    worker: User
    teammate: User
    other_team: User
    manager: User
    admin: User
    outsider: User


@pytest.fixture
def people(make: Factory) -> People:
    make.team("it", "IT Support")
    make.team("hr", "People Operations")
    return People(
        requester=make.user("Rita Requester"),
        worker=make.user("Wendy Worker", teams=("it",)),
        teammate=make.user("Tom Teammate", teams=("it",)),
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


def bell(html: str) -> str:
    """The bell's count as shown ("" for none)."""
    link = re.search(r'<a id="inbox-bell"[^>]*>(.*?)</a>', html, re.S)
    assert link, "no bell on the page"
    count = re.search(r'<span class="bell-count">(\d+\+?)', link.group(1))
    return count.group(1) if count else ""


def unread_ids(session: Session, person: User) -> list[int]:
    session.expire_all()
    return list(session.exec(select(InboxItem.id).where(
        InboxItem.user_id == person.id, col(InboxItem.read_at).is_(None))
        .order_by(col(InboxItem.id))))


def comment(session: Session, request: ServiceRequest, by: User, body: str,
            internal: bool = False) -> TimelineEvent:
    """A comment or note by a member of the request's team."""
    return add_comment(session, service_request=request, by=by, body=body, internal=internal,
                       is_team_member=True)


def test_the_bell_shows_the_unread_count_on_every_page(web: WebClient, session, people,
                                                      filed):
    comment(session, filed, people.worker, "One")
    comment(session, filed, people.worker, "Two")
    web.login(people.requester)
    for page in ("/catalog", "/requests", f"/requests/{filed.id}", "/inbox"):
        assert bell(web.get(page).text) == "2", page
    web.post("/inbox/read-all")
    assert bell(web.get("/catalog").text) == ""


def test_a_fragment_carries_no_bell(web: WebClient, people, filed):
    web.login(people.requester)
    response = web.get("/inbox?before=999999", htmx=True)
    assert response.status_code == 200 and 'id="inbox-bell"' not in response.text


def test_signing_in_is_needed(web: WebClient):
    assert web.get("/inbox").status_code in (303, 401, 302)


def test_the_inbox_links_each_item_to_the_request_at_its_event(web: WebClient, session,
                                                               people, filed):
    event = comment(session, filed, people.worker, f"@{people.teammate.email} please check")
    web.login(people.teammate)
    page = web.get("/inbox").text
    [item] = unread_ids(session, people.teammate)
    assert f'href="/inbox/items/{item}/open"' in page  # marks it read on the way
    assert web.get(f"/inbox/items/{item}/open").headers["location"] == (
        f"/requests/{filed.id}#event-{event.id}")
    assert "mentioned you in a comment" in page and "@Tom Teammate please check" in page
    request_page = web.get(f"/requests/{filed.id}").text
    assert f'id="event-{event.id}"' in request_page


def test_a_requester_s_inbox_never_shows_an_internal_note(web: WebClient, session, people,
                                                         filed):
    comment(session, filed, people.teammate, "Budget is tight, go cheap", internal=True)
    comment(session, filed, people.worker, "Ordered it")
    web.login(people.requester)
    page = web.get("/inbox?show=all").text
    assert "Ordered it" in page and "Budget is tight" not in page
    web.login(people.worker)
    assert "Budget is tight" in web.get("/inbox").text


@pytest.mark.parametrize("who", ["other_team", "admin", "outsider", "manager"])
def test_others_inboxes_hold_nothing_of_the_request(web: WebClient, session, people, filed,
                                                   who):
    comment(session, filed, people.worker, "Ordered it")
    comment(session, filed, people.teammate, "Secret", internal=True)
    web.login(getattr(people, who))
    page = web.get("/inbox?show=all").text
    assert filed.number not in page and "Ordered it" not in page and "Secret" not in page
    assert bell(page) == ""


def test_marking_one_read_with_htmx_answers_its_row_and_the_bell(web: WebClient, session,
                                                                people, filed):
    comment(session, filed, people.worker, "One")
    comment(session, filed, people.worker, "Two")
    first, second = unread_ids(session, people.requester)
    web.login(people.requester)
    response = web.post(f"/inbox/items/{second}/read", htmx=True)
    assert response.status_code == 200
    # Its row goes (nothing in its place: the pages shown so far stay); the bell.
    assert 'id="inbox-lists"' not in response.text and "Two" not in response.text
    assert 'hx-swap-oob="true"' in response.text and bell(response.text) == "1"
    assert unread_ids(session, people.requester) == [first]


def test_marking_one_read_without_javascript_goes_back_to_the_inbox(web: WebClient, session,
                                                                    people, filed):
    comment(session, filed, people.worker, "One")
    [item] = unread_ids(session, people.requester)
    web.login(people.requester)
    response = web.post(f"/inbox/items/{item}/read?show=all")
    assert response.status_code == 303 and response.headers["location"] == "/inbox?show=all"
    assert unread_ids(session, people.requester) == []


def test_nobody_marks_someone_else_s_item_read(web: WebClient, session, people, filed):
    comment(session, filed, people.worker, "One")
    [item] = unread_ids(session, people.requester)
    web.login(people.teammate)
    web.post(f"/inbox/items/{item}/read")
    assert unread_ids(session, people.requester) == [item]


def test_a_post_without_its_csrf_token_is_refused(web: WebClient, session, people, filed):
    comment(session, filed, people.worker, "One")
    web.login(people.requester)
    assert web.post("/inbox/read-all", csrf=False).status_code == 403
    assert len(unread_ids(session, people.requester)) == 1


def test_team_news_is_one_entry_and_marked_read_for_its_team(web: WebClient, make, session,
                                                             people):
    service = make.service(steps=[("it", "task")])
    for number in range(3):
        make.request(service, people.requester, {"summary": f"Laptop {number}"})
    web.login(people.teammate)
    page = web.get("/inbox").text
    assert "3 new tasks in IT Support" in page and bell(page) == "1"
    team_id = make.team("it").id
    assert web.post(f"/inbox/teams/{team_id}/read").status_code == 303
    assert "new tasks in IT Support" not in web.get("/inbox").text
    # Not a member: nothing to mark.
    assert web.post(f"/inbox/teams/{make.team('hr').id}/read").status_code == 404


def test_a_manager_comments_on_any_request_and_the_team_hears_of_it(web: WebClient, make,
                                                                    session, people):
    service = make.service(steps=[("it", "task")])
    request = make.request(service, people.requester, {"summary": "Unclaimed"})
    web.login(people.manager)
    assert web.post(f"/requests/{request.id}/comments",
                    {"body": "Who can take this?"}).status_code == 303
    web.login(people.worker)
    page = web.get("/inbox").text
    assert "(manager) commented on" in page and "Who can take this?" in page
    web.login(people.other_team)
    assert "Who can take this?" not in web.get("/inbox").text


def test_following_and_unfollowing_from_the_request_page(web: WebClient, session, people,
                                                          filed):
    web.login(people.teammate)
    page = web.get(f"/requests/{filed.id}").text
    assert f'action="/requests/{filed.id}/follow"' in page
    assert web.post(f"/requests/{filed.id}/follow").status_code == 303
    assert f'action="/requests/{filed.id}/unfollow"' in web.get(f"/requests/{filed.id}").text
    comment(session, filed, people.worker, "News")
    assert "News" in web.get("/inbox").text
    web.post(f"/requests/{filed.id}/unfollow")
    session.expire_all()
    choice = session.get(RequestFollow, (filed.id, people.teammate.id))
    assert choice is not None and not choice.following


def test_the_follow_button_says_what_reaches_the_inbox(web: WebClient, session, people, filed):
    """Moves reach the requester and those who chose to follow, not those who follow for
    having worked on the request (app.rules.inbox): the page says which."""
    comment(session, filed, people.worker, "On it")
    web.login(people.worker)
    assert "its comments reach your inbox" in web.get(f"/requests/{filed.id}").text
    web.login(people.teammate)
    assert ("Follow this request to see its comments and moves in your inbox"
            in web.get(f"/requests/{filed.id}").text)
    web.post(f"/requests/{filed.id}/follow")
    assert "its comments and moves reach your inbox" in web.get(f"/requests/{filed.id}").text
    web.login(people.requester)
    assert "its comments and moves reach your inbox" in web.get(f"/requests/{filed.id}").text


def test_the_requester_follows_already(web: WebClient, people, filed):
    web.login(people.requester)
    assert f'action="/requests/{filed.id}/unfollow"' in web.get(f"/requests/{filed.id}").text


@pytest.mark.parametrize("who", ["other_team", "admin", "outsider"])
def test_someone_who_cannot_see_a_request_cannot_follow_it(web: WebClient, session, people,
                                                          filed, who):
    web.login(getattr(people, who))
    assert web.post(f"/requests/{filed.id}/follow").status_code == 404
    assert session.exec(select(RequestFollow)).all() == []


def test_a_mention_of_someone_who_cannot_see_is_refused_next_to_the_box(web: WebClient,
                                                                        session, people,
                                                                        filed):
    web.login(people.worker)
    body = f"@{people.other_team.email} can you help?"
    response = web.post(f"/requests/{filed.id}/comments", {"body": body})
    assert response.status_code == 422
    error = re.search(r'<p class="field-error" id="comment-body-error">(.*?)</p>',
                      response.text)
    assert error and "Hank Hr cannot see this request" in error.group(1)
    assert body in response.text  # the text is kept
    assert session.exec(select(TimelineEvent).where(TimelineEvent.kind == "comment")).all() == []


def test_a_refused_internal_note_stays_an_internal_note(web: WebClient, session, people,
                                                        filed):
    web.login(people.worker)
    response = web.post(f"/requests/{filed.id}/comments",
                        {"body": f"@{people.requester.email} hm", "internal": "true"})
    assert response.status_code == 422 and "cannot see internal notes" in response.text
    assert re.search(r'name="internal" value="true" checked', response.text)


def test_the_comment_box_asks_for_suggestions(web: WebClient, people, filed):
    web.login(people.worker)
    page = web.get(f"/requests/{filed.id}").text
    assert f'data-mentions="/requests/{filed.id}/mentionable"' in page
    assert "/static/mentions.js" in page
    options = web.get(f"/requests/{filed.id}/mentionable?q=tom").text
    assert people.teammate.email in options


def test_a_refused_form_shown_as_a_whole_page_has_the_bell_s_count(
        web: WebClient, session, people, filed):
    comment(session, filed, people.worker, "One")
    comment(session, filed, people.worker, "Two")
    web.login(people.requester)
    refused = web.post(f"/requests/{filed.id}/cancel", {"reason": ""})
    assert refused.status_code == 422
    assert bell(refused.text) == "2"


def test_a_post_answered_with_a_fragment_reads_no_bell(web: WebClient, session, make,
                                                       people):
    service = make.service(name="Badge", steps=[("it", "task")])
    task = make.tasks(make.request(service, people.requester, {"summary": "Lost"}))[0]
    web.login(people.worker)
    claimed, sent = with_statements(
        session, lambda: web.post(f"/tasks/{task.id}/claim", {"view": "queue"}, htmx=True))
    assert claimed.status_code == 200 and sent
    assert not [statement for statement in sent if "inbox_item" in statement]


def test_an_htmx_get_of_a_whole_page_reads_no_bell(web: WebClient, session, people, filed):
    """The admin's people search asks for the whole page and keeps a part of it
    (hx-select): the bell is not drawn there, so its count is not read."""
    web.login(people.admin)
    found, sent = with_statements(session, lambda: web.get("/admin/people?q=rita", htmx=True))
    assert found.status_code == 200 and "Rita Requester" in found.text
    assert not [statement for statement in sent if "inbox_item" in statement]
