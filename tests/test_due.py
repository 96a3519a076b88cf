"""Due times in lists (app/reads/queues.py, app/reads/overview.py): the overdue filter, the "due
soonest" order and its keyset pages, and the overview's overdue counts. Display and
sorting only: nothing here sends anything to anyone."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.format.definitions import parse_service
from app.reads.overview import open_work_by_step, open_work_by_team
from app.reads.queues import BadCursor, Cursor, TaskFilter
from app.reads.task_counts import overdue_counts
from app.reads.task_rows import list_tasks
from app.rules.catalog import save_service
from app.rules.tasks import claim_task, complete_task
from app.storage.clock import frozen_at
from app.storage.models import QUEUED_TASK_STATES, Service, Task
from tests.factories import Factory

NOW = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)  # a Monday


def define(make: Factory, *, steps: list[dict[str, Any]], slug: str | None = None,
           ordering: str = "enforced", fields: list[dict[str, Any]] | None = None) -> Service:
    """A service with steps as the definition format writes them (targets, conditions,
    stages), its teams created as needed."""
    for step in steps:
        make.team(step["team"])
    slug = slug or f"due-{len(make.session.exec(select(Service)).all()) + 1}"
    definition = parse_service({
        "slug": slug, "name": slug.replace("-", " ").title(), "category": "General",
        "ordering": ordering,
        "fields": fields or [{"key": "summary", "label": "Summary", "type": "text"}],
        "steps": steps,
    })
    service, _version = save_service(make.session, definition=definition)
    make.session.commit()
    return service


def ids(page) -> list[int]:  # type: ignore[no-untyped-def]
    return [row.task.id for row in page.rows]


def set_due(session: Session, task: Task, due_at: datetime | None) -> Task:
    task.due_at = due_at
    session.add(task)
    session.flush()
    return task


@pytest.fixture
def it_queue(session: Session, make: Factory):  # type: ignore[no-untyped-def]
    """A flexible IT service of three steps: due 4 h after it opens, no target, and due
    two business days after. Each request puts three tasks in the IT queue."""
    service = define(make, ordering="flexible", steps=[
        {"name": "Quick", "team": "it", "target_hours": 4},
        {"name": "Whenever", "team": "it"},
        {"name": "Careful", "team": "it", "target_business_days": 2},
    ])
    return make.team("it"), service


def test_opening_a_task_gives_it_the_due_time_of_its_step(session, make, it_queue):
    _it, service = it_queue
    with frozen_at(NOW):
        quick, whenever, careful = make.tasks(make.request(service, make.user()))
    assert quick.due_at == NOW + timedelta(hours=4)
    assert whenever.due_at is None
    assert careful.due_at == NOW + timedelta(days=2)  # Monday + 2 business days


def test_the_overdue_filter_keeps_open_and_claimed_tasks_past_their_due_time(
    session, make, it_queue
):
    it, service = it_queue
    ivan = make.user("Ivan", teams=("it",))
    with frozen_at(NOW - timedelta(hours=10)):
        late_open, _undated, _careful = make.tasks(make.request(service, make.user()))
        late_claimed, _, _ = make.tasks(make.request(service, make.user()))
        late_done, _, _ = make.tasks(make.request(service, make.user()))
    with frozen_at(NOW - timedelta(hours=1)):
        fresh, _, _ = make.tasks(make.request(service, make.user()))
    claim_task(session, task=late_claimed, by=ivan)
    complete_task(session, task=late_done, by=ivan)
    page = list_tasks(session, filters=TaskFilter(team_ids=[it.id], overdue=True, now=NOW))
    assert ids(page) == [late_open.id, late_claimed.id]
    assert page.total == 2
    assert fresh.id not in ids(page)
    # Exactly at the due time is not yet overdue.
    at_due = list_tasks(session, filters=TaskFilter(
        team_ids=[it.id], overdue=True, now=fresh.due_at))
    assert fresh.id not in ids(at_due)


def test_the_overdue_filter_combines_with_the_state_filter(session, make, it_queue):
    it, service = it_queue
    ivan = make.user("Ivan", teams=("it",))
    with frozen_at(NOW - timedelta(hours=10)):
        mine, _, _ = make.tasks(make.request(service, make.user()))
        unclaimed, _, _ = make.tasks(make.request(service, make.user()))
    claim_task(session, task=mine, by=ivan)
    mine_late = TaskFilter(team_ids=[it.id], overdue=True, now=NOW, state="mine",
                           viewer_id=ivan.id)
    assert ids(list_tasks(session, filters=mine_late)) == [mine.id]
    open_late = TaskFilter(team_ids=[it.id], overdue=True, now=NOW, state="open")
    assert ids(list_tasks(session, filters=open_late)) == [unclaimed.id]


def test_due_soonest_puts_dated_tasks_first_then_undated_ones_by_id(session, make, it_queue):
    it, service = it_queue
    with frozen_at(NOW):
        first = make.tasks(make.request(service, make.user()))
    with frozen_at(NOW - timedelta(hours=1)):
        second = make.tasks(make.request(service, make.user()))
    page = list_tasks(session, filters=TaskFilter(team_ids=[it.id], sort="due"))
    # Quick tasks (4 h) before careful ones (2 business days); among equal due times the
    # lower id; the tasks without a target last, by id.
    assert ids(page) == [second[0].id, first[0].id, second[2].id, first[2].id,
                         first[1].id, second[1].id]
    oldest = list_tasks(session, filters=TaskFilter(team_ids=[it.id]))
    assert ids(oldest) == [t.id for t in second] + [t.id for t in first]


def mixed_queue(session: Session, make: Factory, size: int):  # type: ignore[no-untyped-def]
    """`size` IT tasks: due times with many ties, a third of them with no due time at
    all, filed out of order, so that pages must break ties by id and cross from the
    dated tasks to the undated ones."""
    it = make.team("it")
    service = make.service(steps=[("it", "task")])
    for index in range(size):
        with frozen_at(NOW - timedelta(hours=index % 4)):
            task = make.tasks(make.request(service, make.user()))[0]
        due = None if index % 3 == 0 else NOW + timedelta(hours=(size - index) // 4 - 2)
        set_due(session, task, due)
    return it


def expected_due_order(session: Session, team_id: int) -> list[int]:
    tasks = session.exec(select(Task).where(
        Task.team_id == team_id, col(Task.state).in_(QUEUED_TASK_STATES))).all()
    far = datetime.max.replace(tzinfo=UTC)
    return [t.id for t in sorted(tasks, key=lambda t: (t.due_at is None, t.due_at or far, t.id))]


def chain(session: Session, filters: TaskFilter, limit: int) -> tuple[list[int], int]:
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        page = list_tasks(session, filters=filters, after=after, limit=limit)
        pages += 1
        assert page.total is None if after else page.total is not None
        seen += ids(page)
        if page.next_cursor is None:
            return seen, pages
        after = page.next_cursor
        assert pages < 100


@pytest.mark.parametrize("limit", [1, 2, 3, 5])
def test_due_soonest_pages_chain_through_dated_and_undated_tasks_without_gaps_or_repeats(
    session, make, limit
):
    it = mixed_queue(session, make, 14)
    filters = TaskFilter(team_ids=[it.id], sort="due")
    everything = expected_due_order(session, it.id)
    assert len(everything) == 14
    seen, pages = chain(session, filters, limit)
    assert seen == everything
    assert pages == -(-14 // limit)
    assert list_tasks(session, filters=filters).total == 14


def test_overdue_pages_chain_in_both_orders(session, make):
    it = mixed_queue(session, make, 16)
    late = [t for t in expected_due_order(session, it.id)
            if (task := session.get(Task, t)) and task.due_at and task.due_at < NOW]
    assert 3 <= len(late) < 16
    due_first, _ = chain(session, TaskFilter(team_ids=[it.id], overdue=True, now=NOW,
                                             sort="due"), 2)
    assert due_first == late
    oldest, _ = chain(session, TaskFilter(team_ids=[it.id], overdue=True, now=NOW), 2)
    by_opened = sorted(late, key=lambda t: (session.get(Task, t).opened_at, t))  # type: ignore[union-attr]
    assert oldest == by_opened
    first = list_tasks(session, filters=TaskFilter(team_ids=[it.id], overdue=True, now=NOW),
                       limit=2)
    assert first.total == len(late)


def test_a_due_cursor_encodes_the_due_time_or_that_there_is_none(session, make):
    it = mixed_queue(session, make, 6)
    order = expected_due_order(session, it.id)
    filters = TaskFilter(team_ids=[it.id], sort="due")
    page = list_tasks(session, filters=filters, limit=1)
    last = session.get(Task, order[0])
    assert last is not None and last.due_at is not None
    assert page.next_cursor == f"due_{last.due_at.isoformat()}_{last.id}"
    assert Cursor.decode(page.next_cursor, "due") == Cursor(last.due_at, last.id, "due")
    undated = [t for t in order if session.get(Task, t).due_at is None]  # type: ignore[union-attr]
    cursor = Cursor(None, undated[0], "due").encode()
    assert cursor == f"due_none_{undated[0]}"
    rest = list_tasks(session, filters=filters, after=cursor)
    assert ids(rest) == undated[1:]


@pytest.mark.parametrize("cursor", [
    "2024-03-01T09:00:00+00:00_5",  # an oldest-first cursor
    "due_", "due_none", "due_none_x", "due_yesterday_5", "due_2024-03-01T09:00:00_5",
    "due_none_99999999999999999999", "none_5",
])
def test_a_cursor_from_another_order_or_malformed_is_refused(session, make, cursor):
    it = mixed_queue(session, make, 2)
    with pytest.raises(BadCursor):
        list_tasks(session, filters=TaskFilter(team_ids=[it.id], sort="due"), after=cursor)


def test_a_due_cursor_is_refused_by_the_oldest_first_order(session, make):
    it = mixed_queue(session, make, 4)
    cursor = list_tasks(session, filters=TaskFilter(team_ids=[it.id], sort="due"),
                        limit=1).next_cursor
    with pytest.raises(BadCursor):
        list_tasks(session, filters=TaskFilter(team_ids=[it.id]), after=cursor)


# --- overview and queue counts ----------------------------------------------------------


def build_late_work(session: Session, make: Factory):  # type: ignore[no-untyped-def]
    """Two services over three teams; some tasks late, some not, some without targets,
    some claimed, some finished (which count nowhere)."""
    laptop = define(make, slug="laptop", steps=[
        {"name": "Prepare", "team": "it", "target_hours": 8},
        {"name": "Approve", "team": "hr", "kind": "approval", "target_hours": 2},
    ])
    onboard = define(make, slug="onboard", ordering="flexible", steps=[
        {"name": "Paperwork", "team": "hr", "target_business_days": 1},
        {"name": "Desk", "team": "facilities"},
        {"name": "Account", "team": "it", "target_hours": 1},
    ])
    ivan = make.user("Ivan", teams=("it",))
    hana = make.user("Hana", teams=("hr",))
    for hours_ago in (30, 20, 9, 7, 1):
        with frozen_at(NOW - timedelta(hours=hours_ago)):
            make.request(laptop, make.user())
            make.request(onboard, make.user())
    tasks = session.exec(select(Task).order_by(col(Task.id))).all()
    claim_task(session, task=tasks[0], by=ivan)
    with frozen_at(NOW - timedelta(hours=3)):
        complete_task(session, task=tasks[5], by=ivan)  # its approval opens, due -1 h
    claim_task(session, task=tasks[2], by=hana)
    complete_task(session, task=tasks[4], by=ivan)  # late, but done: counts nowhere
    return laptop, onboard


def recount_late(session: Session, key) -> dict:  # type: ignore[no-untyped-def,type-arg]
    counts: dict = defaultdict(int)  # type: ignore[type-arg]
    for task in session.exec(select(Task)):
        if task.state in QUEUED_TASK_STATES:
            counts[key(task)] += bool(task.due_at and task.due_at < NOW)
    return dict(counts)


def test_the_overview_counts_overdue_work_per_team_exactly(session, make):
    build_late_work(session, make)
    by_team = {line.team.id: line.work.overdue for line in open_work_by_team(session, now=NOW)}
    assert by_team == recount_late(session, lambda task: task.team_id)
    assert sum(by_team.values()) > 3
    assert 0 in by_team.values()  # facilities: no targets, never overdue


def test_the_overview_counts_overdue_work_per_service_and_step_exactly(session, make):
    build_late_work(session, make)
    by_step = {(line.service.id, line.position): line.work.overdue
               for line in open_work_by_step(session, now=NOW)}
    assert by_step == recount_late(session, lambda task: (task.service_id, task.position))


def test_overdue_counts_follow_the_moment_they_are_read_at(session, make):
    build_late_work(session, make)
    early = NOW - timedelta(days=5)
    assert all(line.work.overdue == 0 for line in open_work_by_team(session, now=early))
    later = NOW + timedelta(days=30)
    for line in open_work_by_step(session, now=later):
        if line.step_name != "Desk":
            assert line.work.overdue == line.work.count


def test_queue_overdue_counts_match_the_overdue_filter(session, make):
    build_late_work(session, make)
    teams = [make.team(slug) for slug in ("it", "hr", "facilities", "legal")]
    counts = overdue_counts(session, [team.id for team in teams], now=NOW)
    for team in teams:
        page = list_tasks(session, filters=TaskFilter(team_ids=[team.id], overdue=True,
                                                      now=NOW))
        assert counts[team.id] == page.total
    assert counts[make.team("legal").id] == 0
