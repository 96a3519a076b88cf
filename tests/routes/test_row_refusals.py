"""A refused task row says its refusal in its message; only a box that was wrong is
marked invalid (aria-invalid, described by the message): a reject without a reason marks
the reason box, a claim someone else won marks nothing (issue 14 review, item 3)."""

import re

import pytest

from app.rules.tasks import claim_task
from app.rules.teams import add_member
from app.storage.models import Task


@pytest.fixture
def desk(make, session):  # type: ignore[no-untyped-def]
    class Desk:
        approval = make.service(slug="approval", steps=[("approvers", "approval")])
        laptop = make.service(slug="laptop", steps=[("it", "task")])
        dana = make.user("Dana", teams=("approvers",))
        dora = make.user("Dora", teams=("approvers",))
        ivan = make.user("Ivan", teams=("it",))
        iris = make.user("Iris", teams=("it",))
        rita = make.user("Rita")
    # Leads: their rows carry the Assign box too, one more box a refusal must not mark.
    add_member(session, team=make.team("approvers"), user=Desk.dana, lead=True)
    add_member(session, team=make.team("it"), user=Desk.ivan, lead=True)
    session.flush()
    return Desk


def first_task(make, service, requester) -> Task:  # type: ignore[no-untyped-def]
    return make.tasks(make.request(service, requester, {"summary": "Needs a yes"}))[0]


def invalid_boxes(html: str) -> list[str]:
    return [m.group(1) for m in re.finditer(
        r'<(?:input|textarea)[^>]*id="([^"]+)"[^>]*aria-invalid="true"', html)]


def test_a_reject_without_a_reason_marks_only_the_reason_box(web, make, desk):
    # An approval is decided in the task's panel, beside its answers (issue 16).
    task = first_task(make, desk.approval, desk.rita)
    response = web.login(desk.dana).post(f"/tasks/{task.id}/reject",
                                         {"note": " ", "view": "queue-panel"}, htmx=True)
    assert response.status_code == 422
    assert f'id="panel-{task.id}-error">Say why you reject it' in response.text
    assert invalid_boxes(response.text) == [f"note-{task.id}"]
    assert f'aria-describedby="panel-{task.id}-error"' in response.text
    assert f'id="assign-{task.id}"' in response.text  # there, and not marked


def test_a_claim_someone_else_won_marks_no_box(web, session, make, desk):
    task = first_task(make, desk.laptop, desk.rita)
    claim_task(session, task=task, by=desk.iris)
    response = web.login(desk.ivan).post(f"/tasks/{task.id}/claim", {"view": "queue"},
                                         htmx=True)
    assert response.status_code == 409
    assert "Iris has already claimed this task." in response.text
    assert 'class="task-row state-claimed has-error"' in response.text
    assert invalid_boxes(response.text) == []
    # The same refusal in the panel, where the Assign and Hand to boxes are: none marked.
    claimed = web.post(f"/tasks/{task.id}/claim", {"view": "queue-panel"}, htmx=True)
    assert claimed.status_code == 409
    assert f'id="assign-{task.id}"' in claimed.text and f'id="hand-{task.id}"' in claimed.text
    assert invalid_boxes(claimed.text) == []
