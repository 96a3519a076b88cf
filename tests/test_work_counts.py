"""The open work counters (app/storage/work_counts.py): after every rule, in its transaction,
they say exactly what a recount of the tasks says (open, claimed, and of those how many
have a due time)."""

import pytest
from sqlalchemy import select as sa_select
from sqlmodel import select

from app.reads.queues import TaskFilter
from app.reads.task_counts import queue_counts, team_counters, team_counters_at_version
from app.reads.task_rows import list_tasks
from app.rules.errors import AlreadyClaimed
from app.rules.people import deactivate_person
from app.rules.requests import cancel_request
from app.rules.tasks import (
    approve_task,
    claim_task,
    complete_task,
    hand_task,
    reject_task,
    release_task,
)
from app.rules.teams import remove_team_member
from app.storage.models import OpenWorkCount, Task, Team
from app.storage.page_versions import queue_version
from app.storage.work_counts import counted_from_tasks, counters, recount


def agree(session) -> dict:  # type: ignore[no-untyped-def]
    counts = counted_from_tasks(session)
    assert counters(session) == counts
    return counts


def test_counters_follow_every_rule(session, make):  # type: ignore[no-untyped-def]
    laptop = make.service(slug="laptop", steps=[("it", "task"), ("hr", "approval"),
                                                ("it", "task")], target_hours=4)
    onboard = make.service(slug="onboard", ordering="flexible",
                           steps=[("hr", "task"), ("facilities", "task"), ("it", "task")])
    ivan = make.user("Ivan", teams=("it",))
    iris = make.user("Iris", teams=("it",))
    hana = make.user("Hana", teams=("hr",))
    admin = make.user("Adam", admin=True)
    rita = make.user("Rita")
    assert agree(session) == {}

    first = make.request(laptop, rita)
    second = make.request(laptop, rita)
    flexible = make.request(onboard, rita)
    counts = agree(session)
    assert sum(opened for opened, _claimed, _due in counts.values()) == 5
    assert sum(due for _opened, _claimed, due in counts.values()) == 2  # laptop's targets

    claim_task(session, task=make.tasks(first)[0], by=ivan)
    agree(session)
    hand_task(session, task=make.tasks(first)[0], by=ivan, to=iris)
    agree(session)
    release_task(session, task=make.tasks(first)[0], by=iris)
    agree(session)
    complete_task(session, task=make.tasks(first)[0], by=ivan)  # opens the approval
    agree(session)
    approve_task(session, task=make.tasks(first)[1], by=hana)  # opens the last IT task
    agree(session)
    claim_task(session, task=make.tasks(first)[2], by=iris)
    complete_task(session, task=make.tasks(first)[2], by=iris)  # request completed
    agree(session)

    complete_task(session, task=make.tasks(second)[0], by=ivan)
    reject_task(session, task=make.tasks(second)[1], by=hana, reason="No budget")
    agree(session)

    claim_task(session, task=make.tasks(flexible)[2], by=ivan)
    claim_task(session, task=make.tasks(flexible)[0], by=hana)
    agree(session)
    with pytest.raises(AlreadyClaimed):  # a refused rule changes no counter
        claim_task(session, task=make.tasks(flexible)[2], by=iris)
    agree(session)
    it = make.team("it")
    remove_team_member(session, team=it, person=ivan, by=admin)  # his claim goes back
    session.commit()
    agree(session)
    deactivate_person(session, person=hana, by=admin)
    agree(session)
    counts = agree(session)
    assert sorted(counts.values()) == [(1, 0, 0)] * 3  # flexible: 3 open tasks, no targets
    cancel_request(session, service_request=flexible, by=rita, reason="Not needed")
    assert agree(session) == {}


def test_a_rule_rolled_back_leaves_no_counted_change(session, make):  # type: ignore[no-untyped-def]
    laptop = make.service(slug="laptop", steps=[("it", "task")])
    ivan = make.user("Ivan", teams=("it",))
    task = make.tasks(make.request(laptop, make.user("Rita")))[0]
    claim_task(session, task=task, by=ivan)
    before = agree(session)
    with pytest.raises(AlreadyClaimed):
        claim_task(session, task=task, by=make.user("Iris", teams=("it",)))
    assert agree(session) == before


def test_recount_rebuilds_counters_from_the_tasks(session, make):  # type: ignore[no-untyped-def]
    laptop = make.service(slug="laptop", steps=[("it", "task")], target_hours=8)
    rita = make.user("Rita")
    make.request(laptop, rita)
    make.request(laptop, rita)
    counter = session.exec(select(OpenWorkCount)).one()
    counter.open_count = 99  # as if a bulk load had left them wrong
    counter.due_count = 0
    session.commit()
    assert counters(session) != counted_from_tasks(session)
    recount(session)
    session.commit()
    assert agree(session) == {(counter.team_id, laptop.id, 0, "Step 1"): (2, 0, 2)}


def test_list_counts_from_counters_match_the_rows(session, make):  # type: ignore[no-untyped-def]
    """A queue's count comes from the counters where its filters allow: it must be the
    number of rows the list holds, for every such filter."""
    laptop = make.service(slug="laptop", steps=[("it", "task"), ("hr", "task")])
    printer = make.service(slug="printer", steps=[("it", "task")])
    ivan = make.user("Ivan", teams=("it",))
    rita = make.user("Rita")
    for service in (laptop, laptop, printer, printer, printer):
        make.request(service, rita)
    tasks = session.exec(select(Task).where(Task.service_id == printer.id)).all()
    claim_task(session, task=tasks[0], by=ivan)
    complete_task(session, task=make.tasks(make.request(laptop, rita))[0], by=ivan)
    it, hr = make.team("it"), make.team("hr")
    for filters in (
        TaskFilter(team_ids=[it.id]), TaskFilter(team_ids=[it.id, hr.id]), TaskFilter(),
        TaskFilter(team_ids=[it.id], state="open"), TaskFilter(team_ids=[it.id], state="claimed"),
        TaskFilter(team_ids=[it.id], service_id=printer.id),
        TaskFilter(service_id=laptop.id, position=1),
    ):
        page = list_tasks(session, filters=filters, limit=100)
        assert page.total == len(page.rows), filters
    assert queue_counts(session, [it.id, hr.id]) == {it.id: (4, 1), hr.id: (1, 0)}


def test_a_queue_s_version_and_counters_come_together_as_read_apart(session, make):  # type: ignore[no-untyped-def]
    """app.reads.task_counts.team_counters_at_version: one statement for a queue page's
    first two reads, the same version and counters as each read alone; a team with no
    counter row at all (nothing ever filed for it) reads the version first, then them."""
    laptop = make.service(slug="laptop", steps=[("it", "task"), ("hr", "task")])
    ivan = make.user("Ivan", teams=("it",))
    rita = make.user("Rita")
    claim_task(session, task=make.tasks(make.request(laptop, rita))[0], by=ivan)
    make.request(laptop, rita)
    make.team("legal", "Legal")  # no task ever: no counter row
    for slug in ("it", "hr", "legal"):
        team = session.exec(select(Team).where(Team.slug == slug)).one()
        alone = session.execute(sa_select(queue_version(team.id))).scalar_one()
        version, together = team_counters_at_version(session, team.id)
        assert (version, together) == (alone, team_counters(session, team.id)), slug
    it = session.exec(select(Team).where(Team.slug == "it")).one()
    assert team_counters_at_version(session, it.id)[0] > 0
    assert team_counters_at_version(session, it.id)[1].by_service == {laptop.id: (1, 1)}
