"""My requests, the request page per role, comments, notes and cancelling."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, select

from app.rules.requests import cancel_request
from app.rules.tasks import complete_task
from app.storage.clock import frozen_at
from app.storage.models import ServiceRequest, Task, TimelineEvent, User
from tests.factories import Factory
from tests.web import WebClient, text_of


@dataclass
class People:
    requester: User
    outsider: User
    worker: User
    teammate: User
    other_team: User
    manager: User


@pytest.fixture
def people(make: Factory) -> People:
    make.team("it", "Workplace IT")
    make.team("facilities", "Facilities")
    make.team("hr", "People Operations")
    return People(
        requester=make.user("Rita Requester"),
        outsider=make.user("Otto Outsider"),
        worker=make.user("Wendy Worker", teams=("it",)),
        teammate=make.user("Tom Teammate", teams=("it",)),
        other_team=make.user("Hank Hr", teams=("hr",)),
        manager=make.user("Maria Manager", manager=True),
    )


@pytest.fixture
def filed(make: Factory, people: People) -> ServiceRequest:
    service = make.service(name="New laptop", steps=[("it", "task"), ("facilities", "task")])
    return make.request(service, people.requester, {"summary": "A light one"})


def events(session: Session, request: ServiceRequest, kind: str) -> list[TimelineEvent]:
    return list(session.exec(
        select(TimelineEvent).where(TimelineEvent.request_id == request.id,
                                    TimelineEvent.kind == kind)
        .order_by(col(TimelineEvent.id))
    ))


def task_states(make: Factory, request: ServiceRequest) -> list[str]:
    return [task.state for task in make.tasks(request)]


def state_of(session: Session, request: ServiceRequest) -> str:
    session.expire_all()
    found = session.get(ServiceRequest, request.id)
    assert found is not None
    return found.state


def field_error(html: str, field_id: str) -> str:
    match = re.search(rf'<p class="field-error" id="{field_id}-error">(.*?)</p>', html)
    return match.group(1) if match else ""


# --- my requests ---------------------------------------------------------------------


def line_of(html: str, request: ServiceRequest) -> str:
    """One request's line of the "my requests" list."""
    start = html.index(f"<strong>{request.number}</strong>")
    end = html.find('<li class="request-line">', start)
    return html[start:end if end != -1 else len(html)]


def test_my_requests_lists_only_my_own_newest_first_with_state_and_progress(
    web: WebClient, make: Factory, people: People, session
):
    service = make.service(name="New laptop", steps=[("it", "task"), ("facilities", "task")])
    older = make.request(service, people.requester, {"summary": "Older"})
    newer = make.request(service, people.requester, {"summary": "Newer"})
    theirs = make.request(service, people.outsider, {"summary": "Not mine"})
    complete_task(session, task=make.tasks(older)[0], by=people.worker)
    web.login(people.requester)
    response = web.get("/requests")
    assert response.status_code == 200
    html = response.text
    assert f"<strong>{theirs.number}</strong>" not in html and "Not mine" not in html
    assert html.index(f"<strong>{newer.number}</strong>") < html.index(
        f"<strong>{older.number}</strong>")
    older_line = line_of(html, older)
    assert 'aria-label="Steps: 1 of 2 finished"' in older_line
    assert re.findall(r'class="seg state-(\w+)"', older_line) == ["done", "open"]
    assert 'class="badge state-open"' in older_line
    assert "Now: Step 2 (Facilities, open)" in text_of(response)
    assert re.findall(r'class="seg state-(\w+)"', line_of(html, newer)) == ["open", "waiting"]


def test_the_state_filter_shows_only_requests_in_that_state(
    web: WebClient, make: Factory, people: People, session
):
    service = make.service(name="New laptop")
    still_open = make.request(service, people.requester, {"summary": "Keep"})
    dropped = make.request(service, people.requester, {"summary": "Drop"})
    cancel_request(session, service_request=dropped, by=people.requester, reason="No need")
    web.login(people.requester)
    cancelled_page = web.get("/requests?state=cancelled").text
    assert f"<strong>{dropped.number}</strong>" in cancelled_page
    assert f"<strong>{still_open.number}</strong>" not in cancelled_page
    assert '<option value="cancelled" selected>' in cancelled_page
    open_page = web.get("/requests?state=open").text
    assert f"<strong>{still_open.number}</strong>" in open_page
    assert f"<strong>{dropped.number}</strong>" not in open_page
    # An unknown state shows everything rather than failing.
    everything = web.get("/requests?state=bogus")
    assert everything.status_code == 200
    assert f"<strong>{dropped.number}</strong>" in everything.text
    assert f"<strong>{still_open.number}</strong>" in everything.text


def test_each_line_says_in_words_how_many_steps_are_done_and_which_step_is_now(
    web: WebClient, make: Factory, people: People, session
):
    service = make.service(name="New laptop", steps=[("it", "task"), ("facilities", "task")])
    filed = make.request(service, people.requester, {"summary": "Words"})
    complete_task(session, task=make.tasks(filed)[0], by=people.worker)
    web.login(people.requester)
    response = web.get("/requests")
    line = line_of(response.text, filed)
    assert '<span class="steps-done">1 of 2 steps done</span>' in line
    assert '<strong class="step-now">Step 2</strong>' in line
    assert 'class="legend"' not in response.text  # the words say it: no colour key


def test_a_request_of_one_step_says_step_not_steps(
    web: WebClient, make: Factory, people: People
):
    service = make.service(name="New laptop")
    filed = make.request(service, people.requester, {"summary": "One step"})
    web.login(people.requester)
    line = line_of(web.get("/requests").text, filed)
    assert '<span class="steps-done">0 of 1 step done</span>' in line


def test_my_requests_are_filtered_by_service_filing_dates_and_words_of_the_title(
    web: WebClient, make: Factory, people: People
):
    laptops = make.service(name="New laptop")
    desks = make.service(name="Desk move")
    with frozen_at(datetime(2026, 3, 2, 9, tzinfo=UTC)):
        march = make.request(laptops, people.requester, {"summary": "A 100% quiet laptop"})
    with frozen_at(datetime(2026, 5, 4, 9, tzinfo=UTC)):
        may = make.request(desks, people.requester, {"summary": "Desk by the window"})
    theirs = make.request(laptops, people.outsider, {"summary": "Not mine"})
    web.login(people.requester)

    def shown(query: str) -> set[str]:
        response = web.get(f"/requests?{query}")
        assert response.status_code == 200
        return set(re.findall(r"<strong>(REQ-\d+)</strong>", response.text)) - {theirs.number}

    assert shown(f"service={laptops.id}") == {march.number}
    assert shown("filed_from=2026-04-01") == {may.number}
    assert shown("filed_until=2026-03-02") == {march.number}  # both ends included
    assert shown("filed_from=2026-03-02&filed_until=2026-05-04") == {march.number, may.number}
    assert shown("q=WINDOW") == {may.number}  # any case
    assert shown("q=100%25") == {march.number}  # % is a character, not a wildcard
    assert shown("q=a%25laptop") == set()  # which a wildcard would match
    assert shown(f"q={march.number}") == {march.number}  # a number finds its request
    nothing = web.get("/requests?q=zebra").text
    assert "None of your requests matches these filters." in nothing
    assert '<a href="/requests">Show all my requests</a>' in nothing
    # The service filter offers the services the requester asked for, and the CSV and
    # the next page's link keep every filter.
    page = web.get(f"/requests?service={laptops.id}&q=quiet").text
    assert f'<option value="{laptops.id}" selected>New laptop</option>' in page
    assert f"/requests.csv?service={laptops.id}&amp;q=quiet" in page
    csv = web.get(f"/requests.csv?service={desks.id}").text
    assert may.number in csv and march.number not in csv


@pytest.mark.parametrize("query, field, message", [
    ("filed_from=2026-13-01", "filed_from", "Enter a real date as YYYY-MM-DD"),
    ("filed_until=yesterday", "filed_until", "Enter a real date as YYYY-MM-DD"),
    ("filed_from=2026-05-04&filed_until=2026-03-02", "filed_until",
     "The dates are the wrong way round: “Filed from” (2026-05-04) is after “until”"),
    ("q=" + "x" * 101, "q", "Use at most 100 characters"),
    ("q=" + "x" * 5000, "q", "Use at most 100 characters"),
])
def test_a_wrong_filter_is_said_by_its_input_and_the_others_still_apply(
    web: WebClient, make: Factory, people: People, query: str, field: str, message: str
):
    filed = make.request(make.service(name="New laptop"), people.requester, {"summary": "Kept"})
    web.login(people.requester)
    for htmx in (False, True):
        response = web.get(f"/requests?{query}", htmx=htmx)
        assert response.status_code == 422
        said = re.search(rf'id="mine-{field}-error"[^>]*>(.*?)</p>', response.text)
        assert said and message in said.group(1)
        assert f"<strong>{filed.number}</strong>" in response.text
    # htmx: the list, with every input's message out of band (an empty one clears it).
    assert 'hx-swap-oob="true"' in response.text and "<form" not in response.text


# --- the request page, per role ------------------------------------------------------------


@pytest.mark.parametrize("who, status", [
    ("requester", 200), ("outsider", 404), ("worker", 200), ("other_team", 404),
    ("manager", 200),
])
def test_the_request_page_is_shown_only_to_who_may_see_it(
    web: WebClient, people: People, filed: ServiceRequest, who: str, status: int
):
    web.login(getattr(people, who))
    response = web.get(f"/requests/{filed.id}")
    assert response.status_code == status
    page = text_of(response)
    if status == 200:
        assert f"{filed.number} New laptop: A light one" in page
        assert "asked by Rita Requester" in page
    else:
        assert "A light one" not in page
        assert "There is no such request, or it is not yours to see." in page


def test_an_unknown_request_is_a_404(web: WebClient, people: People):
    web.login(people.manager)
    response = web.get("/requests/999999")
    assert response.status_code == 404
    assert "There is no such request" in text_of(response)


@pytest.mark.parametrize("method, url", [
    ("GET", "/requests/abc"), ("GET", "/requests/1.5"), ("GET", "/requests/2147483648"),
    ("GET", "/requests/99999999999999999999999"),
    ("POST", "/requests/99999999999999999999999/comments"),
    ("GET", "/attachments/abc"), ("GET", "/attachments/99999999999999999999999"),
    ("POST", "/tasks/99999999999999999999999/claim"),
])
def test_an_address_with_an_id_that_cannot_exist_is_not_found_never_a_500(
    web: WebClient, people: People, method: str, url: str
):
    web.login(people.worker)
    response = web.post(url, {"body": "x"}) if method == "POST" else web.get(url)
    assert response.status_code == 404
    assert "There is nothing here" in text_of(response)


def test_a_team_member_sees_the_task_actions_of_their_team_only(
    web: WebClient, people: People, filed: ServiceRequest, make: Factory
):
    first, second = make.tasks(filed)
    web.login(people.worker)
    html = web.get(f"/requests/{filed.id}").text
    assert f'formaction="/tasks/{first.id}/claim"' in html
    assert f"/tasks/{second.id}/" not in html
    web.login(people.manager)
    assert "/tasks/" not in web.get(f"/requests/{filed.id}").text


# --- comments and internal notes ------------------------------------------------------


def test_the_requester_can_comment_and_it_appears_in_the_timeline(
    web: WebClient, people: People, filed: ServiceRequest, session
):
    web.login(people.requester)
    response = web.post(f"/requests/{filed.id}/comments", {"body": "Any news?"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/requests/{filed.id}#timeline"
    [comment] = events(session, filed, "comment")
    assert (comment.note, comment.actor_id, comment.is_internal) == (
        "Any news?", people.requester.id, False)
    timeline = web.get(f"/requests/{filed.id}").text.split('id="timeline"')[1]
    assert "Rita Requester" in timeline and "Any news?" in timeline
    web.login(people.worker)
    assert "Any news?" in web.get(f"/requests/{filed.id}").text


def test_an_internal_note_is_seen_by_teams_and_managers_but_never_the_requester(
    web: WebClient, people: People, filed: ServiceRequest, session
):
    web.login(people.worker)
    response = web.post(f"/requests/{filed.id}/comments",
                        {"body": "Budget is tight here", "internal": "true"})
    assert response.status_code == 303
    [note] = events(session, filed, "note")
    assert note.is_internal and note.note == "Budget is tight here"
    for viewer in (people.worker, people.teammate, people.manager):
        web.login(viewer)
        page = web.get(f"/requests/{filed.id}").text
        assert "Budget is tight here" in page
        assert "added an internal note" in text_of_page(page)
    web.login(people.requester)
    page = web.get(f"/requests/{filed.id}").text
    assert "Budget is tight here" not in page
    assert "internal note" not in page.lower()


def text_of_page(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_requester_cannot_post_an_internal_note(
    web: WebClient, people: People, filed: ServiceRequest, session
):
    web.login(people.requester)
    page = web.get(f"/requests/{filed.id}").text
    assert 'name="internal"' not in page
    response = web.post(f"/requests/{filed.id}/comments",
                        {"body": "Psst, secret", "internal": "true"})
    assert response.status_code == 403
    assert events(session, filed, "note") == []
    assert events(session, filed, "comment") == []


def test_a_requester_on_a_team_of_the_request_cannot_hide_a_note_from_themself(
    web: WebClient, make: Factory, people: People, session
):
    service = make.service(name="Fix my own laptop", steps=[("it", "task")])
    own = make.request(service, people.worker, {"summary": "Mine"})
    web.login(people.worker)
    assert 'name="internal"' not in web.get(f"/requests/{own.id}").text
    response = web.post(f"/requests/{own.id}/comments",
                        {"body": "Only for the team", "internal": "true"})
    assert response.status_code == 403
    assert events(session, own, "note") == []


def test_a_manager_off_the_request_comments_but_writes_no_internal_note(
    web: WebClient, people: People, filed: ServiceRequest, session
):
    web.login(people.manager)
    page = web.get(f"/requests/{filed.id}").text
    assert f'action="/requests/{filed.id}/comments"' in page
    assert 'name="internal"' not in page
    response = web.post(f"/requests/{filed.id}/comments",
                        {"body": "Hurry up", "internal": "true"})
    assert response.status_code == 403
    assert events(session, filed, "note") == []
    response = web.post(f"/requests/{filed.id}/comments", {"body": "Hurry up"})
    assert response.status_code == 303
    assert [event.note for event in events(session, filed, "comment")] == ["Hurry up"]


def test_an_empty_comment_is_refused_with_the_message_next_to_the_box(
    web: WebClient, people: People, filed: ServiceRequest, session
):
    web.login(people.requester)
    response = web.post(f"/requests/{filed.id}/comments", {"body": "   \n "})
    assert response.status_code == 422
    assert field_error(response.text, "comment-body") == "Write something first."
    assert 'aria-describedby="comment-body-help comment-body-error"' in response.text
    assert events(session, filed, "comment") == []


# --- cancelling -------------------------------------------------------------------------


def test_the_requester_cancels_with_a_reason(
    web: WebClient, people: People, filed: ServiceRequest, make: Factory, session
):
    web.login(people.requester)
    response = web.post(f"/requests/{filed.id}/cancel", {"reason": "Found a spare one"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/requests/{filed.id}"
    assert state_of(session, filed) == "cancelled"
    assert task_states(make, filed) == ["cancelled", "cancelled"]
    page = web.get(f"/requests/{filed.id}")
    timeline = text_of_page(page.text.split('id="timeline"')[1])
    assert "Rita Requester cancelled the request" in timeline
    assert "Found a spare one" in timeline
    assert f'action="/requests/{filed.id}/cancel"' not in page.text


def test_cancelling_without_a_reason_changes_nothing(
    web: WebClient, people: People, filed: ServiceRequest, make: Factory, session
):
    web.login(people.requester)
    response = web.post(f"/requests/{filed.id}/cancel", {"reason": "  "})
    assert response.status_code == 422
    assert field_error(response.text, "cancel-reason") == (
        "Say why you cancel it: the teams will read this.")
    assert '<details class="cancel" open>' in response.text
    assert state_of(session, filed) == "open"
    assert task_states(make, filed) == ["open", "waiting"]
    assert events(session, filed, "request_cancelled") == []


@pytest.mark.parametrize("who, status", [
    ("outsider", 404), ("worker", 403), ("manager", 403),
])
def test_no_one_but_the_requester_can_cancel(
    web: WebClient, people: People, filed: ServiceRequest, make: Factory, session,
    who: str, status: int
):
    web.login(getattr(people, who))
    response = web.post(f"/requests/{filed.id}/cancel", {"reason": "I say so"})
    assert response.status_code == status
    assert state_of(session, filed) == "open"
    assert task_states(make, filed) == ["open", "waiting"]
    assert events(session, filed, "request_cancelled") == []


def test_cancelling_a_closed_request_is_a_conflict_that_says_why(
    web: WebClient, people: People, filed: ServiceRequest, session
):
    cancel_request(session, service_request=filed, by=people.requester, reason="First")
    web.login(people.requester)
    response = web.post(f"/requests/{filed.id}/cancel", {"reason": "Again"})
    assert response.status_code == 409
    assert "This request is already cancelled." in text_of(response)
    assert [e.note for e in events(session, filed, "request_cancelled")] == ["First"]


# --- task actions from the request page -------------------------------------------------


def test_a_plain_form_task_action_redirects_back_to_the_request_page(
    web: WebClient, people: People, filed: ServiceRequest, make: Factory, session
):
    first = make.tasks(filed)[0]
    web.login(people.worker)
    response = web.post(f"/tasks/{first.id}/claim", {"back": f"/requests/{filed.id}"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/requests/{filed.id}"
    session.expire_all()
    claimed = session.get(Task, first.id)
    assert claimed is not None
    assert (claimed.state, claimed.assignee_id) == ("claimed", people.worker.id)
    page = text_of(web.get(response.headers["location"]))
    assert "Workplace IT · Wendy Worker" in page
    evil = web.post(f"/tasks/{first.id}/complete", {"back": "//evil.example"})
    assert evil.status_code == 303
    assert evil.headers["location"] == "/"
