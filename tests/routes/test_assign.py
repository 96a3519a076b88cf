"""A team's lead on stuck work (issue 14, item 8): a lead assigns an open task, or one
stuck with someone, to a member; recorded on the timeline as the lead's action. Per
role: a member who is not a lead, a manager, a requester and another team are refused."""

import pytest
from sqlmodel import select

from app.rules.errors import NotAllowed
from app.rules.tasks import assign_task, claim_task, complete_task
from app.rules.teams import add_member
from app.storage.models import EventKind, Task, TaskState, TimelineEvent
from tests.web import text_of


@pytest.fixture
def desk(make, session):  # type: ignore[no-untyped-def]
    class Desk:
        laptop = make.service(slug="laptop", steps=[("it", "task")])
        lena = make.user("Lena", teams=("it",))
        ivan = make.user("Ivan", teams=("it",))
        iris = make.user("Iris", teams=("it",))
        hana = make.user("Hana", teams=("hr",))
        rita = make.user("Rita")
        mona = make.user("Mona", manager=True)
    add_member(session, team=make.team("it"), user=Desk.lena, lead=True)
    session.flush()
    return Desk


@pytest.fixture
def task(make, desk) -> Task:  # type: ignore[no-untyped-def]
    return make.tasks(make.request(desk.laptop, desk.rita, {"summary": "Stuck laptop"}))[0]


def assign(web, task, to):  # type: ignore[no-untyped-def]
    return web.post(f"/tasks/{task.id}/assign", {"assign_to": to.email, "back": "/queues/it"},
                    htmx=True)


def test_a_lead_assigns_an_open_task_to_a_member_recorded_as_the_leads_action(
    web, session, desk, task
):
    response = assign(web.login(desk.lena), task, desk.ivan)
    assert response.status_code == 200
    assert "Assigned to Ivan." in text_of(response)
    session.refresh(task)
    assert task.state == TaskState.claimed and task.assignee_id == desk.ivan.id
    event = session.exec(select(TimelineEvent).where(
        TimelineEvent.task_id == task.id, TimelineEvent.kind == EventKind.assigned)).one()
    assert event.actor_id == desk.lena.id and event.note == "Assigned to Ivan"
    page = text_of(web.get(f"/requests/{task.request_id}"))
    assert "Lena assigned Step 1 as the team's lead" in page and "Assigned to Ivan" in page


def test_a_lead_takes_a_stuck_claim_from_one_member_to_another(web, session, desk, task):
    claim_task(session, task=task, by=desk.iris)
    assign(web.login(desk.lena), task, desk.ivan)
    session.refresh(task)
    assert task.assignee_id == desk.ivan.id
    assert session.exec(select(TimelineEvent.note).where(
        TimelineEvent.kind == EventKind.assigned)).one() == "Assigned to Ivan (from Iris)"


def test_the_task_panel_offers_assign_to_its_leads_only(web, desk, task):
    assert 'name="assign_to"' in web.login(desk.lena).get(f"/tasks/{task.id}").text
    assert 'name="assign_to"' not in web.login(desk.ivan).get(f"/tasks/{task.id}").text


def test_a_member_who_is_not_a_lead_may_not_assign(web, session, desk, task):
    assert assign(web.login(desk.ivan), task, desk.iris).status_code == 403
    session.refresh(task)
    assert task.state == TaskState.open


@pytest.mark.parametrize("who, status", [("mona", 403), ("hana", 404), ("rita", 403)])
def test_managers_requesters_and_other_teams_may_not_assign(web, session, desk, task, who,
                                                            status):
    assert assign(web.login(getattr(desk, who)), task, desk.ivan).status_code == status
    session.refresh(task)
    assert task.state == TaskState.open


def test_a_lead_assigns_only_to_an_active_member_of_the_team(web, session, desk, task):
    response = assign(web.login(desk.lena), task, desk.hana)
    assert response.status_code == 403
    session.refresh(task)
    assert task.state == TaskState.open


def test_a_lead_no_longer_a_lead_is_refused_by_the_rule(session, desk, task, make):
    add_member(session, team=make.team("it"), user=desk.lena, lead=False)
    session.flush()
    with pytest.raises(NotAllowed):
        assign_task(session, task=task, by=desk.lena, to=desk.ivan)


def test_a_finished_task_is_not_assigned(web, session, desk, task):
    complete_task(session, task=task, by=desk.iris)
    response = assign(web.login(desk.lena), task, desk.ivan)
    assert response.status_code == 409
    assert "already done" in text_of(response)
