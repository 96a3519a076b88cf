"""Bulk actions in a queue (issue 14, item 7), per role: claim, release, hand and complete
several tasks at once, each with its own timeline event; a task that changed meanwhile
is reported for its row while the others succeed; the bound on a batch; CSRF."""

import json
import re

import pytest
from sqlmodel import col, select

from app.rules.bulk import MAX_BULK_TASKS
from app.rules.tasks import claim_task
from app.storage.models import EventKind, Task, TaskState, TimelineEvent
from tests.web import text_of


@pytest.fixture
def desk(make):  # type: ignore[no-untyped-def]
    class Desk:
        laptop = make.service(slug="laptop", steps=[("it", "task"), ("hr", "task")])
        ivan = make.user("Ivan", teams=("it",))
        iris = make.user("Iris", teams=("it",))
        hana = make.user("Hana", teams=("hr",))
        rita = make.user("Rita")
        mona = make.user("Mona", manager=True)
    return Desk


@pytest.fixture
def tasks(make, desk) -> list[Task]:  # type: ignore[no-untyped-def]
    return [make.tasks(make.request(desk.laptop, desk.rita, {"summary": f"Laptop {n}"}))[0]
            for n in range(5)]


def bulk(web, action, tasks, **extra):  # type: ignore[no-untyped-def]
    return web.post("/queues/it/bulk", {"action": action, "task": [t.id for t in tasks],
                                        **extra}, htmx=True)


def events(session, task, kind):  # type: ignore[no-untyped-def]
    return session.exec(select(TimelineEvent).where(
        TimelineEvent.task_id == task.id, TimelineEvent.kind == kind)).all()


def fresh(session, task):  # type: ignore[no-untyped-def]
    return session.exec(select(Task).where(col(Task.id) == task.id)
                        .execution_options(populate_existing=True)).one()


def test_a_member_claims_the_selected_tasks_each_with_its_own_event(web, session, desk, tasks):
    response = bulk(web.login(desk.ivan), "claim", tasks[:3])
    assert response.status_code == 200
    assert "3 of 3 selected tasks claimed." in text_of(response)
    assert response.headers["HX-Trigger"] == "task-changed"
    for task in tasks[:3]:
        assert fresh(session, task).assignee_id == desk.ivan.id
        assert len(events(session, task, EventKind.claimed)) == 1
        # Each row comes back, swapped in place with its outcome.
        assert f'<tr id="task-{task.id}" hx-swap-oob="true"' in response.text
    assert fresh(session, tasks[3]).state == TaskState.open


def test_a_task_someone_else_claimed_meanwhile_is_reported_and_the_others_succeed(
    web, session, desk, tasks
):
    claim_task(session, task=tasks[1], by=desk.iris)
    response = bulk(web.login(desk.ivan), "claim", tasks[:3])
    assert response.status_code == 200
    text = text_of(response)
    assert "2 of 3 selected tasks claimed." in text
    assert f"REQ-{tasks[1].request_id} Step 1: Iris has already claimed this task." in text
    assert fresh(session, tasks[1]).assignee_id == desk.iris.id
    assert fresh(session, tasks[0]).assignee_id == desk.ivan.id
    assert fresh(session, tasks[2]).assignee_id == desk.ivan.id
    row = re.search(rf'<tr id="task-{tasks[1].id}".*?</tr>', response.text, re.S)
    assert row and "Iris has already claimed this task." in row.group(0)


def test_release_hand_and_complete_in_bulk(web, session, desk, tasks):
    web.login(desk.ivan)
    bulk(web, "claim", tasks)
    assert "2 of 2 selected tasks released." in text_of(bulk(web, "release", tasks[:2]))
    assert fresh(session, tasks[0]).state == TaskState.open
    response = bulk(web, "hand", tasks[2:4], to=desk.iris.email)
    assert "2 of 2 selected tasks handed to Iris." in text_of(response)
    assert fresh(session, tasks[2]).assignee_id == desk.iris.id
    assert len(events(session, tasks[3], EventKind.handed)) == 1
    response = bulk(web, "complete", [tasks[0], tasks[4]])
    assert "2 of 2 selected tasks completed." in text_of(response)
    assert fresh(session, tasks[0]).state == TaskState.done
    assert len(events(session, tasks[4], EventKind.completed)) == 1


def test_handing_needs_a_teammate(web, session, desk, tasks):
    web.login(desk.ivan)
    bulk(web, "claim", tasks[:2])
    assert bulk(web, "hand", tasks[:2]).status_code == 422
    assert bulk(web, "hand", tasks[:2], to="nobody@example.com").status_code == 422
    # Someone outside the team: one refusal by the box, before any task is touched,
    # not the rule's refusal once per task.
    response = bulk(web, "hand", tasks[:2], to=desk.hana.email)
    assert response.status_code == 422
    assert text_of(response) == ("Hana is not an active member of this team: "
                                 "pick a teammate to hand the tasks to.")
    assert 'data-invalid="bulk-to"' in response.text and "handed to" not in response.text
    assert all(fresh(session, task).assignee_id == desk.ivan.id for task in tasks[:2])
    assert all(len(events(session, task, EventKind.handed)) == 0 for task in tasks[:2])


def test_a_refusal_of_the_whole_action_is_the_bars_report_not_a_toast(web, desk, tasks):
    """htmx swaps a 422 (base.html): the report replaces the bar's last one in place."""
    web.login(desk.ivan)
    for response, message, field in (
        (bulk(web, "claim", []), "Select the tasks to act on first.", False),
        (bulk(web, "hand", tasks[:1], to="Olga"),
         "No active person matches that: pick a teammate from the suggestions.", True),
        (bulk(web, "hand", tasks[:1]), "Pick a teammate to hand the tasks to.", True),
    ):
        assert response.status_code == 422
        assert "HX-Reswap" not in response.headers and "HX-Trigger" not in response.headers
        assert response.text.lstrip().startswith('<div id="bulk-report" class="bulk-report '
                                                 'has-error" role="alert"')
        assert text_of(response) == message
        assert ('data-invalid="bulk-to"' in response.text) is field
    # A plain form post gets the same words on a page with the way back.
    plain = web.post("/queues/it/bulk", {"action": "claim", "back": "/queues/it"})
    assert plain.status_code == 422
    assert "Select the tasks to act on first." in text_of(plain)
    assert 'href="/queues/it"' in plain.text


def test_the_bulk_hand_box_says_what_the_single_hand_box_says(web, session, make, desk, tasks):
    # One helper (app.web.teammate_input) reads the box for both routes, so their words
    # are the same: a bulk post and a task's own Hand get the same message for the same box.
    make.user("Iris", teams=("it",))
    web.login(desk.ivan)
    bulk(web, "claim", tasks[:2])
    for typed, message in (("", "Pick a teammate to hand the tasks to."),
                           ("nobody@example.com", "No active person matches that"),
                           ("Iris", "Several teammates have that name: use the e-mail")):
        response = bulk(web, "hand", tasks[:2], to=typed)
        single = web.post(f"/tasks/{tasks[0].id}/hand", {"to": typed}, htmx=True)
        assert (response.status_code, single.status_code) == (422, 422), typed
        # The bulk bar says it in its report (swapped), the row's Hand in the toast.
        assert message in text_of(response), typed
        if typed:
            said = json.loads(single.headers["HX-Trigger"])["baton-error"]["message"]
            assert text_of(response) == said
    assert fresh(session, tasks[0]).assignee_id == desk.ivan.id
    # The queue's team is the one the names are read in, whichever tasks were picked.
    hr_service = make.service(steps=[("hr", "task")])
    hr_task = make.tasks(make.request(hr_service, desk.rita))[0]
    response = bulk(web, "hand", [hr_task], to="Iris")
    assert response.status_code == 422
    assert "Several teammates have that name" in text_of(response)


@pytest.mark.parametrize("who", ["hana", "mona", "rita"])
def test_nobody_but_a_member_of_the_team_acts_on_its_queue(web, session, desk, tasks, who):
    response = bulk(web.login(getattr(desk, who)), "claim", tasks[:2])
    assert response.status_code == 403
    assert all(fresh(session, task).state == TaskState.open for task in tasks[:2])


def test_another_teams_tasks_posted_to_this_queue_are_left_alone(
    web, session, make, desk, tasks
):
    hr_service = make.service(steps=[("hr", "task")])
    hr_task = make.tasks(make.request(hr_service, desk.rita))[0]
    response = bulk(web.login(desk.ivan), "claim", [tasks[0], hr_task])
    assert "1 of 1 selected task claimed. 1 selected task is not in this queue." \
        in text_of(response)
    assert fresh(session, hr_task).state == TaskState.open


def test_a_batch_past_the_bound_is_refused_before_anything_is_done(web, session, desk, tasks):
    ids = [t.id for t in tasks] + list(range(10**6, 10**6 + MAX_BULK_TASKS))
    response = web.login(desk.ivan).post("/queues/it/bulk", {"action": "claim", "task": ids},
                                         htmx=True)
    assert response.status_code == 422
    assert f"at most {MAX_BULK_TASKS} tasks" in response.text
    assert fresh(session, tasks[0]).state == TaskState.open


def test_nothing_selected_or_an_unknown_action_is_refused(web, desk, tasks):
    web.login(desk.ivan)
    assert bulk(web, "claim", []).status_code == 422
    assert bulk(web, "delete", tasks[:1]).status_code in (400, 422)


def test_the_post_needs_the_csrf_token(web, session, desk, tasks):
    web.login(desk.ivan)
    response = web.post("/queues/it/bulk", {"action": "claim", "task": [tasks[0].id]},
                        htmx=True, csrf=False)
    assert response.status_code == 403
    assert fresh(session, tasks[0]).state == TaskState.open


def test_a_plain_form_post_gets_the_report_as_a_page(web, session, desk, tasks):
    response = web.login(desk.ivan).post(
        "/queues/it/bulk", {"action": "claim", "task": [tasks[0].id], "back": "/queues/it"})
    assert response.status_code == 200
    assert "1 of 1 selected task claimed." in text_of(response)
    assert 'href="/queues/it"' in response.text


def test_the_queue_offers_bulk_actions_to_members_only(web, desk, tasks):
    page = web.login(desk.ivan).get("/queues/it")
    assert 'id="bulk-form"' in page.text
    assert page.text.count('class="bulk-pick"') == len(tasks)
    page = web.login(desk.mona).get("/queues/it")
    assert page.status_code == 200
    assert 'id="bulk-form"' not in page.text and "bulk-pick" not in page.text
