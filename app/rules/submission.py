"""Filing a request (PRODUCT.md rule 1): the request, all its tasks, its files and its
first timeline event in one transaction, or none of them."""

from pathlib import Path

from sqlalchemy import Integer, String, bindparam
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.format.stages import skip_reason, step_is_needed
from app.format.targets import due_time
from app.rules.attachments import StagedFile, discard, place, stage
from app.rules.catalog import kept_definition
from app.rules.errors import InvalidTransition, ServiceChanged
from app.rules.intake import Intake, request_title
from app.rules.progress import record_event
from app.rules.teams import kept_team_ids_by_slug
from app.storage import flow_figures, work_counts
from app.storage.db import commit_change, one_transaction
from app.storage.driver_flush import flush
from app.storage.driver_reads import DriverRead
from app.storage.models import (
    Attachment,
    EventKind,
    RequestState,
    Service,
    ServiceRequest,
    ServiceVersion,
    Task,
    TaskState,
    User,
    utcnow,
)

# Built once: a filing asks both twice (the route, then the rule under its lock), and
# building a statement cost more than SQLite's answer to it. The look-up reads the id
# alone, through the driver (app.storage.driver_reads): almost every filing finds none,
# and the ORM's select cost 0.12 ms to say so on SQLite, 0.30 on PostgreSQL (in
# process), the driver's 0.015 and 0.09.
_SUBMITTED_WITH = DriverRead(core_select(col(ServiceRequest.id)).where(
    col(ServiceRequest.requester_id) == bindparam("requester", type_=Integer),
    col(ServiceRequest.submission_key) == bindparam("key", type_=String)))
_SERVICE_LOCKED = DriverRead(
    core_select(col(Service.current_version_id), col(Service.is_active))
    .where(col(Service.id) == bindparam("service", type_=Integer)).with_for_update(read=True))


def submitted_with(session: Session, *, requester: User, key: str) -> ServiceRequest | None:
    """The request `requester` filed with a form's one-time key, if any (loaded only
    when there is one)."""
    found = _SUBMITTED_WITH.first(session.connection(),
                                  {"requester": requester.id, "key": key})
    return None if found is None else session.get_one(ServiceRequest, found[0])


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
    (current_version_id, is_active), = _SERVICE_LOCKED.rows(  # one row: services stay
        session.connection(), {"service": service.id})
    if not is_active:
        raise InvalidTransition("This service is retired and takes no new requests.")
    if current_version_id != version.id:
        raise ServiceChanged()
    definition = kept_definition(session, version)
    teams = kept_team_ids_by_slug(session)
    now = utcnow()
    request = ServiceRequest(
        service_id=service.id, version_id=version.id, requester_id=requester.id,
        title=request_title(definition, intake.answers), answers=intake.answers,
        created_at=now, updated_at=now, submission_key=submission_key,
    )
    session.add(request)
    flush(session)
    flow_figures.request_submitted(session, request)
    record_event(session, request, kind=EventKind.submitted, by=requester, at=now)
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
            flush(session)
            record_event(session, request, kind=EventKind.task_skipped, by=requester,
                         task=task, note=skip_reason(definition, position), at=now)
    if first_stage is None:
        # Every step's condition was false: nothing to do, so nothing is left open.
        request.state = RequestState.completed
        request.closed_at = now
        flow_figures.request_completed(session, request)
        record_event(session, request, kind=EventKind.request_completed, by=requester,
                     at=now)
    for file in staged:
        session.add(Attachment(
            request_id=request.id, field_key=file.field_key, filename=file.filename,
            content_type=file.content_type[:120], size=file.size,
            storage_path=file.storage_path(request.id), uploaded_by_id=requester.id,
        ))
    commit_change(session)
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
