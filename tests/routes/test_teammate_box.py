"""The "Hand to" / "Assign to" box (app.web.teammate_input), labelled "a teammate's name
or e-mail": a first name or the start of a name finds the one teammate it fits, whatever
its case; a start several teammates share is refused naming them; the same on a task's
Hand, a lead's Assign and a queue's bulk Hand."""

import json

import pytest
from sqlmodel import Session

from app.rules.tasks import claim_task
from app.rules.teams import add_member
from app.storage.models import Task, TaskState
from tests.web import text_of


@pytest.fixture
def desk(make, session):  # type: ignore[no-untyped-def]
    class Desk:
        laptop = make.service(slug="laptop", steps=[("it", "task")])
        lena = make.user("Lena Lead", teams=("it",))
        ivan = make.user("Ivan Ivanov", teams=("it",))
        iris = make.user("Iris Ito", teams=("it",))
        ines = make.user("Ines Ortega", teams=("it",))
        olga = make.user("Olga Other", teams=("hr",))  # not in IT
        rita = make.user("Rita")
    add_member(session, team=make.team("it"), user=Desk.lena, lead=True)
    session.flush()
    return Desk


@pytest.fixture
def task(make, desk) -> Task:  # type: ignore[no-untyped-def]
    return make.tasks(make.request(desk.laptop, desk.rita, {"summary": "Laptop"}))[0]


def holder(session: Session, task: Task) -> int | None:
    session.expire_all()
    found = session.get(Task, task.id)
    assert found is not None
    return found.assignee_id


@pytest.mark.parametrize("typed", ["iris", "IRIS", " Iris ", "iris i", "Iris Ito"])
def test_a_first_name_or_the_start_of_a_name_hands_to_the_one_teammate_it_fits(
    web, session, desk, task, typed
):
    claim_task(session, task=task, by=desk.ivan)
    response = web.login(desk.ivan).post(f"/tasks/{task.id}/hand", {"to": typed}, htmx=True)
    assert response.status_code == 200, typed
    assert "Handed to Iris Ito." in text_of(response)
    assert holder(session, task) == desk.iris.id


def test_a_start_several_teammates_share_is_refused_naming_them(web, session, desk, task):
    claim_task(session, task=task, by=desk.ivan)
    response = web.login(desk.ivan).post(f"/tasks/{task.id}/hand", {"to": "i"}, htmx=True)
    assert response.status_code == 422
    message = json.loads(response.headers["HX-Trigger"])["baton-error"]["message"]
    # The holder himself fits too: the message names everyone the start fits.
    assert "“i” fits several teammates: Ines Ortega, Iris Ito or Ivan Ivanov." in message
    assert "Type more of the name, or the e-mail." in message
    assert holder(session, task) == desk.ivan.id


def test_a_name_two_teammates_share_is_refused_with_their_e_mails(
    web, session, make, desk, task
):
    other = make.user("Iris Ito", teams=("it",))
    claim_task(session, task=task, by=desk.ivan)
    for typed in ("iris ito", "iris"):
        response = web.login(desk.ivan).post(f"/tasks/{task.id}/hand", {"to": typed},
                                             htmx=True)
        assert response.status_code == 422
        message = response.headers["HX-Trigger"]
        assert desk.iris.email in message and other.email in message, typed
    assert holder(session, task) == desk.ivan.id


def test_a_start_that_fits_nobody_in_the_team_finds_nobody(web, session, desk, task):
    claim_task(session, task=task, by=desk.ivan)
    response = web.login(desk.ivan).post(f"/tasks/{task.id}/hand", {"to": "olga"},
                                         htmx=True)
    assert response.status_code == 422
    assert "No active person matches that" in response.headers["HX-Trigger"]


def test_a_lead_assigns_by_first_name(web, session, desk, task):
    response = web.login(desk.lena).post(f"/tasks/{task.id}/assign", {"assign_to": "ines"},
                                         htmx=True)
    assert response.status_code == 200
    assert "Assigned to Ines Ortega." in text_of(response)
    assert holder(session, task) == desk.ines.id


def test_the_bulk_hand_box_reads_a_first_name_too(web, session, make, desk, task):
    second = make.tasks(make.request(desk.laptop, desk.rita, {"summary": "Dock"}))[0]
    for each in (task, second):
        claim_task(session, task=each, by=desk.ivan)
    response = web.login(desk.ivan).post("/queues/it/bulk", {
        "action": "hand", "task": [task.id, second.id], "to": "iris"}, htmx=True)
    assert response.status_code == 200
    assert "2 of 2 selected tasks handed to Iris Ito." in text_of(response)
    assert holder(session, task) == holder(session, second) == desk.iris.id
    session.expire_all()
    assert session.get(Task, task.id).state == TaskState.claimed  # type: ignore[union-attr]
