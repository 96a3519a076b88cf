"""A task action's form fields (app.web.routes.task_actions' Form parameters): each within
its bound or a 400 that changes nothing, a field left out or empty takes its default, the
last of a field sent twice counts, and a file is no text."""

import pytest

from app.rules.tasks import claim_task
from app.storage.models import TaskState
from tests.routes import test_queues
from tests.web import text_of

desk = test_queues.desk


@pytest.fixture
def task(make, desk):  # type: ignore[no-untyped-def]
    return test_queues.first_task(make, desk.laptop, desk.rita)


@pytest.mark.parametrize("action, field, bound", [
    ("claim", "view", 20), ("claim", "back", 2000),
    ("hand", "to", 400), ("assign", "assign_to", 400),
    ("complete", "note", 10_000), ("complete", "view", 20),
])
def test_a_field_over_its_bound_is_a_400_that_changes_nothing(
        web, session, desk, task, action, field, bound):
    if action in ("hand", "complete"):
        claim_task(session, task=task, by=desk.ivan)
    before = (task.state, task.assignee_id)

    response = web.login(desk.ivan).post(f"/tasks/{task.id}/{action}",
                                         {field: "x" * (bound + 1)}, htmx=True)

    assert response.status_code == 400
    assert "not understood" in text_of(response) and field in text_of(response)
    session.refresh(task)
    assert (task.state, task.assignee_id) == before


def test_a_field_at_its_bound_is_taken(web, session, desk, task):
    claim_task(session, task=task, by=desk.ivan)
    web.login(desk.ivan)

    # The form takes a note of 10,000 characters; the rule, 5,000: its own answer, beside
    # the note box, not the form's 400.
    too_long = web.post(f"/tasks/{task.id}/complete", {"note": "n" * 10_000, "view": "v" * 20},
                        htmx=True)
    done = web.post(f"/tasks/{task.id}/complete", {"note": "n" * 5000, "back": "/" + "b" * 1999},
                    htmx=True)

    assert too_long.status_code == 422 and "at most 5000 characters" in text_of(too_long)
    assert done.status_code == 200 and "Done." in text_of(done)
    session.refresh(task)
    assert task.state == TaskState.done


def test_a_note_never_sent_with_a_claim_is_bounded_only_by_the_body(web, session, desk, task):
    claimed = web.login(desk.ivan).post(f"/tasks/{task.id}/claim", {"note": "x" * 20_000},
                                        htmx=True)

    assert claimed.status_code == 200
    session.refresh(task)
    assert task.assignee_id == desk.ivan.id


def test_a_view_left_out_or_empty_is_the_queue_s(web, session, desk, task):
    web.login(desk.ivan)
    queue_row = web.post(f"/tasks/{task.id}/claim", {}, htmx=True)
    web.post(f"/tasks/{task.id}/release", {"view": ""}, htmx=True)
    again = web.post(f"/tasks/{task.id}/claim", {"view": ""}, htmx=True)
    panel = web.post(f"/tasks/{task.id}/release", {"view": "queue-panel"}, htmx=True)

    assert queue_row.status_code == again.status_code == panel.status_code == 200
    assert queue_row.text.startswith("<tr") and again.text.startswith("<tr")
    assert not panel.text.startswith("<tr")


def test_the_last_of_a_field_sent_twice_counts(web, session, desk, task):
    claim_task(session, task=task, by=desk.ivan)

    handed = web.login(desk.ivan).post(
        f"/tasks/{task.id}/hand", content=f"to=nobody&to={desk.iris.email}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true",
                 "X-CSRF-Token": web.csrf_token})

    assert handed.status_code == 200 and "Handed to Iris" in text_of(handed)


def test_a_file_where_a_field_s_text_was_expected_is_a_400(web, session, desk, task):
    response = web.login(desk.ivan).post(
        f"/tasks/{task.id}/claim", {}, htmx=True, files={"view": ("v.txt", b"queue")})

    assert response.status_code == 400
    session.refresh(task)
    assert task.state == TaskState.open
