"""A task's detail panel (issue 16): who may open it, what it shows each of them, and
that its actions answer with it again (htmx) or come back to it (a plain post)."""

import pytest

from app.rules.requests import add_comment
from app.rules.tasks import claim_task
from tests.routes import test_queues
from tests.web import text_of

desk = test_queues.desk  # the queue tests' people and service, as a fixture here too


@pytest.fixture
def task(session, make, desk):  # type: ignore[no-untyped-def]
    """IT then HR for Rita's "New laptop" (Ivan in IT, Hana in HR), with a note of IT's."""
    desk.mona = make.user("Mona", manager=True)
    desk.otto = make.user("Otto")
    filed = make.request(desk.laptop, desk.rita, {"summary": "Berlin office chair"})
    add_comment(session, service_request=filed, by=desk.ivan, body="Over budget, quietly",
                internal=True, is_team_member=True)
    return make.tasks(filed)[0]


@pytest.mark.parametrize("who, status, acts, internal", [
    ("ivan", 200, True, True),     # on the task's team: everything, and the actions
    ("hana", 200, False, True),    # on another team of the request: sees it, acts not
    ("mona", 200, False, True),    # a manager: as the request page shows it to them
    ("rita", 200, False, False),   # the requester: never the internal note
    ("otto", 404, False, False),   # anyone else: no such task
])
def test_the_panel_shows_each_role_what_the_request_page_would(web, desk, task, who, status,
                                                                acts, internal):
    response = web.login(getattr(desk, who)).get(f"/tasks/{task.id}?view=queue", htmx=True)
    assert response.status_code == status
    if status != 200:
        assert "Berlin office chair" not in response.text
        return
    assert response.text.lstrip().startswith('<aside id="task-panel"')  # the panel alone
    page = text_of(response)
    assert "Answers" in page and "Berlin office chair" in page  # the answers
    assert "Steps" in page and "Timeline" in page and "asked for this" in page
    assert ("Over budget, quietly" in page) is internal
    assert (f'hx-post="/tasks/{task.id}/complete"' in response.text) is acts
    assert ('name="csrf_token"' in response.text) is acts


def test_a_missing_task_is_a_404(web, desk):
    assert web.login(desk.ivan).get("/tasks/999999").status_code == 404


def test_without_javascript_the_panel_is_a_page_that_its_actions_come_back_to(
    web, session, desk, task
):
    page = web.login(desk.ivan).get(f"/tasks/{task.id}?view=queue")
    assert page.status_code == 200 and "<html" in page.text
    assert 'href="/queues/it"' in page.text  # back to the list it was opened from
    assert f'name="back" value="/tasks/{task.id}?view=queue"' in page.text
    done = web.post(f"/tasks/{task.id}/claim", {"view": "queue-panel",
                                                "back": f"/tasks/{task.id}?view=queue"})
    assert done.status_code == 303 and done.headers["location"] == f"/tasks/{task.id}?view=queue"
    forged = web.post(f"/tasks/{task.id}/release", {"view": "queue-panel", "csrf_token": "x"},
                      csrf=False)
    assert forged.status_code == 403
    session.refresh(task)
    assert task.state == "claimed"


def test_an_action_in_the_panel_answers_with_the_panel_and_the_row(web, session, desk, task):
    claim_task(session, task=task, by=desk.ivan)
    response = web.login(desk.ivan).post(
        f"/tasks/{task.id}/complete", {"note": "Delivered to desk 4", "view": "mywork-panel"},
        htmx=True)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "task-changed"
    assert "Done." in text_of(response) and "Delivered to desk 4" in text_of(response)
    # My work's row, out of band: no bulk box (that is the queue's), the team named.
    row = response.text.split("<template>", 1)[1]
    assert f'<tr id="task-{task.id}" hx-swap-oob="true"' in row
    assert "bulk-pick" not in row and "state-done" in row


def _kept_note(response) -> str:  # type: ignore[no-untyped-def]
    """The panel's "not sent" block, or "" when there is none."""
    html = response.text
    if "kept-note" not in html:
        return ""
    return html[html.index("kept-note"):].split("</div>", 1)[0]


def test_a_note_typed_before_claim_or_release_stays_in_the_box(web, session, desk, task):
    browser = web.login(desk.ivan)
    claimed = browser.post(f"/tasks/{task.id}/claim",
                           {"note": "Chair is in room 2", "view": "queue-panel"}, htmx=True)
    assert claimed.status_code == 200 and "You claimed this task." in text_of(claimed)
    assert ">Chair is in room 2</textarea>" in claimed.text and not _kept_note(claimed)
    released = browser.post(f"/tasks/{task.id}/release",
                            {"note": "Chair is in room 2", "view": "queue-panel"}, htmx=True)
    assert ">Chair is in room 2</textarea>" in released.text and not _kept_note(released)


def test_a_note_typed_before_handing_the_task_on_is_shown_not_sent_not_lost(
        web, session, desk, task):
    claim_task(session, task=task, by=desk.ivan)
    handed = web.login(desk.ivan).post(
        f"/tasks/{task.id}/hand",
        {"to": desk.iris.email, "note": "Chair <b>is</b> in room 2", "view": "queue-panel"},
        htmx=True)
    assert handed.status_code == 200 and "Handed to Iris." in text_of(handed)
    kept = _kept_note(handed)
    assert "Your note was not sent" in kept
    assert "Chair &lt;b&gt;is&lt;/b&gt; in room 2" in kept  # escaped, as typed
    session.refresh(task)
    assert task.assignee_id == desk.iris.id


def test_a_refused_completion_keeps_its_note_where_the_box_is_gone(web, session, desk, task):
    claim_task(session, task=task, by=desk.iris)  # Ivan's panel still offered Complete
    refused = web.login(desk.ivan).post(
        f"/tasks/{task.id}/complete", {"note": "Delivered to desk 4", "view": "queue-panel"},
        htmx=True)
    assert refused.status_code == 409
    assert "Delivered to desk 4" in _kept_note(refused)


def test_a_sent_note_is_not_shown_as_kept(web, session, desk, task):
    claim_task(session, task=task, by=desk.ivan)
    done = web.login(desk.ivan).post(
        f"/tasks/{task.id}/complete", {"note": "Delivered to desk 4", "view": "queue-panel"},
        htmx=True)
    assert done.status_code == 200 and not _kept_note(done)


def test_an_action_on_the_panel_s_own_page_sends_no_row_to_a_list_that_is_not_there(
        web, session, desk, task):
    claim_task(session, task=task, by=desk.ivan)
    response = web.login(desk.ivan).post(
        f"/tasks/{task.id}/complete", {"view": "queue-panel"}, htmx=True,
        headers={"HX-Current-URL": f"http://testserver/tasks/{task.id}?view=queue"})
    assert response.status_code == 200 and "Done." in text_of(response)
    assert "hx-swap-oob" not in response.text


def test_a_long_note_in_the_box_never_refuses_an_action_that_does_not_send_it(
        web, session, desk, task):
    typed = "x" * 10_001  # over what a sent note may be
    claimed = web.login(desk.ivan).post(
        f"/tasks/{task.id}/claim", {"note": typed, "view": "queue-panel"}, htmx=True)
    assert claimed.status_code == 200 and f">{typed}</textarea>" in claimed.text
    session.refresh(task)
    assert task.assignee_id == desk.ivan.id


def test_a_note_of_spaces_is_not_shown_as_kept(web, session, desk, task):
    claim_task(session, task=task, by=desk.ivan)
    handed = web.login(desk.ivan).post(
        f"/tasks/{task.id}/hand", {"to": desk.iris.email, "note": "   ", "view": "queue-panel"},
        htmx=True)
    assert handed.status_code == 200 and not _kept_note(handed)
