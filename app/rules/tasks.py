"""A team's work on its tasks (PRODUCT.md rules 4 and 7): claim, release, hand to a
teammate, complete, approve, reject; and a person's claims going back to the queue.

Each rule is one transaction and locks as app.rules.progress says: first the acting
member's rows (require_member), then the request.
"""

from datetime import datetime

from sqlmodel import Session, col, select

from app.rules.errors import (
    AlreadyClaimed,
    InvalidNote,
    InvalidTransition,
    NotAllowed,
    OwnRequestApproval,
)
from app.rules.policy import is_team_lead, may_act_on_task, may_decide
from app.rules.progress import (
    advance,
    cancel_remaining,
    clean_note,
    lock_request,
    lock_with_task,
    lock_with_tasks,
    record_event,
    set_task_state,
)
from app.storage.db import commit_change, one_transaction
from app.storage.models import (
    EventKind,
    RequestState,
    ServiceRequest,
    StepKind,
    Task,
    TaskState,
    Team,
    User,
    utcnow,
)


def require_member(session: Session, task: Task, user: User) -> None:
    """Refuses anyone but an active member of the task's team, and keeps their membership
    and person rows locked until the commit (PostgreSQL), so that nobody removed or
    deactivated meanwhile ends up holding the task (see policy.is_active_member). Called
    before the request is locked: removing a member or deactivating a person locks
    those rows first and then the requests of the claims it returns, so this order
    cannot deadlock with them."""
    if not may_act_on_task(session, user=user, task=task, lock=True):
        raise NotAllowed("Only active members of the task's team can act on it.")


def _name_of(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id else None
    return user.name if user else "someone"


def _claim_on_the_way(
    session: Session, request: ServiceRequest, task: Task, by: User, at: datetime
) -> None:
    if task.state == TaskState.claimed and task.assignee_id == by.id:
        return
    if task.state == TaskState.claimed:
        raise AlreadyClaimed(by_name=_name_of(session, task.assignee_id))
    if task.state != TaskState.open:
        raise InvalidTransition(_not_open_message(task))
    set_task_state(session, task, TaskState.claimed, at)
    task.assignee_id = by.id
    record_event(session, request, kind=EventKind.claimed, by=by, task=task, at=at)


def _not_open_message(task: Task) -> str:
    if task.state == TaskState.waiting:
        return "This task is waiting for an earlier step to finish."
    return f"This task is already {task.state}."


@one_transaction
def claim_task(session: Session, *, task: Task, by: User) -> Task:
    """Exactly one person wins a claim; everyone else is told who has the task."""
    require_member(session, task, by)
    request = lock_with_task(session, task)
    if not may_decide(session, user=by, task=task, request=request):
        raise OwnRequestApproval()  # an approval is claimed only to be decided
    if task.state == TaskState.claimed and task.assignee_id == by.id:
        raise InvalidTransition("You have already claimed this task.")
    _claim_on_the_way(session, request, task, by, utcnow())
    request.updated_at = task.state_changed_at
    commit_change(session)
    return task


@one_transaction
def release_task(session: Session, *, task: Task, by: User) -> Task:
    require_member(session, task, by)
    request = lock_with_task(session, task)
    if task.state != TaskState.claimed:
        raise InvalidTransition("Only a claimed task can be released.")
    now = utcnow()
    holder = task.assignee_id
    note = "" if holder == by.id else f"Released from {_name_of(session, holder)}"
    set_task_state(session, task, TaskState.open, now)
    task.assignee_id = None
    record_event(session, request, kind=EventKind.released, by=by, task=task, note=note,
                 at=now)
    request.updated_at = now
    commit_change(session)
    return task


def return_claims_to_queue(
    session: Session, *, person: User, by: User, note: str, team: Team | None = None
) -> list[Task]:
    """Every task `person` has claimed (of `team` only, when given) goes back to its team
    queue, with one "released" event each: for a person deactivated or leaving a team.
    The caller's transaction commits. Requests are locked in id order, like every task
    transition, and the claims re-read under the lock."""
    claimed = [col(Task.assignee_id) == person.id, col(Task.state) == TaskState.claimed]
    if team is not None:
        claimed.append(col(Task.team_id) == team.id)
    released: list[Task] = []
    now = utcnow()
    for request_id in sorted(set(session.exec(select(Task.request_id).where(*claimed)))):
        request = lock_request(session, request_id)
        for task in session.exec(
            select(Task).where(Task.request_id == request_id, *claimed)
            .order_by(col(Task.position)).execution_options(populate_existing=True)
        ).all():
            set_task_state(session, task, TaskState.open, now)
            task.assignee_id = None
            record_event(session, request, kind=EventKind.released, by=by, task=task,
                         note=note, at=now)
            request.updated_at = now
            released.append(task)
    return released


@one_transaction
def hand_task(session: Session, *, task: Task, by: User, to: User) -> Task:
    require_member(session, task, by)
    # The new holder's rows are locked too (and before the request, like the giver's).
    to_is_member = may_act_on_task(session, user=to, task=task, lock=True)
    request = lock_with_task(session, task)
    if task.state != TaskState.claimed:
        raise InvalidTransition("Claim the task before handing it to a teammate.")
    _check_new_holder(session, task=task, request=request, to=to, member=to_is_member,
                      verb="hand")
    now = utcnow()
    task.assignee_id = to.id
    task.state_changed_at = now
    record_event(session, request, kind=EventKind.handed, by=by, task=task,
                 note=f"Handed to {to.name}", at=now)
    request.updated_at = now
    commit_change(session)
    return task


def _check_new_holder(session: Session, *, task: Task, request: ServiceRequest, to: User,
                      member: bool, verb: str) -> None:
    """Whether `to` may be given the task (handed or assigned): an active member of its
    team, not its holder already, and not barred from deciding it (rule 7)."""
    if not member:
        raise NotAllowed(f"{to.name} is not an active member of this team.")
    if task.assignee_id == to.id:
        raise InvalidTransition(f"{to.name} already has this task.")
    if not may_decide(session, user=to, task=task, request=request):
        raise OwnRequestApproval(f"{to.name} asked for this request and cannot approve "
                                 f"or reject it: {verb} it to someone else on the team.")


@one_transaction
def assign_task(session: Session, *, task: Task, by: User, to: User) -> Task:
    """A team's lead gives an open task, or one stuck with someone, to a member
    (issue 14): the task is claimed for them, recorded as the lead's action ("assigned").
    Only a lead of the task's team assigns; the new holder must be an active member and
    may not be barred from deciding it (rule 7). Locks as hand_task does."""
    if not is_team_lead(session, user=by, team_id=task.team_id, lock=True):
        raise NotAllowed("Only a lead of the task's team assigns its tasks.")
    to_is_member = may_act_on_task(session, user=to, task=task, lock=True)
    request = lock_with_task(session, task)
    if task.state not in (TaskState.open, TaskState.claimed):
        raise InvalidTransition(_not_open_message(task))
    _check_new_holder(session, task=task, request=request, to=to, member=to_is_member,
                      verb="assign")
    now = utcnow()
    holder = task.assignee_id
    if task.state == TaskState.open:
        set_task_state(session, task, TaskState.claimed, now)
    else:
        task.state_changed_at = now
    task.assignee_id = to.id
    taken = f" (from {_name_of(session, holder)})" if holder is not None else ""
    record_event(session, request, kind=EventKind.assigned, by=by, task=task,
                 note=f"Assigned to {to.name}{taken}", at=now)
    request.updated_at = now
    commit_change(session)
    return task


def _finish(
    session: Session, *, task: Task, by: User, kind: StepKind, state: TaskState,
    event: EventKind, note: str,
) -> Task:
    require_member(session, task, by)
    request, tasks = lock_with_tasks(session, task)
    if task.kind != kind:
        raise InvalidTransition(
            "This is an approval: approve or reject it." if task.kind == StepKind.approval
            else "This task is not an approval: complete it."
        )
    if not may_decide(session, user=by, task=task, request=request):
        raise OwnRequestApproval()
    now = utcnow()
    _claim_on_the_way(session, request, task, by, now)
    set_task_state(session, task, state, now)
    record_event(session, request, kind=event, by=by, task=task, note=note, at=now)
    if state == TaskState.rejected:
        request.state = RequestState.rejected
        request.closed_at = now
        record_event(session, request, kind=EventKind.request_rejected, by=by, note=note,
                     at=now)
        cancel_remaining(session, request, tasks, by=by, at=now,
                         note="The request was rejected.")
    else:
        advance(session, request, tasks, by=by, at=now)
    request.updated_at = now
    commit_change(session)
    return task


@one_transaction
def complete_task(session: Session, *, task: Task, by: User, note: str = "") -> Task:
    return _finish(session, task=task, by=by, kind=StepKind.task, state=TaskState.done,
                   event=EventKind.completed, note=clean_note(note))


@one_transaction
def approve_task(session: Session, *, task: Task, by: User, note: str = "") -> Task:
    return _finish(session, task=task, by=by, kind=StepKind.approval,
                   state=TaskState.approved, event=EventKind.approved, note=clean_note(note))


@one_transaction
def reject_task(session: Session, *, task: Task, by: User, reason: str) -> Task:
    reason = clean_note(reason)
    if not reason:
        raise InvalidNote("Say why you reject it: the requester will read this.")
    return _finish(session, task=task, by=by, kind=StepKind.approval,
                   state=TaskState.rejected, event=EventKind.rejected, note=reason)
