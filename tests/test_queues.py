"""Team queues as lists (app/reads/queues.py, task_rows.py, task_counts.py): what a queue
holds, its order, its filters and its keyset pages."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, update
from sqlmodel import col, select

from app.reads import task_rows
from app.reads.queues import BadCursor, TaskFilter
from app.reads.task_counts import queue_counts
from app.reads.task_rows import list_tasks
from app.rules.requests import cancel_request
from app.rules.tasks import claim_task, complete_task
from app.storage.clock import frozen_at
from app.storage.directory_cache import note_directory_version
from app.storage.models import Task, Team
from tests.factories import Factory

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def filed_at(make: Factory, moment: datetime, service, requester=None, summary="Help"):  # type: ignore[no-untyped-def]
    with frozen_at(moment):
        return make.request(service, requester or make.user(), {"summary": summary})


def queue_of(session, team, **filters):  # type: ignore[no-untyped-def]
    """The first page of the team's queue, as (request id, task id) pairs."""
    page = list_tasks(session, filters=TaskFilter(team_ids=[team.id], **filters))
    return [(row.request.id, row.task.id) for row in page.rows]


def request_ids(session, team, **filters):  # type: ignore[no-untyped-def]
    return [request_id for request_id, _task_id in queue_of(session, team, **filters)]


def test_a_queue_holds_only_its_teams_open_and_claimed_tasks(session, make):
    it = make.team("it")
    service = make.service(steps=[("it", "task"), ("hr", "task")])
    other = make.service(steps=[("hr", "task"), ("it", "task")])
    ivan = make.user("Ivan", teams=("it",))
    hana = make.user("Hana", teams=("hr",))
    requester = make.user()
    opened = make.request(service, requester)
    claimed = make.request(service, requester)
    claim_task(session, task=make.tasks(claimed)[0], by=ivan)
    done = make.request(service, requester)
    complete_task(session, task=make.tasks(done)[0], by=ivan)
    cancelled = make.request(service, requester)
    cancel_request(session, service_request=cancelled, by=requester, reason="Not needed")
    waiting = make.request(other, requester)  # its IT step waits for HR
    hr_only = make.request(other, requester)
    complete_task(session, task=make.tasks(hr_only)[0], by=hana)  # now IT's turn
    assert [task.state for task in make.tasks(waiting)] == ["open", "waiting"]

    listed = request_ids(session, it)
    assert sorted(listed) == sorted([opened.id, claimed.id, hr_only.id])
    assert request_ids(session, make.team("hr")) == [done.id, waiting.id]


def test_a_queue_is_oldest_first_by_opened_at_then_id(session, make):
    it = make.team("it")
    service = make.service(steps=[("it", "task")])
    newest = filed_at(make, START + timedelta(days=2), service)
    oldest = filed_at(make, START, service)
    tie_first = filed_at(make, START + timedelta(days=1), service)
    tie_second = filed_at(make, START + timedelta(days=1), service)
    assert request_ids(session, it) == [oldest.id, tie_first.id, tie_second.id, newest.id]


def test_a_step_that_opens_later_queues_by_when_it_opened_not_when_it_was_filed(
    session, make
):
    it = make.team("it")
    service = make.service(steps=[("hr", "task"), ("it", "task")])
    direct = make.service(steps=[("it", "task")])
    hana = make.user(teams=("hr",))
    early = filed_at(make, START, service)
    middle = filed_at(make, START + timedelta(hours=1), direct)
    with frozen_at(START + timedelta(hours=2)):
        complete_task(session, task=make.tasks(early)[0], by=hana)
    assert request_ids(session, it) == [middle.id, early.id]


def test_the_service_filter_keeps_one_services_tasks(session, make):
    it = make.team("it")
    laptops = make.service(steps=[("it", "task")])
    phones = make.service(steps=[("it", "task")])
    laptop = make.request(laptops, make.user())
    phone = make.request(phones, make.user())
    assert request_ids(session, it, service_id=laptops.id) == [laptop.id]
    assert request_ids(session, it, service_id=phones.id) == [phone.id]


def test_the_state_filter_keeps_open_claimed_or_mine(session, make):
    it = make.team("it")
    service = make.service(steps=[("it", "task")])
    ivan, iris = make.user("Ivan", teams=("it",)), make.user("Iris", teams=("it",))
    unclaimed = make.request(service, make.user())
    ivans = make.request(service, make.user())
    iriss = make.request(service, make.user())
    claim_task(session, task=make.tasks(ivans)[0], by=ivan)
    claim_task(session, task=make.tasks(iriss)[0], by=iris)
    assert request_ids(session, it, state="open") == [unclaimed.id]
    assert request_ids(session, it, state="claimed") == [ivans.id, iriss.id]
    assert request_ids(session, it, state="mine", viewer_id=ivan.id) == [ivans.id]
    assert request_ids(session, it, state="mine", viewer_id=iris.id) == [iriss.id]
    assert request_ids(session, it) == [unclaimed.id, ivans.id, iriss.id]


@pytest.mark.parametrize("spelling", ["REQ-{}", "{}", "req{}", " req-{} "])
def test_searching_a_request_number_finds_that_request(session, make, spelling):
    it = make.team("it")
    service = make.service(steps=[("it", "task")])
    requests = [make.request(service, make.user()) for _ in range(3)]
    wanted = requests[1]
    assert request_ids(session, it, search=spelling.format(wanted.id)) == [wanted.id]


def test_searching_words_of_the_title_finds_matching_requests(session, make):
    it = make.team("it")
    service = make.service(steps=[("it", "task")], name="New laptop")
    berlin = make.request(service, make.user(), {"summary": "Berlin office, second floor"})
    paris = make.request(service, make.user(), {"summary": "Paris office"})
    assert request_ids(session, it, search="berlin") == [berlin.id]
    assert request_ids(session, it, search="OFFICE") == [berlin.id, paris.id]
    # Words need not be adjacent nor in the title's order.
    assert request_ids(session, it, search="floor berlin") == [berlin.id]
    assert request_ids(session, it, search="laptop paris") == [paris.id]
    assert request_ids(session, it, search="berlin paris") == []
    assert request_ids(session, it, search="tokyo") == []


def test_every_task_of_a_request_carries_its_title_for_the_search(session, make):
    make.team("it")
    make.team("hr")
    service = make.service(steps=[("it", "task"), ("hr", "task")], name="Move desk")
    request = make.request(service, make.user(), {"summary": "Third floor"})
    titles = session.exec(select(Task.request_title).where(Task.request_id == request.id))
    assert list(titles) == [request.title, request.title]
    assert "Third floor" in request.title


def test_filters_combine(session, make):
    it = make.team("it")
    laptops = make.service(steps=[("it", "task")])
    phones = make.service(steps=[("it", "task")])
    ivan = make.user(teams=("it",))
    wanted = make.request(laptops, make.user(), {"summary": "Berlin"})
    make.request(laptops, make.user(), {"summary": "Berlin"})  # open, not claimed
    claimed_phone = make.request(phones, make.user(), {"summary": "Berlin"})
    claim_task(session, task=make.tasks(wanted)[0], by=ivan)
    claim_task(session, task=make.tasks(claimed_phone)[0], by=ivan)
    assert request_ids(
        session, it, service_id=laptops.id, state="claimed", search="berlin"
    ) == [wanted.id]


def make_queue(session, make, size: int):  # type: ignore[no-untyped-def]
    """A queue of `size` tasks, several of them opened at the same moment, filed out of
    order, so that pages must break ties by id."""
    it = make.team("it")
    service = make.service(steps=[("it", "task")])
    for index in range(size):
        filed_at(make, START + timedelta(hours=(size - index) // 3), service)
    return it


def test_pages_chain_through_the_queue_without_gaps_or_repeats(session, make):
    it = make_queue(session, make, 11)
    filters = TaskFilter(team_ids=[it.id])
    everything = [row.task.id for row in list_tasks(session, filters=filters).rows]
    assert len(everything) == 11
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        page = list_tasks(session, filters=filters, after=after, limit=3)
        pages += 1
        # The exact count comes with the first page; later pages only add rows.
        assert page.total == (11 if after is None else None)
        assert len(page.rows) == (3 if page.next_cursor else 11 - 3 * (pages - 1))
        seen += [row.task.id for row in page.rows]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert pages == 4
    assert seen == everything


@pytest.mark.parametrize("sort", ["oldest", "due"])
def test_a_plain_first_page_is_the_page_the_filters_would_build(session, make, monkeypatch,
                                                                 sort):
    """A team's first page with no filter runs a statement built once
    (app.reads.task_rows._PLAIN_FIRST_PAGES): the same rows, in the same order, with the
    same next page, as the statement the filters build."""
    it = make_queue(session, make, 53)
    dated = make.service(steps=[("it", "task")], target_hours=4)
    for index in range(4):
        filed_at(make, START + timedelta(minutes=index), dated)
    filters = TaskFilter(team_ids=[it.id], sort=sort)

    def page() -> tuple[list[int], str | None]:
        found = list_tasks(session, filters=filters)
        return [row.task.id for row in found.rows], found.next_cursor

    plain = page()
    monkeypatch.setattr(task_rows, "_plain_first_page", lambda *_args: None)
    assert page() == plain and len(plain[0]) == task_rows.PAGE_SIZE and plain[1]


def test_a_deep_page_is_the_tail_of_the_full_list(session, make):
    it = make_queue(session, make, 9)
    filters = TaskFilter(team_ids=[it.id])
    everything = [row.task.id for row in list_tasks(session, filters=filters).rows]
    first = list_tasks(session, filters=filters, limit=4)
    second = list_tasks(session, filters=filters, after=first.next_cursor, limit=4)
    third = list_tasks(session, filters=filters, after=second.next_cursor, limit=4)
    assert [row.task.id for row in second.rows] == everything[4:8]
    assert [row.task.id for row in third.rows] == everything[8:]
    assert third.next_cursor is None
    assert first.total == 9
    assert second.total is None and third.total is None


def test_the_total_counts_every_filtered_task_not_the_page(session, make):
    it = make_queue(session, make, 7)
    ivan = make.user(teams=("it",))
    for row in list_tasks(session, filters=TaskFilter(team_ids=[it.id]), limit=2).rows:
        claim_task(session, task=session.get(Task, row.task.id), by=ivan)
    claimed = list_tasks(session, filters=TaskFilter(team_ids=[it.id], state="claimed"),
                         limit=1)
    unclaimed = list_tasks(session, filters=TaskFilter(team_ids=[it.id], state="open"),
                           limit=1)
    assert (claimed.total, unclaimed.total) == (2, 5)
    assert len(claimed.rows) == len(unclaimed.rows) == 1


@pytest.mark.parametrize("cursor", [
    "nonsense", "2024-03-01T09:00:00+00:00", "2024-03-01T09:00:00+00:00_x",
    "yesterday_5", "2024-13-45T09:00:00+00:00_5", "_5",
    "2024-03-01T09:00:00+00:00_99999999999999999999",  # past any id column: not a 500
])
def test_a_malformed_cursor_is_refused(session, make, cursor):
    it = make_queue(session, make, 2)
    with pytest.raises(BadCursor):
        list_tasks(session, filters=TaskFilter(team_ids=[it.id]), after=cursor)


def test_queue_counts_are_exact_per_team(session, make):
    it, hr, legal = make.team("it"), make.team("hr"), make.team("legal")
    service = make.service(ordering="flexible", steps=[("it", "task"), ("hr", "task")])
    ivan = make.user(teams=("it",))
    hana = make.user(teams=("hr",))
    requester = make.user()
    requests = [make.request(service, requester) for _ in range(4)]
    claim_task(session, task=make.tasks(requests[0])[0], by=ivan)
    claim_task(session, task=make.tasks(requests[1])[0], by=ivan)
    complete_task(session, task=make.tasks(requests[2])[1], by=hana)  # done: not counted
    cancel_request(session, service_request=requests[3], by=requester, reason="No")
    assert queue_counts(session, [it.id, hr.id, legal.id]) == {
        it.id: (1, 2), hr.id: (2, 0), legal.id: (0, 0),
    }


def _names(session, team):  # type: ignore[no-untyped-def]
    page = list_tasks(session, filters=TaskFilter(team_ids=[team.id]))
    return [(row.service_name, row.team_name) for row in page.rows]


def test_a_lists_rows_name_their_service_and_team_from_the_directory_of_the_version_read(
        session, make):
    """The names come from the directory kept in memory at the request's directory
    version (app.storage.directory_cache), and a request that read a newer version reads
    them afresh: another worker's rename, here written without this worker's knowing."""
    it = make.team("it", name="IT")
    make.request(make.service(name="Laptop", steps=[("it", "task")]), make.user())
    note_directory_version(session, 1)
    assert _names(session, it) == [("Laptop", "IT")]
    session.execute(update(Team).where(col(Team.id) == it.id).values(name="Helpdesk"))
    assert _names(session, it) == [("Laptop", "IT")]  # kept at version 1
    note_directory_version(session, 2)
    assert _names(session, it) == [("Laptop", "Helpdesk")]


def test_a_row_of_a_service_or_team_newer_than_the_kept_names_is_named_afresh(
        session, make, monkeypatch):
    """On PostgreSQL a list's rows may be newer than the directory version its request
    read (each statement sees what is committed when it starts): names kept at that
    version may lack a service or a team added since, and are then read afresh."""
    it = make.team("it", name="IT")
    make.request(make.service(name="Laptop", steps=[("it", "task")]), make.user())
    note_directory_version(session, 1)
    for reader in ("service_names", "team_names"):  # kept before these were added
        monkeypatch.setattr(task_rows, reader, lambda _session: {10**6: "Older"})
    assert _names(session, it) == [("Laptop", "IT")]


def test_without_a_directory_version_a_lists_names_are_read_for_its_rows_alone(
        session, make):
    """After a rollback (a refused rule in a bulk action, say) nothing is kept: the
    rows' names are read for those rows alone (one statement a kind, by their ids, as a
    download's are), not the whole directory each time."""
    it = make.team("it", name="IT")
    for _ in range(3):
        make.request(make.service(steps=[("it", "task")]), make.user())
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(session.get_bind().engine, "before_cursor_execute", seen)
    try:
        names = _names(session, it)
    finally:
        event.remove(session.get_bind().engine, "before_cursor_execute", seen)
    assert len(names) == 3 and {team for _service, team in names} == {"IT"}
    naming = [s for s in statements if re.search(r"\bFROM (service|team)\b", s)]
    assert len(naming) == 2
    assert all(re.search(r"\bIN \(|= ANY \(", statement) for statement in naming)
