"""Bulk actions on a queue's tasks (issue 14, item 7): claim, release, hand to a teammate
or complete several tasks at once.

Each task goes through the one rule of its action (app.rules.tasks), so each gets its own
timeline event; all of them are one transaction (app.storage.db.one_batch): a task that
changed meanwhile (someone else claimed it) is refused alone and reported for its row,
and the others still succeed (the rules refuse before they change anything; one_batch
says what happens should one not). One transaction rather
than one a task: what a commit writes besides the change (open-work counters, flow
figures, search documents, inbox items, page versions) is written once for the batch,
which is what brings 50 tasks under issue 14's 250 ms (bench/live_bulk.py).

Locks: the batch holds its requests' locks until its commit. The acting member's rows
(and, for a hand, the teammate's) are locked first, then all its requests at once in id
order (app.rules.progress.hold_requests), as every single change locks a member before
its request (app.rules.tasks) and a deactivation its person before the requests of the
claims it returns, in id order: two batches, or a batch and a deactivation, take their
locks in the same order and cannot deadlock.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, col, select

from app.rules.errors import DomainError
from app.rules.policy import hold_members
from app.rules.progress import hold_requests
from app.rules.tasks import claim_task, complete_task, hand_task, release_task
from app.storage.db import BatchSpoiled, one_batch
from app.storage.models import Task, User

# The most tasks one bulk action takes: a queue page shows 50; a batch past this is a
# script's work, refused before any task is touched.
MAX_BULK_TASKS = 100


class BulkAction(StrEnum):
    claim = "claim"
    release = "release"
    hand = "hand"
    complete = "complete"


class TooManyTasks(DomainError):
    status_code = 422

    def __init__(self, count: int) -> None:
        super().__init__(f"Select at most {MAX_BULK_TASKS} tasks at once "
                         f"({count} were selected).")


@dataclass
class BulkOutcome:
    """One task's result: `error` is the rule's refusal, None when it was done."""

    task: Task
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.error is None


def tasks_for_bulk(session: Session, *, task_ids: Sequence[int], team_id: int) -> list[Task]:
    """The team's tasks among `task_ids`, in one read, oldest request first (the order
    they are acted on). Ids of other teams' tasks, or of none, are left out: the queue
    a bulk action is posted from holds only its team's tasks."""
    if len(task_ids) > MAX_BULK_TASKS:
        raise TooManyTasks(len(task_ids))
    if not task_ids:
        return []
    return list(session.exec(
        select(Task).where(col(Task.id).in_(set(task_ids)), Task.team_id == team_id)
        .order_by(col(Task.request_id), col(Task.position))))


def act_on_tasks(
    session: Session, *, tasks: Sequence[Task], by: User, action: BulkAction,
    to: User | None = None,
) -> list[BulkOutcome]:
    """Does `action` to each task as `by`, each through its rule, in one transaction;
    `to`: the teammate a hand goes to. Refusals are reported per task,
    never raised."""
    if len(tasks) > MAX_BULK_TASKS:
        raise TooManyTasks(len(tasks))
    rules: dict[BulkAction, Callable[[Task], object]] = {
        BulkAction.claim: lambda task: claim_task(session, task=task, by=by),
        BulkAction.release: lambda task: release_task(session, task=task, by=by),
        BulkAction.complete: lambda task: complete_task(session, task=task, by=by),
    }
    if to is not None:
        rules[BulkAction.hand] = lambda task: hand_task(session, task=task, by=by, to=to)
    rule = rules.get(action)
    if rule is None:
        raise ValueError(f"{action} needs a teammate to hand the tasks to")
    try:
        return _in_one_batch(session, tasks=tasks, by=by, to=to, rule=rule, savepoints=False)
    except BatchSpoiled:  # a rule refused after a change: again, each task in a savepoint
        return _in_one_batch(session, tasks=tasks, by=by, to=to, rule=rule, savepoints=True)


def _in_one_batch(session: Session, *, tasks: Sequence[Task], by: User, to: User | None,
                  rule: Callable[[Task], object], savepoints: bool) -> list[BulkOutcome]:
    outcomes = []
    with one_batch(session, refusals=(DomainError,), savepoints=savepoints):
        for team_id in {task.team_id for task in tasks}:
            hold_members(session, user_ids=[by.id] + ([to.id] if to else []),
                         team_id=team_id)
        hold_requests(session, [task.request_id for task in tasks])
        for task in tasks:
            try:
                rule(task)
            except DomainError as refused:
                outcomes.append(BulkOutcome(task, refused.message))
            else:
                outcomes.append(BulkOutcome(task))
    return outcomes
