"""A rule's change written through the driver at its commit (app.storage.driver_flush,
issue 18): the same rows as the ORM's flush (a filing's new request, tasks and events
included), the same notes for the commit's hooks (the
inbox, the counters, the flow figures, the search documents), nothing done when
anything else is pending, and a rollback that takes the objects back as after a flush."""

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.config import get_settings
from app.format.definitions import parse_service
from app.rules.catalog import save_service
from app.rules.intake import IncomingFile
from app.rules.requests import add_comment
from app.rules.tasks import approve_task, claim_task, complete_task, reject_task
from app.storage import db as storage_db
from app.storage import driver_flush
from app.storage.clock import frozen_at
from app.storage.driver_flush import flush_through_driver
from app.storage.inbox_tables import InboxItem
from app.storage.models import (
    Attachment,
    EventKind,
    RequestFollow,
    ServiceRequest,
    Task,
    TaskDuration,
    TaskState,
    TimelineEvent,
    User,
)
from app.storage.search_index import stored
from app.storage.work_counts import counted_from_tasks, counters
from tests.factories import Factory

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _request_as_written(session: Session, request: ServiceRequest) -> dict[str, Any]:
    """Everything a request's rules wrote, without ids (two runs give other ids)."""
    names = dict(session.exec(select(User.id, User.name)).all())
    tasks = session.exec(select(Task).where(Task.request_id == request.id)
                         .order_by(col(Task.position))
                         .execution_options(populate_existing=True)).all()
    position = {task.id: task.position for task in tasks}
    events = session.exec(select(TimelineEvent).where(TimelineEvent.request_id == request.id)
                          .order_by(col(TimelineEvent.id))).all()
    kind_of = {item.id: (item.kind, position.get(item.task_id)) for item in events}
    fresh = session.exec(select(ServiceRequest).where(ServiceRequest.id == request.id)
                         .execution_options(populate_existing=True)).one()
    return {
        "request": (fresh.state, fresh.updated_at, fresh.closed_at),
        "tasks": [(task.position, task.state, names.get(task.assignee_id), task.opened_at,
                   task.state_changed_at, task.closed_at, task.due_at) for task in tasks],
        "events": [(item.kind, position.get(item.task_id), names.get(item.actor_id),
                    item.note, item.is_internal, item.created_at, item.via) for item in events],
        "inbox": sorted((names[item.user_id], kind_of[item.event_id], item.reason)
                        for item in session.exec(select(InboxItem).where(
                            InboxItem.request_id == request.id))),
        "durations": sorted((position[row.task_id], row.waited_seconds, row.worked_seconds,
                             row.within_target) for row in session.exec(
                                 select(TaskDuration).where(
                                     col(TaskDuration.task_id).in_(list(position))))),
        "document": stored(session).get(request.id, ("", "", ""))[:2],
    }


def _a_day_of_work(session: Session, make: Factory) -> list[dict[str, Any]]:
    """Two requests through three steps (a task, a task, an approval): one claimed and
    completed, completed without a claim, commented on, approved; the other rejected."""
    ivan = make.user("Ivan", teams=("it",))
    fay = make.user("Fay", teams=("facilities",))
    ana = make.user("Ana", teams=("approvers",))
    rita = make.user("Rita")
    service = make.service(name="New laptop", steps=[("it", "task"), ("facilities", "task"),
                                  ("approvers", "approval")], target_hours=4)
    done: list[ServiceRequest] = []
    for n, ending in enumerate(("approve", "reject")):
        at = START + timedelta(days=n)
        with frozen_at(at):
            request = make.request(service, rita, {"summary": f"Laptop {ending}"})
        it, facilities, approval = make.tasks(request)
        with frozen_at(at + timedelta(hours=1)):
            claim_task(session, task=it, by=ivan)
        with frozen_at(at + timedelta(hours=2)):
            complete_task(session, task=it, by=ivan, note="Imaged")
        with frozen_at(at + timedelta(hours=3)):
            complete_task(session, task=facilities, by=fay)  # claimed on the way
        with frozen_at(at + timedelta(hours=4)):
            add_comment(session, service_request=request, by=rita, body="Thanks, all",
                        internal=False, is_team_member=False)
        with frozen_at(at + timedelta(hours=5)):
            if ending == "approve":
                approve_task(session, task=approval, by=ana, note="Fine")
            else:
                reject_task(session, task=approval, by=ana, reason="Over budget")
        done.append(request)
    return [_request_as_written(session, request) for request in done]


@pytest.mark.parametrize("driver_reads", [True, False], ids=["reads-through-driver", "off"])
def test_the_rules_write_through_the_driver_what_the_orm_writes(
        session: Session, make: Factory, monkeypatch: pytest.MonkeyPatch,
        driver_reads: bool) -> None:
    # The writes go through the driver whatever the reads' switch says.
    monkeypatch.setattr(get_settings(), "driver_reads", driver_reads)
    written_by_driver: list[bool] = []

    def counted(session: Session) -> bool:
        written_by_driver.append(flush_through_driver(session))
        return written_by_driver[-1]

    # Both ways in: a rule's commit (app.storage.db.commit_change) and a flush a rule asks
    # for before it commits (driver_flush.flush: filing's, for the new request's id).
    monkeypatch.setattr(storage_db, "flush_through_driver", counted)
    monkeypatch.setattr(driver_flush, "flush_through_driver", counted)
    through_the_driver = _a_day_of_work(session, make)
    # For each request: its filing (the request, then its tasks and first event), the
    # claim, the two completions, the comment and the decision.
    assert written_by_driver == [True] * 14
    monkeypatch.setattr(storage_db, "flush_through_driver", lambda _session: False)
    monkeypatch.setattr(driver_flush, "flush_through_driver", lambda _session: False)
    through_the_orm = _a_day_of_work(session, make)
    assert through_the_driver == through_the_orm
    assert through_the_driver[0]["request"][0] == "completed"
    assert through_the_driver[1]["request"][0] == "rejected"
    assert through_the_driver[0]["inbox"] and through_the_driver[0]["durations"]
    assert "Thanks" in through_the_driver[0]["document"][0]
    assert counters(session) == counted_from_tasks(session)


def _a_task_and_its_worker(make: Factory) -> tuple[Task, User]:
    return make.tasks(make.request(make.service(), make.user("Rita")))[0], \
        make.user("Ivan", teams=("it",))


def _claimed_unwritten(session: Session, task: Task, ivan: User) -> TimelineEvent:
    task.state = TaskState.claimed
    task.assignee_id = ivan.id
    recorded = TimelineEvent(request_id=task.request_id, task_id=task.id, actor_id=ivan.id,
                             kind=EventKind.claimed)
    session.add(recorded)
    return recorded


def test_anything_else_pending_is_left_to_the_orm(session: Session, make: Factory) -> None:
    task, ivan = _a_task_and_its_worker(make)
    recorded = _claimed_unwritten(session, task, ivan)
    session.add(RequestFollow(request_id=task.request_id, user_id=task.assignee_id,
                              following=True))
    assert flush_through_driver(session) is False
    assert recorded.id is None and recorded in session.new
    session.commit()  # the ORM writes it all
    assert session.get(TimelineEvent, recorded.id) is recorded


def test_a_new_row_with_none_where_its_column_takes_none_is_left_to_the_orm(
        session: Session, make: Factory) -> None:
    """The ORM leaves a None out of its INSERT (the column's default applies); the
    driver would insert it as NULL."""
    task, ivan = _a_task_and_its_worker(make)
    recorded = _claimed_unwritten(session, task, ivan)
    recorded.created_at = None  # type: ignore[assignment]
    assert flush_through_driver(session) is False
    recorded.created_at = START
    assert flush_through_driver(session) is True


def test_a_rollback_takes_back_what_the_driver_wrote_as_after_a_flush(
        session: Session, make: Factory) -> None:
    task, ivan = _a_task_and_its_worker(make)
    savepoint = session.begin_nested()
    recorded = _claimed_unwritten(session, task, ivan)
    assert flush_through_driver(session) is True
    assert recorded.id is not None and not (session.new or session.dirty)
    assert session.get(TimelineEvent, recorded.id) is recorded  # persistent, as flushed
    savepoint.rollback()
    assert recorded not in session  # the ORM expunges what a rolled-back flush added
    assert (task.state, task.assignee_id) == (TaskState.open, None)  # read again


def _filed_as_written(session: Session, request: ServiceRequest) -> dict[str, Any]:
    """A filed request's rows, every column but the ids (two filings give other ids)."""
    def without_ids(row: Any) -> dict[str, Any]:
        return {name: value for name, value in row.model_dump().items()
                if name not in ("id", "request_id", "task_id")}
    tasks = session.exec(select(Task).where(Task.request_id == request.id)
                         .order_by(col(Task.position))).all()
    position = {task.id: task.position for task in tasks}
    return {
        "request": without_ids(session.exec(select(ServiceRequest).where(
            ServiceRequest.id == request.id).execution_options(populate_existing=True)).one()),
        "tasks": [without_ids(task) for task in tasks],
        "events": [(without_ids(item), position.get(item.task_id))
                   for item in session.exec(select(TimelineEvent).where(
                       TimelineEvent.request_id == request.id).order_by(col(TimelineEvent.id)))],
        # (The stored file's name is random.)
        "files": [(item.field_key, item.filename, item.size, item.uploaded_by_id,
                   item.created_at)
                  for item in session.exec(select(Attachment).where(
                      Attachment.request_id == request.id))],
        "document": stored(session).get(request.id),
    }


PURCHASE = [
    {"name": "Manager approval", "team": "approvers", "kind": "approval",
     "condition": "amount > 1000"},
    {"name": "Place order", "team": "finance"},
    {"name": "Deliver", "team": "facilities"},
]


def test_a_filing_writes_through_the_driver_what_the_orm_writes(
        session: Session, make: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request with a step not needed (its event is written between the request and
    the rest) and a file; and one whose every step is skipped, completed at once."""
    for step in PURCHASE:
        make.team(step["team"])
    purchase, _ = save_service(session, definition=parse_service({
        "slug": "purchase", "name": "Purchase", "category": "Test", "fields": [
            {"key": "summary", "label": "Summary", "type": "text"},
            {"key": "amount", "label": "Amount", "type": "number"},
            {"key": "quote", "label": "Quote", "type": "file"}],
        "steps": PURCHASE}))
    only_big, _ = save_service(session, definition=parse_service({
        "slug": "big", "name": "Big", "category": "Test",
        "fields": [{"key": "amount", "label": "Amount", "type": "number"}],
        "steps": [PURCHASE[0]]}))
    session.commit()
    rita = make.user("Rita")
    written_by_driver: list[bool] = []

    def counted(session: Session) -> bool:
        written_by_driver.append(flush_through_driver(session))
        return written_by_driver[-1]

    def file_both() -> list[dict[str, Any]]:
        with frozen_at(START):
            quote = IncomingFile("quote.pdf", "application/pdf", 5, io.BytesIO(b"%PDF!"))
            filed = [make.request(purchase, rita, {"summary": "Chairs", "amount": "500"},
                                  uploads={"quote": [quote]}),
                     make.request(only_big, rita, {"amount": "10"})]
        return [_filed_as_written(session, request) for request in filed]

    monkeypatch.setattr(storage_db, "flush_through_driver", counted)
    monkeypatch.setattr(driver_flush, "flush_through_driver", counted)
    through_the_driver = file_both()
    # The first: the request, the skipped step's task, then the rest at the commit; the
    # second: the request, its one skipped task, then its events at the commit.
    assert written_by_driver == [True] * 6
    monkeypatch.setattr(storage_db, "flush_through_driver", lambda _session: False)
    monkeypatch.setattr(driver_flush, "flush_through_driver", lambda _session: False)
    through_the_orm = file_both()
    assert through_the_driver == through_the_orm
    assert [len(filed["tasks"]) for filed in through_the_driver] == [3, 1]
    assert through_the_driver[0]["files"] and "Chairs" in through_the_driver[0]["document"][0]
    assert through_the_driver[1]["request"]["state"] == "completed"
    assert counters(session) == counted_from_tasks(session)
