"""The rules of a request's life (PRODUCT.md rules 1-5)."""

import threading
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from app.rules.catalog import current_version
from app.rules.errors import AlreadyClaimed, InvalidNote, InvalidTransition, NotAllowed
from app.rules.requests import cancel_request
from app.rules.submission import submit_request
from app.rules.tasks import (
    approve_task,
    claim_task,
    complete_task,
    hand_task,
    reject_task,
    release_task,
)
from app.storage.models import ServiceRequest, Task, TimelineEvent, User
from tests.factories import Factory


def states(make: Factory, request: ServiceRequest) -> list[str]:
    return [task.state for task in make.tasks(request)]


def events(session: Session, request: ServiceRequest) -> list[str]:
    return list(session.exec(
        select(TimelineEvent.kind).where(TimelineEvent.request_id == request.id)
        .order_by(col(TimelineEvent.id))
    ))


def test_submitting_creates_the_request_its_tasks_and_one_event(session, make):
    service = make.service(steps=[("hr", "task"), ("it", "task"), ("facilities", "task")])
    requester = make.user()
    request = make.request(service, requester, {"summary": "New desk"})
    assert request.title == f"{service.name}: New desk"
    assert request.state == "open"
    assert states(make, request) == ["open", "waiting", "waiting"]
    assert events(session, request) == ["submitted"]


def test_a_failed_submission_leaves_nothing_behind(session, make, tmp_path: Path):
    service = make.service()
    requester = make.user()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the attachments folder should be")
    import io

    from app.rules.intake import IncomingFile, Intake

    intake = Intake(answers={"summary": "x"}, files={"summary": [
        IncomingFile("a.txt", "text/plain", 3, io.BytesIO(b"abc"))]})
    before = session.exec(select(func.count()).select_from(ServiceRequest)).one()
    with pytest.raises(OSError):
        submit_request(session, service=service, version=current_version(session, service),
                       requester=requester, intake=intake, attachments_dir=blocker)
    assert session.exec(select(func.count()).select_from(ServiceRequest)).one() == before
    assert session.exec(select(func.count()).select_from(Task)).one() == 0
    assert session.exec(select(func.count()).select_from(TimelineEvent)).one() == 0


def test_enforced_ordering_opens_each_step_when_the_one_before_is_done(session, make):
    service = make.service(steps=[("hr", "task"), ("it", "task")])
    worker = make.user(teams=("hr", "it"))
    request = make.request(service, make.user())
    first, second = make.tasks(request)
    complete_task(session, task=first, by=worker)
    assert states(make, request) == ["done", "open"]
    assert second.opened_at is not None
    complete_task(session, task=second, by=worker)
    assert states(make, request) == ["done", "done"]
    assert session.get(ServiceRequest, request.id).state == "completed"


def test_a_waiting_task_cannot_be_worked(session, make):
    service = make.service(steps=[("hr", "task"), ("it", "task")])
    worker = make.user(teams=("it",))
    request = make.request(service, make.user())
    _first, second = make.tasks(request)
    with pytest.raises(InvalidTransition, match="waiting"):
        claim_task(session, task=second, by=worker)
    with pytest.raises(InvalidTransition):
        complete_task(session, task=second, by=worker)


def test_flexible_ordering_opens_every_step_at_once(session, make):
    service = make.service(ordering="flexible", steps=[("hr", "task"), ("it", "task")])
    worker = make.user(teams=("hr", "it"))
    request = make.request(service, make.user())
    assert states(make, request) == ["open", "open"]
    _first, second = make.tasks(request)
    complete_task(session, task=second, by=worker)
    assert session.get(ServiceRequest, request.id).state == "open"
    complete_task(session, task=make.tasks(request)[0], by=worker)
    assert session.get(ServiceRequest, request.id).state == "completed"


def test_a_request_is_not_complete_while_a_task_is_claimed(session, make):
    service = make.service(ordering="flexible", steps=[("hr", "task"), ("it", "task")])
    worker = make.user(teams=("hr", "it"))
    request = make.request(service, make.user())
    first, second = make.tasks(request)
    claim_task(session, task=second, by=worker)
    complete_task(session, task=first, by=worker)
    assert session.get(ServiceRequest, request.id).state == "open"


def test_a_rejected_approval_ends_the_request_and_cancels_what_remains(session, make):
    service = make.service(steps=[("approvers", "approval"), ("it", "task"), ("hr", "task")])
    approver = make.user(teams=("approvers",))
    request = make.request(service, make.user())
    approval = make.tasks(request)[0]
    reject_task(session, task=approval, by=approver, reason="No budget")
    assert states(make, request) == ["rejected", "cancelled", "cancelled"]
    stored = session.get(ServiceRequest, request.id)
    assert stored.state == "rejected" and stored.closed_at is not None
    assert "request_rejected" in events(session, request)


def test_rejecting_needs_a_reason(session, make):
    service = make.service(steps=[("approvers", "approval")])
    approver = make.user(teams=("approvers",))
    request = make.request(service, make.user())
    with pytest.raises(InvalidNote):
        reject_task(session, task=make.tasks(request)[0], by=approver, reason="   ")
    assert states(make, request) == ["open"]


def test_approving_moves_on_to_the_next_step(session, make):
    service = make.service(steps=[("approvers", "approval"), ("it", "task")])
    approver = make.user(teams=("approvers",))
    request = make.request(service, make.user())
    approve_task(session, task=make.tasks(request)[0], by=approver)
    assert states(make, request) == ["approved", "open"]


def test_an_approval_cannot_be_completed_and_a_task_cannot_be_approved(session, make):
    service = make.service(ordering="flexible", steps=[("approvers", "approval"), ("it", "task")])
    person = make.user(teams=("approvers", "it"))
    approval, task = make.tasks(make.request(service, make.user()))
    with pytest.raises(InvalidTransition):
        complete_task(session, task=approval, by=person)
    with pytest.raises(InvalidTransition):
        approve_task(session, task=task, by=person)


def test_the_requester_may_cancel_an_open_request_with_a_reason(session, make):
    service = make.service(steps=[("hr", "task"), ("it", "task")])
    requester = make.user()
    request = make.request(service, requester)
    with pytest.raises(InvalidNote):
        cancel_request(session, service_request=request, by=requester, reason="")
    cancel_request(session, service_request=request, by=requester, reason="Not needed")
    assert session.get(ServiceRequest, request.id).state == "cancelled"
    assert states(make, request) == ["cancelled", "cancelled"]
    with pytest.raises(InvalidTransition):
        cancel_request(session, service_request=request, by=requester, reason="again")


def test_only_the_requester_may_cancel(session, make):
    service = make.service()
    request = make.request(service, make.user())
    with pytest.raises(NotAllowed):
        cancel_request(session, service_request=request, by=make.user(manager=True),
                       reason="tidying up")


def test_claiming_a_claimed_task_says_who_has_it(session, make):
    service = make.service(steps=[("it", "task")])
    ivan, iris = make.user("Ivan", teams=("it",)), make.user("Iris", teams=("it",))
    task = make.tasks(make.request(service, make.user()))[0]
    claim_task(session, task=task, by=ivan)
    with pytest.raises(AlreadyClaimed) as refused:
        claim_task(session, task=task, by=iris)
    assert refused.value.by_name == "Ivan"
    assert "Ivan" in refused.value.message


def test_only_a_member_of_the_team_may_claim(session, make):
    service = make.service(steps=[("it", "task")])
    outsider = make.user(teams=("hr",), manager=True)
    task = make.tasks(make.request(service, make.user()))[0]
    with pytest.raises(NotAllowed):
        claim_task(session, task=task, by=outsider)
    assert task.state == "open"


def test_a_member_may_release_a_claim(session, make):
    service = make.service(steps=[("it", "task")])
    ivan, iris = make.user("Ivan", teams=("it",)), make.user("Iris", teams=("it",))
    task = make.tasks(make.request(service, make.user()))[0]
    claim_task(session, task=task, by=ivan)
    release_task(session, task=task, by=iris)
    assert task.state == "open" and task.assignee_id is None
    with pytest.raises(InvalidTransition):
        release_task(session, task=task, by=iris)


def test_a_claimed_task_can_be_handed_to_a_teammate_only(session, make):
    service = make.service(steps=[("it", "task")])
    ivan, iris = make.user("Ivan", teams=("it",)), make.user("Iris", teams=("it",))
    outsider = make.user("Hana", teams=("hr",))
    task = make.tasks(make.request(service, make.user()))[0]
    with pytest.raises(InvalidTransition):
        hand_task(session, task=task, by=ivan, to=iris)
    claim_task(session, task=task, by=ivan)
    with pytest.raises(NotAllowed):
        hand_task(session, task=task, by=ivan, to=outsider)
    hand_task(session, task=task, by=ivan, to=iris)
    assert task.state == "claimed" and task.assignee_id == iris.id


def test_completing_an_unclaimed_task_claims_it_on_the_way(session, make):
    service = make.service(steps=[("it", "task")])
    ivan = make.user("Ivan", teams=("it",))
    request = make.request(service, make.user())
    task = make.tasks(request)[0]
    complete_task(session, task=task, by=ivan, note="Installed")
    assert task.state == "done" and task.assignee_id == ivan.id
    assert events(session, request) == ["submitted", "claimed", "completed", "request_completed"]


def test_completing_a_task_someone_else_claimed_is_refused(session, make):
    service = make.service(steps=[("it", "task")])
    ivan, iris = make.user("Ivan", teams=("it",)), make.user("Iris", teams=("it",))
    task = make.tasks(make.request(service, make.user()))[0]
    claim_task(session, task=task, by=ivan)
    with pytest.raises(AlreadyClaimed):
        complete_task(session, task=task, by=iris)
    assert task.state == "claimed" and task.assignee_id == ivan.id


def test_every_change_of_state_writes_one_event_with_who_and_why(session, make):
    service = make.service(steps=[("approvers", "approval"), ("it", "task")])
    dana = make.user("Dana", teams=("approvers",))
    ivan, iris = make.user("Ivan", teams=("it",)), make.user("Iris", teams=("it",))
    request = make.request(service, make.user())
    approval, task = make.tasks(request)
    claim_task(session, task=approval, by=dana)
    approve_task(session, task=approval, by=dana, note="Budget ok")
    claim_task(session, task=task, by=ivan)
    release_task(session, task=task, by=ivan)
    claim_task(session, task=task, by=iris)
    hand_task(session, task=task, by=iris, to=ivan)
    complete_task(session, task=task, by=ivan, note="Done and dusted")
    rows = session.exec(
        select(TimelineEvent).where(TimelineEvent.request_id == request.id)
        .order_by(col(TimelineEvent.id))
    ).all()
    assert [row.kind for row in rows] == [
        "submitted", "claimed", "approved", "task_opened", "claimed", "released",
        "claimed", "handed", "completed", "request_completed",
    ]
    assert all(row.actor_id is not None and row.created_at is not None for row in rows)
    notes = {row.kind: row.note for row in rows}
    assert notes["approved"] == "Budget ok"
    assert notes["completed"] == "Done and dusted"


def test_the_timeline_only_grows(session, make):
    service = make.service(steps=[("it", "task"), ("hr", "task")])
    ivan = make.user(teams=("it", "hr"))
    request = make.request(service, make.user())
    snapshot = [
        (e.id, e.kind, e.note, e.created_at) for e in session.exec(
            select(TimelineEvent).where(TimelineEvent.request_id == request.id))
    ]
    for task in make.tasks(request):
        complete_task(session, task=task, by=ivan)
    after = [
        (e.id, e.kind, e.note, e.created_at) for e in session.exec(
            select(TimelineEvent).where(TimelineEvent.request_id == request.id)
            .order_by(col(TimelineEvent.id)))
    ]
    assert after[: len(snapshot)] == snapshot
    assert len(after) > len(snapshot)


def test_a_claim_race_has_exactly_one_winner(committed: Engine):
    with Session(committed, expire_on_commit=False) as setup:
        make = Factory(setup)
        service = make.service(steps=[("it", "task")])
        racers = [make.user(f"Racer {n}", teams=("it",)) for n in range(6)]
        task_id = make.tasks(make.request(service, make.user()))[0].id
        setup.commit()

    barrier = threading.Barrier(len(racers))
    outcomes: list[str] = []

    def race(racer) -> None:  # type: ignore[no-untyped-def]
        with Session(committed, expire_on_commit=False) as session:
            task = session.get(Task, task_id)
            session.rollback()  # start the claim in a fresh transaction, like a request
            barrier.wait()
            try:
                claim_task(session, task=task, by=racer)
                outcomes.append(f"won:{racer.name}")
            except AlreadyClaimed as refused:
                outcomes.append(f"lost:{refused.by_name}")

    threads = [threading.Thread(target=race, args=(racer,)) for racer in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [outcome for outcome in outcomes if outcome.startswith("won:")]
    assert len(winners) == 1
    winner = winners[0].removeprefix("won:")
    assert sorted(outcomes) == sorted([f"won:{winner}"] + [f"lost:{winner}"] * 5)
    with Session(committed) as check:
        claims = check.exec(select(func.count()).select_from(TimelineEvent).where(
            TimelineEvent.task_id == task_id, TimelineEvent.kind == "claimed")).one()
        assert claims == 1


def test_a_person_deactivated_since_their_page_loaded_cannot_claim(session, make):
    service = make.service(steps=[("it", "task")])
    ivan = make.user("Ivan", teams=("it",))
    task = make.tasks(make.request(service, make.user()))[0]
    signed_in_as = User(**ivan.model_dump())  # what the request loaded before the change
    ivan.is_active = False
    session.flush()
    with pytest.raises(NotAllowed):
        claim_task(session, task=task, by=signed_in_as)
    assert task.state == "open"
