"""The rules of a request's life: submission, ordering, claims, approvals, cancelling.

Every public function here is one transaction (see app.storage.db.one_transaction): it checks,
changes, writes one timeline event per change of state, and commits; a refusal rolls
everything back. Task transitions lock the request row, so two people acting on the
same request at once are serialized (SQLite serializes all writers already; on
PostgreSQL this is SELECT … FOR UPDATE); before it, they lock the acting member's
membership and person rows FOR SHARE (see _require_member).
"""

from datetime import datetime, timedelta
from math import ceil
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.format.conditions import evaluate
from app.format.definitions import ServiceDefinition
from app.format.targets import due_time
from app.rules.attachments import StagedFile, discard, place, stage
from app.rules.catalog import definition_of
from app.rules.errors import (
    AlreadyClaimed,
    InvalidNote,
    InvalidTransition,
    NotAllowed,
    OwnRequestApproval,
    ServiceChanged,
    TooManyComments,
)
from app.rules.intake import Intake, request_title, without_control_characters
from app.rules.policy import may_decide
from app.rules.teams import is_active_member, team_slugs_by_id
from app.storage import work_counts
from app.storage.db import one_transaction
from app.storage.models import (
    ACTIVE_TASK_STATES,
    Attachment,
    EventKind,
    RequestState,
    Service,
    ServiceRequest,
    ServiceVersion,
    StepKind,
    Task,
    TaskState,
    Team,
    TimelineEvent,
    User,
    is_comment,
    utcnow,
)

MAX_NOTE_LENGTH = 5000
# How many comments and notes one person may post in a minute, over all requests: more
# than anyone types, far fewer than a script posts.
COMMENTS_PER_MINUTE = 10
COMMENT_WINDOW = timedelta(minutes=1)


def _event(
    session: Session,
    request: ServiceRequest,
    *,
    kind: EventKind,
    by: User | None,
    task: Task | None = None,
    note: str = "",
    internal: bool = False,
    at: datetime,
) -> TimelineEvent:
    event = TimelineEvent(
        request_id=request.id, task_id=task.id if task else None,
        actor_id=by.id if by else None, kind=kind, note=note, is_internal=internal,
        created_at=at,
    )
    session.add(event)
    return event


def _clean_note(note: str | None) -> str:
    text = without_control_characters(note or "").strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidNote(f"Keep it under {MAX_NOTE_LENGTH} characters.")
    return text


def _set_state(session: Session, task: Task, state: TaskState, at: datetime) -> None:
    work_counts.moved(session, task, task.state, state)
    task.state = state
    task.state_changed_at = at
    if state == TaskState.open and task.opened_at is None:
        task.opened_at = at
    if state not in ACTIVE_TASK_STATES:
        task.closed_at = at


# --- submission -----------------------------------------------------------------------


def submitted_with(session: Session, *, requester: User, key: str) -> ServiceRequest | None:
    """The request `requester` filed with a form's one-time key, if any."""
    return session.exec(select(ServiceRequest).where(
        ServiceRequest.requester_id == requester.id, ServiceRequest.submission_key == key,
    )).first()


@one_transaction
def _file_request(
    session: Session, *, service: Service, version: ServiceVersion, requester: User,
    intake: Intake, staged: list[StagedFile], submission_key: str | None,
) -> tuple[ServiceRequest, bool]:
    """The request and whether it was made now (False: the key's earlier request)."""
    if submission_key is not None:
        earlier = submitted_with(session, requester=requester, key=submission_key)
        if earlier is not None:
            session.commit()  # nothing written; ends the write transaction
            return earlier, False
    # The service row is read under a lock (FOR SHARE on PostgreSQL; SQLite's write lock
    # holds already): a new version published meanwhile either committed before this
    # read, and is seen, or waits for this transaction to end.
    current_version_id, is_active = session.exec(
        select(Service.current_version_id, Service.is_active)
        .where(Service.id == service.id).with_for_update(read=True)
    ).one()
    if not is_active:
        raise InvalidTransition("This service is retired and takes no new requests.")
    if current_version_id != version.id:
        raise ServiceChanged()
    definition = definition_of(version)
    teams = {slug: team_id for team_id, slug in team_slugs_by_id(session).items()}
    now = utcnow()
    request = ServiceRequest(
        service_id=service.id, version_id=version.id, requester_id=requester.id,
        title=request_title(definition, intake.answers), answers=intake.answers,
        created_at=now, updated_at=now, submission_key=submission_key,
    )
    session.add(request)
    session.flush()
    _event(session, request, kind=EventKind.submitted, by=requester, at=now)
    stages = definition.stages()
    needed = [step_is_needed(definition, position, intake.answers)
              for position in range(len(definition.steps))]
    first_stage = min((s for s, n in zip(stages, needed, strict=True) if n), default=None)
    for position, step in enumerate(definition.steps):
        opens = needed[position] and stages[position] == first_stage
        task = Task(
            request_id=request.id, service_id=service.id, team_id=teams[step.team],
            position=position, stage=stages[position], step_name=step.name, kind=step.kind,
            request_title=request.title,
            state=(TaskState.open if opens else TaskState.waiting) if needed[position]
            else TaskState.skipped,
            created_at=now, state_changed_at=now, opened_at=now if opens else None,
            due_at=due_time(now, step) if opens else None,
            closed_at=None if needed[position] else now,
        )
        session.add(task)
        work_counts.moved(session, task, None, task.state)
        if not needed[position]:
            session.flush()
            _event(session, request, kind=EventKind.task_skipped, by=requester, task=task,
                   note=skip_reason(definition, position), at=now)
    if first_stage is None:
        # Every step's condition was false: nothing to do, so nothing is left open.
        request.state = RequestState.completed
        request.closed_at = now
        _event(session, request, kind=EventKind.request_completed, by=requester, at=now)
    for file in staged:
        session.add(Attachment(
            request_id=request.id, field_key=file.field_key, filename=file.filename,
            content_type=file.content_type[:120], size=file.size,
            storage_path=file.storage_path(request.id), uploaded_by_id=requester.id,
        ))
    session.commit()
    return request, True


def submit_request(
    session: Session, *, service: Service, version: ServiceVersion, requester: User,
    intake: Intake, attachments_dir: Path, submission_key: str | None = None,
) -> ServiceRequest:
    """Create the request, its tasks, its files and its first event, or none of them.

    `intake` was validated against `version`, and the request is filed under exactly
    that version. Versions never change, so answers that fit `version` still fit it
    inside the transaction; what may have changed since the form was validated is which
    version is the service's current one, and that is checked under a lock in the
    transaction: ServiceChanged if it is no longer `version` (nothing is filed).

    Files are copied to temporary names before the transaction and moved to their final
    names after it commits (app.rules.attachments), so the write transaction only inserts
    rows, and no file is left without its row.

    `submission_key`, the one-time key of the form, makes sending it again harmless:
    when `requester` already filed a request with it, that request is returned and
    nothing new is made. Two sends at once both pass the look-up on PostgreSQL; the
    unique index on (requester, key) stops the second at its insert, which waits for
    the first to commit, and its IntegrityError is turned into the first's request."""
    staged = stage(intake.files, attachments_dir)
    try:
        request, made = _file_request(
            session, service=service, version=version, requester=requester, intake=intake,
            staged=staged, submission_key=submission_key,
        )
    except IntegrityError:
        discard(staged)
        earlier = (submitted_with(session, requester=requester, key=submission_key)
                   if submission_key is not None else None)
        if earlier is None:
            raise
        return earlier
    except BaseException:
        discard(staged)
        raise
    if made:
        place(staged, request_id=request.id, attachments_dir=attachments_dir)
    else:
        discard(staged)
    return request


# --- ordering ---------------------------------------------------------------------------


def step_is_needed(definition: ServiceDefinition, position: int, answers: dict) -> bool:  # type: ignore[type-arg]
    condition = definition.condition_of(position)
    return condition is None or evaluate(condition, answers)


def skip_reason(definition: ServiceDefinition, position: int) -> str:
    return f"Not needed: the condition “{definition.steps[position].condition}” does not hold."


def _tasks_of(session: Session, request: ServiceRequest) -> list[Task]:
    return list(session.exec(
        select(Task).where(Task.request_id == request.id).order_by(col(Task.position))
    ))


def next_stage_to_open(tasks: list[Task]) -> int | None:
    """The stage whose waiting tasks may open now: none while any task is open or
    claimed, else the lowest stage that still waits."""
    if any(task.state in (TaskState.open, TaskState.claimed) for task in tasks):
        return None
    waiting = [task.stage for task in tasks if task.state == TaskState.waiting]
    return min(waiting) if waiting else None


def is_complete(tasks: list[Task]) -> bool:
    return not any(task.state in ACTIVE_TASK_STATES for task in tasks)


def _advance(session: Session, request: ServiceRequest, tasks: list[Task], *, by: User,
             at: datetime) -> None:
    """After a task finished: open the next stage, or complete the request. `tasks` are
    all the request's tasks, as loaded under its lock."""
    stage = next_stage_to_open(tasks)
    if stage is not None:
        version = session.get(ServiceVersion, request.version_id)
        assert version is not None
        steps = definition_of(version).steps
        for task in tasks:
            if task.state == TaskState.waiting and task.stage == stage:
                task.due_at = due_time(at, steps[task.position])  # counted as it opens
                _set_state(session, task, TaskState.open, at)
                _event(session, request, kind=EventKind.task_opened, by=by, task=task, at=at)
    if is_complete(tasks):
        request.state = RequestState.completed
        request.closed_at = at
        _event(session, request, kind=EventKind.request_completed, by=by, at=at)


def _cancel_remaining(
    session: Session, request: ServiceRequest, tasks: list[Task], *, by: User, at: datetime,
    note: str,
) -> None:
    """Cancels what is left of the request: `tasks` are all its tasks, read under its
    lock."""
    for task in tasks:
        if task.state in ACTIVE_TASK_STATES:
            _set_state(session, task, TaskState.cancelled, at)
            _event(session, request, kind=EventKind.task_cancelled, by=by, task=task,
                   note=note, at=at)


# --- task transitions -------------------------------------------------------------------


def _lock_request(session: Session, request_id: int) -> ServiceRequest:
    """Lock the request row (PostgreSQL) and reload it, so checks see the latest state."""
    return session.exec(
        select(ServiceRequest).where(ServiceRequest.id == request_id)
        .with_for_update().execution_options(populate_existing=True)
    ).one()


def _lock(session: Session, task: Task) -> tuple[ServiceRequest, list[Task]]:
    """Lock the task's request and reload it and all its tasks (`task` among them, as
    loaded under the lock), in step order: what a finished task advances through."""
    request = _lock_request(session, task.request_id)
    tasks = list(session.exec(
        select(Task).where(Task.request_id == request.id).order_by(col(Task.position))
        .execution_options(populate_existing=True)
    ))
    return request, tasks


def _require_member(session: Session, task: Task, user: User) -> None:
    """Refuses anyone but an active member of the task's team, and keeps their membership
    and person rows locked until the commit (PostgreSQL), so that nobody removed or
    deactivated meanwhile ends up holding the task (see teams.is_active_member). Called
    before the request is locked: removing a member or deactivating a person locks
    those rows first and then the requests of the claims it returns, so this order
    cannot deadlock with them."""
    if not is_active_member(session, user_id=user.id, team_id=task.team_id, lock=True):
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
    _set_state(session, task, TaskState.claimed, at)
    task.assignee_id = by.id
    _event(session, request, kind=EventKind.claimed, by=by, task=task, at=at)


def _not_open_message(task: Task) -> str:
    if task.state == TaskState.waiting:
        return "This task is waiting for an earlier step to finish."
    return f"This task is already {task.state}."


@one_transaction
def claim_task(session: Session, *, task: Task, by: User) -> Task:
    """Exactly one person wins a claim; everyone else is told who has the task."""
    _require_member(session, task, by)
    request, _ = _lock(session, task)
    if not may_decide(session, user=by, task=task, request=request):
        raise OwnRequestApproval()  # an approval is claimed only to be decided
    if task.state == TaskState.claimed and task.assignee_id == by.id:
        raise InvalidTransition("You have already claimed this task.")
    _claim_on_the_way(session, request, task, by, utcnow())
    request.updated_at = task.state_changed_at
    session.commit()
    return task


@one_transaction
def release_task(session: Session, *, task: Task, by: User) -> Task:
    _require_member(session, task, by)
    request, _ = _lock(session, task)
    if task.state != TaskState.claimed:
        raise InvalidTransition("Only a claimed task can be released.")
    now = utcnow()
    holder = task.assignee_id
    note = "" if holder == by.id else f"Released from {_name_of(session, holder)}"
    _set_state(session, task, TaskState.open, now)
    task.assignee_id = None
    _event(session, request, kind=EventKind.released, by=by, task=task, note=note, at=now)
    request.updated_at = now
    session.commit()
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
        request = _lock_request(session, request_id)
        for task in session.exec(
            select(Task).where(Task.request_id == request_id, *claimed)
            .order_by(col(Task.position)).execution_options(populate_existing=True)
        ).all():
            _set_state(session, task, TaskState.open, now)
            task.assignee_id = None
            _event(session, request, kind=EventKind.released, by=by, task=task, note=note,
                   at=now)
            request.updated_at = now
            released.append(task)
    return released


@one_transaction
def hand_task(session: Session, *, task: Task, by: User, to: User) -> Task:
    _require_member(session, task, by)
    # The new holder's rows are locked too (and before the request, like the giver's).
    to_is_member = is_active_member(session, user_id=to.id, team_id=task.team_id, lock=True)
    request, _ = _lock(session, task)
    if task.state != TaskState.claimed:
        raise InvalidTransition("Claim the task before handing it to a teammate.")
    if not to_is_member:
        raise NotAllowed(f"{to.name} is not an active member of this team.")
    if task.assignee_id == to.id:
        raise InvalidTransition(f"{to.name} already has this task.")
    if not may_decide(session, user=to, task=task, request=request):
        raise OwnRequestApproval(f"{to.name} asked for this request and cannot approve "
                                 "or reject it: hand it to someone else on the team.")
    now = utcnow()
    task.assignee_id = to.id
    task.state_changed_at = now
    _event(session, request, kind=EventKind.handed, by=by, task=task,
           note=f"Handed to {to.name}", at=now)
    request.updated_at = now
    session.commit()
    return task


def _finish(
    session: Session, *, task: Task, by: User, kind: StepKind, state: TaskState,
    event: EventKind, note: str,
) -> Task:
    _require_member(session, task, by)
    request, tasks = _lock(session, task)
    if task.kind != kind:
        raise InvalidTransition(
            "This is an approval: approve or reject it." if task.kind == StepKind.approval
            else "This task is not an approval: complete it."
        )
    if not may_decide(session, user=by, task=task, request=request):
        raise OwnRequestApproval()
    now = utcnow()
    _claim_on_the_way(session, request, task, by, now)
    _set_state(session, task, state, now)
    _event(session, request, kind=event, by=by, task=task, note=note, at=now)
    if state == TaskState.rejected:
        request.state = RequestState.rejected
        request.closed_at = now
        _event(session, request, kind=EventKind.request_rejected, by=by, note=note, at=now)
        _cancel_remaining(session, request, tasks, by=by, at=now,
                          note="The request was rejected.")
    else:
        _advance(session, request, tasks, by=by, at=now)
    request.updated_at = now
    session.commit()
    return task


@one_transaction
def complete_task(session: Session, *, task: Task, by: User, note: str = "") -> Task:
    return _finish(session, task=task, by=by, kind=StepKind.task, state=TaskState.done,
                   event=EventKind.completed, note=_clean_note(note))


@one_transaction
def approve_task(session: Session, *, task: Task, by: User, note: str = "") -> Task:
    return _finish(session, task=task, by=by, kind=StepKind.approval,
                   state=TaskState.approved, event=EventKind.approved, note=_clean_note(note))


@one_transaction
def reject_task(session: Session, *, task: Task, by: User, reason: str) -> Task:
    reason = _clean_note(reason)
    if not reason:
        raise InvalidNote("Say why you reject it: the requester will read this.")
    return _finish(session, task=task, by=by, kind=StepKind.approval,
                   state=TaskState.rejected, event=EventKind.rejected, note=reason)


# --- the requester's actions and comments -----------------------------------------------


@one_transaction
def cancel_request(
    session: Session, *, service_request: ServiceRequest, by: User, reason: str
) -> ServiceRequest:
    reason = _clean_note(reason)
    if by.id != service_request.requester_id:
        raise NotAllowed("Only the requester can cancel a request.")
    if not reason:
        raise InvalidNote("Say why you cancel it: the teams will read this.")
    request = _lock_request(session, service_request.id)
    if request.state != RequestState.open:
        raise InvalidTransition(f"This request is already {request.state}.")
    now = utcnow()
    request.state = RequestState.cancelled
    request.closed_at = now
    request.updated_at = now
    _event(session, request, kind=EventKind.request_cancelled, by=by, note=reason, at=now)
    _cancel_remaining(session, request, _tasks_of(session, request), by=by, at=now,
                      note="The requester cancelled.")
    session.commit()
    return request


def _check_comment_rate(session: Session, by: User, now: datetime) -> None:
    """Refuses a person's comment past COMMENTS_PER_MINUTE of them (notes included, on
    any request) in the minute before `now`. Counted from the timeline, so it holds
    across processes; the person's row is locked first (PostgreSQL; SQLite's write lock
    does the same) so that two posts at once cannot both count one short of the limit."""
    session.exec(select(User.id).where(User.id == by.id).with_for_update(key_share=True)).all()
    latest = session.exec(
        select(TimelineEvent.created_at)
        .where(TimelineEvent.actor_id == by.id, is_comment(),
               col(TimelineEvent.created_at) > now - COMMENT_WINDOW)
        .order_by(col(TimelineEvent.created_at).desc()).limit(COMMENTS_PER_MINUTE)
    ).all()
    if len(latest) >= COMMENTS_PER_MINUTE:
        # One more is accepted once the oldest of these is a minute old.
        wait = (latest[-1] + COMMENT_WINDOW - now).total_seconds()
        raise TooManyComments(limit=COMMENTS_PER_MINUTE, retry_after=max(1, ceil(wait)))


@one_transaction
def add_comment(
    session: Session, *, service_request: ServiceRequest, by: User, body: str,
    internal: bool, is_team_member: bool,
) -> TimelineEvent:
    """A public comment (requester and teams) or an internal note (teams only)."""
    text = _clean_note(body)
    if not text:
        raise InvalidNote("Write something first.")
    # Internal notes are never shown to the requester, so a requester who also sits on a
    # team of the request must not write one: it would vanish from their own page.
    if internal and (not is_team_member or by.id == service_request.requester_id):
        raise NotAllowed("Only the teams working on this request can add internal notes.")
    if not is_team_member and by.id != service_request.requester_id:
        raise NotAllowed("Only the requester and the teams on this request can comment.")
    now = utcnow()
    _check_comment_rate(session, by, now)
    event = _event(
        session, service_request, kind=EventKind.note if internal else EventKind.comment,
        by=by, note=text, internal=internal, at=now,
    )
    session.commit()
    return event

