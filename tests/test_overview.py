"""The manager overview (app/reads/overview.py): open work by team and by service × step."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from app.reads.overview import oldest_first, open_work_by_step, open_work_by_team
from app.rules.requests import cancel_request
from app.rules.tasks import claim_task, complete_task, reject_task
from app.storage.clock import frozen_at
from app.storage.models import QUEUED_TASK_STATES, Task

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def build_open_work(session, make):  # type: ignore[no-untyped-def]
    """Work in every state, filed at known moments, across three teams and two services.

    laptop (enforced): IT task, then an HR approval.
    onboard (flexible): HR task, facilities task, IT task.
    """
    laptop = make.service(slug="laptop", steps=[("it", "task"), ("hr", "approval")])
    onboard = make.service(slug="onboard", ordering="flexible",
                           steps=[("hr", "task"), ("facilities", "task"), ("it", "task")])
    ivan = make.user("Ivan", teams=("it",))
    hana = make.user("Hana", teams=("hr",))
    requester = make.user("Rita")

    def filed(service, hours):  # type: ignore[no-untyped-def]
        with frozen_at(START + timedelta(hours=hours)):
            return make.request(service, requester)

    filed(laptop, 0)  # IT open, oldest of all
    laptop_2 = filed(laptop, 1)  # IT claimed
    claim_task(session, task=make.tasks(laptop_2)[0], by=ivan)
    laptop_3 = filed(laptop, 2)  # IT done at +5 h, so its HR approval opens then
    with frozen_at(START + timedelta(hours=5)):
        complete_task(session, task=make.tasks(laptop_3)[0], by=ivan)
    laptop_4 = filed(laptop, 3)  # cancelled: counts nowhere
    cancel_request(session, service_request=laptop_4, by=requester, reason="No longer needed")
    onboard_1 = filed(onboard, 4)  # HR claimed, facilities open, IT done
    claim_task(session, task=make.tasks(onboard_1)[0], by=hana)
    complete_task(session, task=make.tasks(onboard_1)[2], by=ivan)
    onboard_2 = filed(onboard, 6)  # every task open
    laptop_5 = filed(laptop, 7)  # approval rejected: request ended, nothing counts
    with frozen_at(START + timedelta(hours=8)):
        complete_task(session, task=make.tasks(laptop_5)[0], by=ivan)
    reject_task(session, task=make.tasks(laptop_5)[1], by=hana, reason="Over budget")
    return laptop, onboard, onboard_2


def recount(session, key):  # type: ignore[no-untyped-def]
    """(count, claimed, oldest opened_at) per key, recounted by hand from every task."""
    groups: dict = defaultdict(lambda: [0, 0, None])
    for task in session.exec(select(Task).order_by(col(Task.id))):
        if task.state not in QUEUED_TASK_STATES:
            continue
        group = groups[key(task)]
        group[0] += 1
        group[1] += task.state == "claimed"
        group[2] = task.opened_at if group[2] is None else min(group[2], task.opened_at)
    return {k: tuple(v) for k, v in groups.items()}


def test_open_work_by_team_counts_open_and_claimed_tasks_and_the_oldest(session, make):
    build_open_work(session, make)
    lines = {line.team.slug: line.work for line in open_work_by_team(session)}
    assert {slug: (w.count, w.claimed, w.unclaimed) for slug, w in lines.items()} == {
        "it": (3, 1, 2),  # laptop 1 open, laptop 2 claimed, onboard 2 open
        "hr": (3, 1, 2),  # laptop 3 approval open, onboard 1 claimed, onboard 2 open
        "facilities": (2, 0, 2),  # onboard 1 and 2
    }
    assert lines["it"].oldest_opened_at == START
    assert lines["hr"].oldest_opened_at == START + timedelta(hours=4)
    assert lines["facilities"].oldest_opened_at == START + timedelta(hours=4)


def test_teams_without_open_work_are_left_out_and_lines_are_sorted_by_name(session, make):
    make.team("zeta")
    build_open_work(session, make)
    assert [line.team.slug for line in open_work_by_team(session)] == [
        "facilities", "hr", "it",
    ]


def test_open_work_by_step_counts_each_service_step(session, make):
    build_open_work(session, make)
    lines = [
        (line.service.slug, line.position, line.step_name,
         line.work.count, line.work.claimed, line.work.oldest_opened_at)
        for line in open_work_by_step(session)
    ]
    assert lines == [
        ("laptop", 0, "Step 1", 2, 1, START),
        ("laptop", 1, "Step 2", 1, 0, START + timedelta(hours=5)),
        ("onboard", 0, "Step 1", 2, 1, START + timedelta(hours=4)),
        ("onboard", 1, "Step 2", 2, 0, START + timedelta(hours=4)),
        ("onboard", 2, "Step 3", 1, 0, START + timedelta(hours=6)),
    ]


def test_the_numbers_match_a_recount_of_the_tasks(session, make):
    build_open_work(session, make)
    by_team = recount(session, lambda task: task.team_id)
    by_step = recount(session, lambda task: (task.service_id, task.position))
    assert {
        line.team.id: (line.work.count, line.work.claimed, line.work.oldest_opened_at)
        for line in open_work_by_team(session)
    } == by_team
    assert {
        (line.service.id, line.position):
            (line.work.count, line.work.claimed, line.work.oldest_opened_at)
        for line in open_work_by_step(session)
    } == by_step


def test_finishing_work_takes_it_off_the_overview(session, make):
    _laptop, _onboard, onboard_2 = build_open_work(session, make)
    ivan = make.user(teams=("it", "hr", "facilities"))
    before = {line.team.slug: line.work.count for line in open_work_by_team(session)}
    for task in make.tasks(onboard_2):
        complete_task(session, task=task, by=ivan)
    after = {line.team.slug: line.work.count for line in open_work_by_team(session)}
    assert after == {slug: count - 1 for slug, count in before.items()}
    onboard_steps = {
        line.position: line.work.count
        for line in open_work_by_step(session) if line.service.slug == "onboard"
    }
    assert onboard_steps == {0: 1, 1: 1}


def test_the_oldest_step_is_the_one_with_the_oldest_open_task(session, make):
    build_open_work(session, make)
    oldest = oldest_first(open_work_by_step(session))
    assert oldest is not None
    assert (oldest.service.slug, oldest.position) == ("laptop", 0)
    assert oldest_first([]) is None


def test_no_open_work_means_empty_lines(session, make):
    service = make.service(steps=[("it", "task")])
    complete_task(session, task=make.tasks(make.request(service, make.user()))[0],
                  by=make.user(teams=("it",)))
    assert open_work_by_team(session) == []
    assert open_work_by_step(session) == []
