"""One transaction for a batch of changes (app.storage.db.one_batch, used by bulk actions):
each rule in a savepoint, a refusal rolls back only its own change and its notes, and what
the commit hooks write (counters, figures, search documents, inbox items) is written once
and agrees with a recount afterwards."""

import pytest
from sqlalchemy import event, update
from sqlmodel import col, select

from app.rules import bulk
from app.rules.bulk import BulkAction, act_on_tasks
from app.rules.errors import AlreadyClaimed, DomainError, NotAllowed
from app.rules.progress import set_task_state
from app.rules.tasks import claim_task
from app.rules.teams import remove_team_member
from app.storage import flow_figures
from app.storage.db import BatchSpoiled, one_batch, one_transaction
from app.storage.models import InboxItem, Task, TaskState, Team, TimelineEvent, utcnow
from app.storage.work_counts import counted_from_tasks, counters


class Refused(DomainError):
    status_code = 409


@one_transaction
def _claim_then_refuse(session, *, task):  # type: ignore[no-untyped-def]
    """A rule that changes a task (noting its counters) before it refuses."""
    set_task_state(session, task, TaskState.claimed, utcnow())
    session.flush()
    raise Refused("changed its mind")


@one_transaction
def _commit_by_itself(session, *, task):  # type: ignore[no-untyped-def]
    set_task_state(session, task, TaskState.claimed, utcnow())
    session.commit()


@pytest.fixture()
def desk(session, make):  # type: ignore[no-untyped-def]
    service = make.service(slug="laptop", steps=[("it", "task"), ("it", "task")],
                           target_hours=4)
    ivan = make.user("Ivan", teams=("it",))
    rita = make.user("Rita")
    requests = [make.request(service, rita) for _ in range(4)]
    return ivan, rita, [make.tasks(request)[0] for request in requests]


def _statements(session):  # type: ignore[no-untyped-def]
    sent: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute",
                 lambda _c, _k, statement, *_a: sent.append(statement))
    return sent


def test_a_refusal_after_a_change_takes_back_its_notes(session, desk):  # type: ignore[no-untyped-def]
    ivan, _rita, tasks = desk
    with one_batch(session, refusals=(DomainError,), savepoints=True):
        claim_task(session, task=tasks[0], by=ivan)
        with pytest.raises(Refused):
            _claim_then_refuse(session, task=tasks[1])
        claim_task(session, task=tasks[2], by=ivan)
    assert counters(session) == counted_from_tasks(session)
    states = [session.get_one(Task, task.id).state for task in tasks]
    assert states == [TaskState.claimed, TaskState.open, TaskState.claimed, TaskState.open]


def test_a_bulk_action_spoiled_so_runs_again_with_savepoints(
        session, desk, monkeypatch):  # type: ignore[no-untyped-def]
    ivan, _rita, tasks = desk
    sent = _statements(session)
    real_claim = bulk.claim_task

    def claim(session, *, task, by):  # type: ignore[no-untyped-def]
        if task.id == tasks[1].id:
            return _claim_then_refuse(session, task=task)
        return real_claim(session, task=task, by=by)

    monkeypatch.setattr(bulk, "claim_task", claim)
    outcomes = act_on_tasks(session, tasks=tasks, by=ivan, action=BulkAction.claim)
    assert [outcome.done for outcome in outcomes] == [True, False, True, True]
    # One savepoint a task on the second run (the test's own session takes a few more).
    assert sum(statement.startswith("SAVEPOINT") for statement in sent) >= len(tasks)
    assert [session.get_one(Task, task.id).state for task in tasks] == [
        TaskState.claimed, TaskState.open, TaskState.claimed, TaskState.claimed]
    assert counters(session) == counted_from_tasks(session)


def test_a_plain_refusal_needs_no_savepoint(session, desk, make):  # type: ignore[no-untyped-def]
    ivan, _rita, tasks = desk
    claim_task(session, task=tasks[1], by=make.user("Iris", teams=("it",)))
    sent = _statements(session)
    outcomes = act_on_tasks(session, tasks=tasks, by=ivan, action=BulkAction.claim)
    assert [outcome.done for outcome in outcomes] == [True, False, True, True]
    assert sum(statement.startswith("SAVEPOINT") for statement in sent) < len(tasks)
    assert counters(session) == counted_from_tasks(session)


def test_the_batch_writes_its_counters_once_and_commits_once(session, desk):  # type: ignore[no-untyped-def]
    ivan, _rita, tasks = desk
    sent = _statements(session)
    outcomes = act_on_tasks(session, tasks=tasks, by=ivan, action=BulkAction.claim)
    assert all(outcome.done for outcome in outcomes)
    counter_writes = [s for s in sent if "open_work_count" in s and "INSERT" in s.upper()]
    assert len(counter_writes) == 1
    assert counters(session) == counted_from_tasks(session)


def test_completing_in_bulk_keeps_figures_and_inbox_as_one_at_a_time_would(
        session, desk, make):  # type: ignore[no-untyped-def]
    ivan, rita, tasks = desk
    act_on_tasks(session, tasks=tasks[:2], by=ivan, action=BulkAction.claim)
    # Someone else takes the third meanwhile: refused alone, the others done.
    iris = make.user("Iris", teams=("it",))
    claim_task(session, task=tasks[2], by=iris)
    outcomes = act_on_tasks(session, tasks=tasks[:3], by=ivan, action=BulkAction.complete)
    assert [outcome.done for outcome in outcomes] == [True, True, False]
    assert counters(session) == counted_from_tasks(session)
    assert flow_figures.stored(session) == flow_figures.from_history(session)
    # Each completed task opened the next step: an event each, and the requester's
    # inbox holds no item for the refused one.
    opened = session.exec(select(TimelineEvent).where(
        TimelineEvent.kind == "task_opened")).all()
    assert {event.request_id for event in opened} == {tasks[0].request_id,
                                                     tasks[1].request_id}
    moved = session.exec(select(InboxItem).where(InboxItem.user_id == rita.id,
                                                 InboxItem.reason == "moved")).all()
    assert sorted(item.request_id for item in moved) == sorted(
        [tasks[0].request_id, tasks[1].request_id])


@pytest.mark.parametrize(("second", "error"), [
    # Without savepoints, a refusal after a change cannot be taken back alone.
    (_claim_then_refuse, BatchSpoiled),
    # A rule that commits by itself would commit the batch half done: refused.
    (_commit_by_itself, RuntimeError),
])
def test_the_whole_batch_is_rolled_back_when(session, desk, second, error):  # type: ignore[no-untyped-def]
    ivan, _rita, tasks = desk
    with pytest.raises(error), one_batch(session, refusals=(DomainError,)):
        claim_task(session, task=tasks[0], by=ivan)
        second(session, task=tasks[1])
    assert [session.get_one(Task, task.id).state for task in tasks[:2]] == [
        TaskState.open, TaskState.open]
    assert counters(session) == counted_from_tasks(session)


def test_an_error_that_is_no_refusal_rolls_the_whole_batch_back(
        session, desk):  # type: ignore[no-untyped-def]
    ivan, _rita, tasks = desk
    with pytest.raises(ZeroDivisionError), one_batch(session, refusals=(DomainError,)):
        claim_task(session, task=tasks[0], by=ivan)
        1 / 0  # noqa: B018
    assert session.get_one(Task, tasks[0].id).state == TaskState.open
    assert counters(session) == counted_from_tasks(session)



def test_a_batch_by_someone_outside_the_team_refuses_every_task(
        session, desk, make):  # type: ignore[no-untyped-def]
    _ivan, rita, tasks = desk
    outcomes = act_on_tasks(session, tasks=tasks, by=rita, action=BulkAction.claim)
    assert [outcome.error for outcome in outcomes] == [
        "Only active members of the task's team can act on it."] * len(tasks)
    assert all(session.get_one(Task, task.id).state == TaskState.open for task in tasks)


def test_the_membership_a_batch_held_is_asked_again_after_its_commit(
        session, desk, make):  # type: ignore[no-untyped-def]
    ivan, _rita, tasks = desk
    admin = make.user("Adam", admin=True)
    act_on_tasks(session, tasks=tasks[:2], by=ivan, action=BulkAction.claim)
    remove_team_member(session, team=session.exec(select(Team).where(Team.slug == "it")).one(),
                       person=ivan, by=admin)
    with pytest.raises(NotAllowed):
        claim_task(session, task=tasks[3], by=ivan)


def _laptop_requests(make, count):  # type: ignore[no-untyped-def]
    service = make.service(slug="laptop", steps=[("it", "task"), ("it", "task")])
    rita = make.user("Rita")
    return [make.tasks(make.request(service, rita))[0] for _ in range(count)]


def _claimed_elsewhere(session, task, by):  # type: ignore[no-untyped-def]
    # Another transaction's claim, as the session sees it: a Core UPDATE leaves the
    # session's objects as they were read.
    session.connection().execute(update(Task).where(col(Task.id) == task.id)
                                 .values(state=TaskState.claimed, assignee_id=by.id))


def test_a_batch_acts_on_its_tasks_as_they_are_under_its_locks(session, make):  # type: ignore[no-untyped-def]
    # The bulk route reads its tasks before any lock (tasks_for_bulk); the batch reads
    # them again under its requests' locks (hold_requests), so a task claimed meanwhile
    # is refused, not claimed twice (rule 4).
    ivan = make.user("Ivan", teams=("it",))
    iris = make.user("Iris", teams=("it",))
    tasks = _laptop_requests(make, 3)
    _claimed_elsewhere(session, tasks[1], iris)
    outcomes = act_on_tasks(session, tasks=tasks, by=ivan, action=BulkAction.claim)
    assert [outcome.done for outcome in outcomes] == [True, False, True]
    assert session.get_one(Task, tasks[1].id).assignee_id == iris.id


def test_the_requests_a_batch_held_are_read_again_after_its_commit(session, make):  # type: ignore[no-untyped-def]
    ivan = make.user("Ivan", teams=("it",))
    iris = make.user("Iris", teams=("it",))
    tasks = _laptop_requests(make, 2)
    act_on_tasks(session, tasks=tasks, by=ivan, action=BulkAction.claim)
    act_on_tasks(session, tasks=tasks, by=ivan, action=BulkAction.release)
    _claimed_elsewhere(session, tasks[1], iris)
    with pytest.raises(AlreadyClaimed):
        claim_task(session, task=tasks[1], by=ivan)
