"""Due times and overdue work over HTTP: queue rows, "my work", the request page and the
manager overview; the queue's overdue filter and "due soonest" order with their page
links; and a fixed number of SQL queries per page, however many rows it shows."""

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from app.rules.requests import add_comment
from app.rules.tasks import claim_task, complete_task
from app.storage.clock import frozen_at
from app.storage.models import QUEUED_TASK_STATES, ServiceRequest, Task, Team
from app.web.times import exact
from tests.factories import Factory
from tests.routes.test_overview import number_links, table
from tests.test_due import define
from tests.web import WebClient, text_of


def task_ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(number) for number in re.findall(r'<tr id="task-(\d+)"', response.text)]


def row_html(response, task: Task) -> str:  # type: ignore[no-untyped-def]
    match = re.search(rf'<tr id="task-{task.id}".*?</tr>', response.text, re.DOTALL)
    assert match is not None, f"task {task.id} is not listed"
    return match.group(0)


def row_text(response, task: Task) -> str:  # type: ignore[no-untyped-def]
    return " ".join(re.sub(r"<[^>]+>", " ", row_html(response, task)).split())


@pytest.fixture
def desk(session: Session, make: Factory):  # type: ignore[no-untyped-def]
    """IT's "Prepare" step is due 4 h after it opens, HR's approval after 2 business
    days; a "No target" service has none. One IT task is 2 days late, one is due in
    3 hours, one has no due time; Ivan and Iris work in IT, Rita asks."""
    now = datetime.now(UTC)

    class Desk:
        laptop = define(make, slug="laptop", steps=[
            {"name": "Prepare", "team": "it", "target_hours": 4},
            {"name": "Approve", "team": "hr", "kind": "approval",
             "target_business_days": 2},
        ])
        plain = define(make, slug="plain", steps=[{"name": "No target", "team": "it"}])
        ivan = make.user("Ivan", teams=("it",))
        iris = make.user("Iris", teams=("it",))
        hana = make.user("Hana", teams=("hr",))
        rita = make.user("Rita")
        manager = make.user("Mona", manager=True)
    with frozen_at(now - timedelta(days=2, hours=4, minutes=1)):
        Desk.late = make.tasks(make.request(Desk.laptop, Desk.rita, {"summary": "Late"}))[0]
    with frozen_at(now - timedelta(hours=1, minutes=-1)):
        Desk.soon = make.tasks(make.request(Desk.laptop, Desk.rita, {"summary": "Soon"}))[0]
    Desk.undated = make.tasks(make.request(Desk.plain, Desk.rita, {"summary": "Undated"}))[0]
    return Desk


# --- what a row says --------------------------------------------------------------------


def test_a_queue_row_says_when_its_task_is_due_with_the_exact_time(web, desk):
    response = web.login(desk.ivan).get("/queues/it")
    assert response.status_code == 200
    soon = row_html(response, desk.soon)
    assert "due in 3 h" in row_text(response, desk.soon)
    assert f'<time class="due" datetime="{desk.soon.due_at.isoformat()}"' in soon
    # The exact time in the viewer's zone: UTC, as Ivan has none (tests/routes/test_time_zone.py).
    assert f'title="Due {exact(desk.soon.due_at, UTC)}"' in soon
    assert "Overdue" not in row_text(response, desk.soon)
    assert "is-overdue" not in soon


def test_an_overdue_row_is_marked_with_a_text_badge_and_says_by_how_much(web, desk):
    response = web.login(desk.ivan).get("/queues/it")
    late = row_text(response, desk.late)
    assert "overdue by 2 d" in late
    assert "Open Overdue" in late  # the state, then the badge
    assert '<span class="badge overdue">Overdue</span>' in row_html(response, desk.late)
    assert 'class="task-row state-open is-overdue"' in row_html(response, desk.late)


def test_a_task_without_a_target_shows_no_due_time(web, desk):
    response = web.login(desk.ivan).get("/queues/it")
    undated = row_html(response, desk.undated)
    assert '<td data-label="Due" class="due-cell"></td>' in undated
    assert "due in" not in undated and "Overdue" not in undated


def test_my_work_shows_due_and_overdue_and_a_claim_keeps_it(web, session, desk):
    web.login(desk.ivan)
    claimed = web.post(f"/tasks/{desk.late.id}/claim", htmx=True)
    assert claimed.status_code == 200
    # The row sent back after the action says it too.
    assert "overdue by 2 d" in text_of(claimed) and "Overdue" in text_of(claimed)
    claim_task(session, task=desk.soon, by=desk.ivan)
    response = web.get("/my-work")
    assert task_ids(response) == [desk.late.id, desk.soon.id]
    assert "Claimed Overdue" in row_text(response, desk.late)
    assert "due in 3 h" in row_text(response, desk.soon)


def test_the_overview_list_shows_due_times_to_a_manager(web, desk):
    response = web.login(desk.manager).get("/overview/tasks?team=it")
    assert "overdue by 2 d" in row_text(response, desk.late)
    assert "due in 3 h" in row_text(response, desk.soon)


# --- the request page ----------------------------------------------------------------------


def step_text(response, task: Task) -> str:  # type: ignore[no-untyped-def]
    match = re.search(rf'<li class="step[^"]*" id="step-{task.id}">.*?</li>', response.text,
                      re.DOTALL)
    assert match is not None
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split())


@pytest.mark.parametrize("who", ["rita", "ivan", "hana", "manager"])
def test_the_request_page_shows_an_open_steps_due_time_to_everyone_who_sees_it(
    web, desk, who
):
    late = web.login(getattr(desk, who)).get(f"/requests/{desk.late.request_id}")
    assert late.status_code == 200
    assert "overdue by 2 d" in step_text(late, desk.late)
    assert "Overdue" in step_text(late, desk.late)
    assert f'datetime="{desk.late.due_at.isoformat()}"' in late.text
    soon = web.get(f"/requests/{desk.soon.request_id}")
    assert "due in 3 h" in step_text(soon, desk.soon)
    assert "Overdue" not in step_text(soon, desk.soon)


def test_a_finished_or_waiting_step_shows_no_due_time(web, session, make, desk):
    complete_task(session, task=desk.late, by=desk.ivan)
    request_id = desk.late.request_id
    response = web.login(desk.rita).get(f"/requests/{request_id}")
    assert "overdue" not in step_text(response, desk.late).lower()
    # The approval opened just now: due in 2 business days.
    approval = make.tasks(session.get(ServiceRequest, request_id))[1]
    assert approval.due_at is not None
    assert "due in " in step_text(response, approval)
    waiting = make.tasks(session.get(ServiceRequest, desk.soon.request_id))[1]
    assert waiting.state == "waiting"
    soon_page = web.get(f"/requests/{desk.soon.request_id}")
    assert "due" not in step_text(soon_page, waiting)


# --- the overdue filter and the due order ------------------------------------------------


def test_the_overdue_filter_lists_only_late_work(web, desk):
    web.login(desk.ivan)
    response = web.get("/queues/it?overdue=1")
    assert task_ids(response) == [desk.late.id]
    assert "1 overdue task, oldest first." in text_of(response)
    assert 'id="queue-overdue" name="overdue" value="1" checked' in response.text
    # The link spelling works as well.
    assert task_ids(web.get("/queues/it?state=overdue")) == [desk.late.id]
    combined = web.get("/queues/it?overdue=on&state=claimed")
    assert task_ids(combined) == []
    assert "Nothing here with these filters." in text_of(combined)


def test_with_nothing_overdue_the_filter_says_so(web, session, desk):
    complete_task(session, task=desk.late, by=desk.ivan)
    response = web.login(desk.ivan).get("/queues/it?overdue=1")
    assert task_ids(response) == []
    assert "nothing is overdue" in text_of(response)


def test_due_soonest_lists_late_work_first_and_undated_work_last(web, desk):
    web.login(desk.ivan)
    response = web.get("/queues/it?sort=due")
    assert task_ids(response) == [desk.late.id, desk.soon.id, desk.undated.id]
    assert "3 tasks, due soonest first." in text_of(response)
    assert '<option value="due" selected>Due soonest</option>' in response.text
    assert task_ids(web.get("/queues/it")) == [desk.late.id, desk.soon.id, desk.undated.id]
    # An unknown order is the default order, not an error.
    assert web.get("/queues/it?sort=bogus").status_code == 200


def test_an_htmx_filter_change_returns_the_results_with_the_due_order(web, desk):
    response = web.login(desk.ivan).get("/queues/it?sort=due&overdue=1", htmx=True)
    assert response.text.lstrip().startswith('<div id="results"')
    assert task_ids(response) == [desk.late.id]


def follow(web: WebClient, url: str) -> tuple[list[int], list[str]]:
    """Every task of a list, following its "show more" links; and the pages' texts."""
    response = web.get(url)
    seen, texts = task_ids(response), [text_of(response)]
    while (more := re.search(r'hx-get="([^"]+after=[^"]+)"', response.text)) is not None:
        response = web.get(html.unescape(more.group(1)), htmx=True)
        assert response.status_code == 200
        seen += task_ids(response)
        texts.append(text_of(response))
        assert len(texts) < 20
    return seen, texts


@pytest.fixture
def long_queue(session: Session, make: Factory, desk):  # type: ignore[no-untyped-def]
    """Over a page of IT work (the page holds 50): a flexible service with a step due in
    an hour, one without a target and one due in a day; filed over the past two days."""
    triple = define(make, slug="triple", ordering="flexible", steps=[
        {"name": "Hourly", "team": "it", "target_hours": 1},
        {"name": "Untimed", "team": "it"},
        {"name": "Daily", "team": "it", "target_hours": 24},
    ])
    now = datetime.now(UTC)
    for index in range(18):
        with frozen_at(now - timedelta(hours=48 - index * 2.5)):
            make.request(triple, desk.rita)
    return triple


def queued(session: Session, team_slug: str) -> list[Task]:
    team = session.exec(select(Team).where(Team.slug == team_slug)).one()
    return list(session.exec(select(Task).where(
        Task.team_id == team.id, col(Task.state).in_(QUEUED_TASK_STATES))))


def test_due_soonest_pages_chain_without_gaps_or_repeats(web, session, long_queue, desk):
    tasks = queued(session, "it")
    assert len(tasks) == 57
    far = datetime.max.replace(tzinfo=UTC)
    expected = [t.id for t in sorted(
        tasks, key=lambda t: (t.due_at is None, t.due_at or far, t.id))]
    seen, texts = follow(web.login(desk.iris), "/queues/it?sort=due")
    assert seen == expected
    assert "57 tasks, due soonest first." in texts[0]
    assert "Show tasks due later" in texts[0]
    # Without htmx the link opens the next page whole.
    more = re.search(r'<a class="button" href="([^"]+)"', web.get("/queues/it?sort=due").text)
    assert more is not None
    second = web.get(html.unescape(more.group(1)))
    assert "Tasks due later, due soonest first." in text_of(second)
    assert task_ids(second) == expected[50:]


def test_overdue_pages_chain_in_the_oldest_first_order(web, session, long_queue, desk):
    now = datetime.now(UTC)
    late = [t for t in queued(session, "it") if t.due_at and t.due_at < now]
    assert len(late) > 25
    for task in late[:6]:
        claim_task(session, task=task, by=desk.ivan)
    seen, texts = follow(web.login(desk.iris), "/queues/it?overdue=1")
    assert seen == [t.id for t in sorted(late, key=lambda t: (t.opened_at, t.id))]
    assert f"{len(late)} overdue tasks, oldest first." in texts[0]
    mine, _ = follow(web, "/queues/it?overdue=1&state=claimed&sort=due")
    assert mine == [t.id for t in sorted(late[:6], key=lambda t: (t.due_at, t.id))]


def test_a_page_link_of_one_order_is_refused_by_the_other(web, long_queue, desk):
    web.login(desk.iris)
    first = web.get("/queues/it?sort=due")
    cursor = re.search(r'after=([^"&]+)"', first.text)
    assert cursor is not None
    response = web.get(f"/queues/it?after={cursor.group(1)}")
    assert response.status_code == 400
    assert "page link is broken" in text_of(response)


# --- the manager overview ------------------------------------------------------------------


# The overview's tables as its own tests read them (a service's heading row first).
overview_rows = table


def test_the_overview_counts_overdue_work_and_each_count_opens_its_list(
    web, session, long_queue, desk
):
    now = datetime.now(UTC)
    web.login(desk.manager)
    response = web.get("/overview")
    late = [t for t in session.exec(select(Task)).all()
            if t.state in QUEUED_TASK_STATES and t.due_at and t.due_at < now]
    by_team = {row[0]: int(row[4]) for row in overview_rows(response, "by-team")}
    assert by_team == {"It": len(late)}  # HR's approvals wait: no open work
    by_step = {(row[0], row[1]): int(row[5]) for row in overview_rows(response, "by-step")}
    recount = {}
    for task in session.exec(select(Task)).all():
        if task.state in QUEUED_TASK_STATES:
            key = (task.service_id, task.position)
            recount[key] = recount.get(key, 0) + bool(task.due_at and task.due_at < now)
    assert sorted(by_step.values()) == sorted(recount.values())
    assert by_step[("Triple", "1. Hourly")] == sum(
        1 for t in late if t.service_id == long_queue.id and t.position == 0)
    assert by_step[("Triple", "2. Untimed")] == 0
    assert f"{len(late)} tasks are past their due time" in text_of(response)
    links = [(href, number) for href, number in number_links(response) if "overdue=1" in href]
    # teams, then service × step, less the zeros (quiet text, no list behind them)
    assert len(links) == 2 + 3 + 1 - sum(1 for n in [*by_team.values(), *by_step.values()]
                                          if n == 0)
    for href, number in links:
        listed, texts = follow(web, html.unescape(href))
        assert len(listed) == int(number), href
        if int(number):
            assert f"{number} overdue task" in texts[0]
            assert "due soonest first" in texts[0]
    everything, _ = follow(web, "/overview/tasks?overdue=1")
    assert sorted(everything) == sorted(t.id for t in late)


@pytest.mark.parametrize("url", ["/overview/tasks?overdue=1",
                                 "/overview/tasks?team=it&overdue=1&sort=due"])
def test_only_managers_see_the_overdue_lists(web, make, desk, url):
    for person in (desk.rita, desk.ivan, make.user("Adam", admin=True)):
        response = web.login(person).get(url)
        assert response.status_code == 403, person.name
        assert "REQ-" not in text_of(response)


def test_the_queue_list_shows_each_teams_overdue_count(web, desk):
    response = web.login(desk.ivan).get("/queues")
    assert "It 3 open · 0 claimed · 1 overdue" in text_of(response)
    assert 'href="/queues/it?overdue=1&amp;sort=due"' in response.text


# --- a fixed number of queries --------------------------------------------------------------


@contextmanager
def counted(session: Session) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = session.get_bind().engine

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        # The test's savepoints are the harness's, not the page's.
        if not statement.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize(("who", "url"), [
    ("ivan", "/queues/it"), ("ivan", "/queues/it?sort=due"),
    ("ivan", "/queues/it?overdue=1&sort=due"), ("ivan", "/my-work"), ("ivan", "/queues"),
    ("manager", "/overview"), ("manager", "/overview/tasks?overdue=1"),
    ("rita", "/requests"), ("ivan", "/requests/{request_id}"),
])
def test_a_page_costs_the_same_queries_with_more_rows(web, session, make, desk, who, url):
    web.login(getattr(desk, who))
    url = url.format(request_id=desk.late.request_id)
    claim_task(session, task=desk.late, by=desk.ivan)
    # Something unread in both views: with the bell at 0 a queue page does not even ask
    # whether its member's "last looked" mark is behind (one read, not one a row).
    add_comment(session, service_request=session.get(ServiceRequest, desk.late.request_id),
                by=desk.rita, body="Hello?", internal=False, is_team_member=False)
    # The session's identity map holds objects weakly: whether a get() finds one there
    # depends on the garbage collector. Expired, every get() costs one query, always.
    # Once unmeasured: a first view computes what later views remember (the request
    # page's expected-finish sentences), a cost that does not grow with the rows.
    assert web.get(url).status_code == 200
    session.expire_all()
    with counted(session) as few:
        assert web.get(url).status_code == 200
    now = datetime.now(UTC)
    for index in range(6):
        with frozen_at(now - timedelta(days=1)):
            task = make.tasks(make.request(desk.laptop, desk.rita))[0]
        claim_task(session, task=task, by=desk.ivan)
        add_comment(session, service_request=session.get(ServiceRequest, desk.late.request_id),
                    by=desk.rita, body=f"Any news? ({index})", internal=False,
                    is_team_member=False)
    # Seen once more unmeasured, as before `few`: a member's first look at a queue with
    # new tasks moves their "last looked" mark (one write, however many tasks are new).
    assert web.get(url).status_code == 200
    session.expire_all()
    with counted(session) as many:
        page = web.get(url)
        assert page.status_code == 200
    if "tasks" in url or "queues/" in url or "work" in url:
        assert len(task_ids(page)) > 6
    assert len(many) == len(few), url
