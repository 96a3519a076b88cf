"""A task changing hands (claim, release, hand, assign) written through the driver at its
commit (app.storage.driver_flush, issue 18): the rows are what the session's objects say
and nothing is left for the flush; one statement on PostgreSQL; a rollback, of a
savepoint too, takes the objects back with the rows, and the inbox forgets the event.
That the counters, the queue versions, the inbox and the search index stay right after
every move: test_work_counts, test_page_cache, test_inbox, test_search."""

from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from app.config import get_settings
from app.rules.errors import NotAllowed
from app.rules.progress import lock_with_tasks, record_event, set_task_state
from app.rules.tasks import assign_task, claim_task, hand_task, release_task
from app.storage.db import BatchSpoiled, one_batch, one_transaction
from app.storage.driver_flush import flush_through_driver
from app.storage.models import (
    EventKind,
    InboxItem,
    Membership,
    ServiceRequest,
    Task,
    TaskState,
    TimelineEvent,
    User,
    utcnow,
)
from tests.factories import Factory


def _people(session: Session, make: Factory) -> dict[str, User]:
    people = {name: make.user(name, teams=("it",)) for name in ("Ivan", "Tom", "Lena")}
    membership = session.get(Membership, (make.team("it").id, people["Lena"].id))
    assert membership is not None
    membership.is_lead = True
    session.commit()
    return people


def _filed(make: Factory) -> ServiceRequest:
    service = make.service(slug="laptop", steps=[("it", "task"), ("facilities", "task")])
    return make.request(service, make.user("Rita"))


def _as_the_rows_say(session: Session, item: Any) -> dict[str, Any]:
    """The object's columns as read again from the database (into the same object)."""
    kind = type(item)
    fresh = session.exec(select(kind).where(kind.id == item.id)  # type: ignore[attr-defined]
                         .execution_options(populate_existing=True)).one()
    return fresh.model_dump()


MOVES = {
    "claim": lambda session, task, people: claim_task(session, task=task, by=people["Ivan"]),
    "release": lambda session, task, people: release_task(session, task=task,
                                                          by=people["Ivan"]),
    "hand": lambda session, task, people: hand_task(session, task=task, by=people["Ivan"],
                                                    to=people["Tom"]),
    "assign": lambda session, task, people: assign_task(session, task=task, by=people["Lena"],
                                                        to=people["Tom"]),
}


@pytest.mark.parametrize("driver_reads", [True, False], ids=["reads-through-driver", "off"])
@pytest.mark.parametrize("move", sorted(MOVES))
def test_a_move_leaves_the_objects_saying_what_the_rows_say(
        session: Session, make: Factory, move: str, driver_reads: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A write goes through the driver whatever the reads' switch says; each column not
    # moved (the task's kind, the request's state) is compared too.
    monkeypatch.setattr(get_settings(), "driver_reads", driver_reads)
    people = _people(session, make)
    request = _filed(make)
    task = make.tasks(request)[0]
    if move != "claim":
        claim_task(session, task=task, by=people["Ivan"])
    before = session.exec(select(TimelineEvent.id).where(
        TimelineEvent.request_id == request.id)).all()
    MOVES[move](session, task, people)
    assert not (session.dirty or session.new)  # nothing was left for the flush
    said = {"task": task.model_dump(), "request": request.model_dump()}
    assert _as_the_rows_say(session, task) == said["task"]
    assert _as_the_rows_say(session, request) == said["request"]
    [recorded] = session.exec(select(TimelineEvent).where(
        TimelineEvent.request_id == request.id, col(TimelineEvent.id).not_in(before))).all()
    assert recorded.created_at == task.state_changed_at == request.updated_at
    assert (recorded.kind, recorded.task_id) == (
        {"claim": "claimed", "release": "released", "hand": "handed",
         "assign": "assigned"}[move], task.id)
    assert (task.state, task.assignee_id) == {
        "claim": (TaskState.claimed, people["Ivan"].id),
        "release": (TaskState.open, None),
        "hand": (TaskState.claimed, people["Tom"].id),
        "assign": (TaskState.claimed, people["Tom"].id),
    }[move]


def test_a_claim_writes_its_three_rows_in_one_statement_on_postgresql(
        session: Session, make: Factory) -> None:
    people = _people(session, make)
    task = make.tasks(_filed(make))[0]
    sent: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute",
                 lambda _c, _k, statement, *_a: sent.append(" ".join(statement.split())))
    claim_task(session, task=task, by=people["Ivan"])
    writes = [statement for statement in sent
              if any(statement.startswith(verb) for verb in ("UPDATE", "INSERT", "WITH"))
              and ("task" in statement.split()[1:3] or "service_request" in statement
                   or "timeline_event" in statement)]
    if session.get_bind().dialect.name == "postgresql":
        assert len(writes) == 1 and writes[0].startswith("WITH changed_0 AS (UPDATE")
    else:
        assert sorted(statement.split(" SET")[0].split(" (")[0] for statement in writes) == [
            "INSERT INTO timeline_event", "UPDATE service_request", "UPDATE task"]


def _assigned_unwritten(session: Session, task: Task, people: dict[str, User]) -> None:
    """A lead's assignment of an open task to Tom, as assign_task makes it, unwritten."""
    request, _ = lock_with_tasks(session, task)
    now = utcnow()
    set_task_state(session, task, TaskState.claimed, now)
    task.assignee_id = people["Tom"].id
    record_event(session, request, kind=EventKind.assigned, by=people["Lena"], task=task,
                 at=now)
    request.updated_at = now


def test_a_savepoint_rolled_back_takes_the_move_back_from_the_objects_and_the_inbox(
        session: Session, make: Factory) -> None:
    people = _people(session, make)
    request = _filed(make)
    task = make.tasks(request)[0]
    savepoint = session.begin_nested()
    _assigned_unwritten(session, task, people)
    assert flush_through_driver(session) is True
    assert task.state == TaskState.claimed
    savepoint.rollback()
    assert (task.state, task.assignee_id) == (TaskState.open, None)  # read again
    session.commit()
    assert session.exec(select(InboxItem).where(InboxItem.user_id == people["Tom"].id)
                        ).all() == []
    assert session.exec(select(TimelineEvent).where(
        TimelineEvent.kind == EventKind.assigned)).all() == []


def test_a_refusal_after_a_move_in_a_batch_spoils_the_batch(
        session: Session, make: Factory) -> None:
    # As after a flush: the batch cannot take back the move alone (app.storage.db).
    people = _people(session, make)
    request = _filed(make)
    task = make.tasks(request)[0]

    @one_transaction
    def claim_then_refuse(session: Session) -> None:
        _assigned_unwritten(session, task, people)
        raise NotAllowed("refused after the move")

    with pytest.raises(BatchSpoiled), one_batch(session, refusals=(NotAllowed,)):
        claim_then_refuse(session)
    assert (task.state, task.assignee_id) == (TaskState.open, None)


def test_a_claim_then_an_assignment_in_one_batch_tells_the_claimer_it_was_taken(
        session: Session, make: Factory) -> None:
    # The inbox's "holder before" comes from the flushes' attribute history: the claim's
    # (none) must not hide the assignment's (the claimer).
    people = _people(session, make)
    task = make.tasks(_filed(make))[0]
    with one_batch(session, refusals=(NotAllowed,)):
        claim_task(session, task=task, by=people["Ivan"])
        assign_task(session, task=task, by=people["Lena"], to=people["Tom"])
    reasons = session.exec(select(InboxItem.reason).where(
        InboxItem.user_id == people["Ivan"].id)).all()
    assert reasons == ["taken"]
