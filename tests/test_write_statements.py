"""What filing, claiming and completing send (issue 18): the side writes of one commit
are one statement each however many steps and teams it touches (the open work counters,
the queues' versions), and the inbox reads nothing for a commit whose events reach no
one (a claim). The counts themselves stay right: test_work_counts, test_page_cache."""

from sqlalchemy import event
from sqlmodel import Session, select

from app.rules.bulk import BulkAction, act_on_tasks
from app.rules.tasks import claim_task, complete_task
from app.storage.models import InboxItem, QueueVersion, ServiceRequest, Team
from app.storage.work_counts import counted_from_tasks, counters
from tests.factories import Factory


def _statements(session: Session) -> list[str]:
    sent: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute",
                 lambda _c, _k, statement, *_a: sent.append(" ".join(statement.split())))
    return sent


def _versions(session: Session) -> dict[str, int]:
    return {slug: version for slug, version in session.exec(
        select(Team.slug, QueueVersion.version).join(
            QueueVersion, QueueVersion.team_id == Team.id)  # type: ignore[arg-type]
        .execution_options(populate_existing=True))}


def _of(sent: list[str], start: str) -> list[str]:
    return [statement for statement in sent if statement.startswith(start)]


def test_filing_a_request_in_three_teams_counts_and_raises_them_in_one_statement_each(
        session: Session, make: Factory) -> None:
    service = make.service(slug="onboard", ordering="flexible",
                           steps=[("hr", "task"), ("facilities", "task"), ("it", "task")])
    rita = make.user("Rita")
    before = _versions(session)
    sent = _statements(session)
    make.request(service, rita)
    assert len(_of(sent, "INSERT INTO open_work_count")) == 1
    assert len(_of(sent, "INSERT INTO queue_version")) == 1
    assert counters(session) == counted_from_tasks(session)
    after = _versions(session)
    assert {slug: after[slug] - before.get(slug, 0) for slug in after} == {
        "hr": 1, "facilities": 1, "it": 1}


def test_a_task_finished_that_opens_the_next_team_s_raises_both_queues_at_once(
        session: Session, make: Factory) -> None:
    service = make.service(slug="laptop", steps=[("it", "task"), ("facilities", "task")])
    ivan = make.user("Ivan", teams=("it",))
    request = make.request(service, make.user("Rita"))
    task = make.tasks(request)[0]
    claim_task(session, task=task, by=ivan)
    before = _versions(session)
    sent = _statements(session)
    complete_task(session, task=task, by=ivan)
    assert len(_of(sent, "INSERT INTO queue_version")) == 1
    assert len(_of(sent, "INSERT INTO open_work_count")) == 1
    assert counters(session) == counted_from_tasks(session)
    after = _versions(session)
    assert {slug: after[slug] - before.get(slug, 0) for slug in after} == {
        "it": 1, "facilities": 1}


def test_a_claim_reads_nothing_for_the_inbox(session: Session, make: Factory) -> None:
    service = make.service(slug="laptop", steps=[("it", "task"), ("facilities", "task")])
    ivan = make.user("Ivan", teams=("it",))
    request = make.request(service, make.user("Rita"))
    task = make.tasks(request)[0]
    sent = _statements(session)
    claim_task(session, task=task, by=ivan)
    assert _of(sent, "SELECT request_follow") == []
    assert len([s for s in sent if s.startswith("SELECT service_request.id")]) == 1  # the lock
    assert session.get(ServiceRequest, request.id) is not None


def test_a_bulk_completion_reads_each_request_and_its_tasks_once_for_the_batch(
        session: Session, make: Factory) -> None:
    # Locked and read at the batch's start (app.rules.progress.hold_requests), not again
    # for each task: two statements a task fewer.
    service = make.service(slug="laptop", steps=[("it", "task"), ("facilities", "task")])
    ivan = make.user("Ivan", teams=("it",))
    rita = make.user("Rita")
    requests = [make.request(service, rita) for _ in range(4)]
    tasks = [make.tasks(request)[0] for request in requests]
    act_on_tasks(session, tasks=tasks, by=ivan, action=BulkAction.claim)
    sent = _statements(session)
    outcomes = act_on_tasks(session, tasks=tasks, by=ivan, action=BulkAction.complete)
    assert all(outcome.done for outcome in outcomes)
    read = _of(sent, "SELECT service_request.id")
    assert len([statement for statement in read if " JOIN " not in statement]) == 1
    assert len(_of(sent, "SELECT task.id")) == 1
    # The inbox's read of the requests tells whether each requester is active: telling
    # them their request moved on asks nothing more about them.
    assert len([statement for statement in read if " JOIN " in statement]) == 1
    assert _of(sent, 'SELECT "user".id') == _of(sent, "SELECT user.id") == []
    assert session.exec(select(InboxItem.reason).where(InboxItem.user_id == rita.id)).all() \
        == ["moved"] * 4
