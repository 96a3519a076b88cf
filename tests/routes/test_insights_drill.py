"""Insights drill down (issue 13): every number and bar links to the tasks or requests it
counts, and each list holds exactly that many; the finished-task and completed-request
lists page and export; each insights table downloads as CSV; who may see them."""

import csv
import html
import io
import re
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session

from app.reads.finished_tasks import (
    LINE_COLUMNS,
    FinishedFilter,
    finished_task_lines,
    finished_tasks,
)
from app.reads.insights import window_of
from app.storage.clock import utcnow
from app.web.routes import insights as insights_routes
from tests.routes.test_due_display import counted
from tests.web import text_of

DAY = timedelta(days=1)


@pytest.fixture
def desk(make):  # type: ignore[no-untyped-def]
    service, requests = make.onboarding_history(utcnow() - timedelta(days=10))

    class Desk:
        onboarding = service
        filed = requests
        manager = make.user("Mona", manager=True)
        member = make.user("Ivo", teams=("it",))
        employee = make.user("Eve")
        admin = make.user("Adam", admin=True)
    return Desk


def rows_of(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def count_of(response) -> int:  # type: ignore[no-untyped-def]
    """The exact count a list states above its rows."""
    found = re.search(r'<p class="count"><strong>(\d+)</strong>', response.text)
    assert found, response.text[:2000]
    return int(found.group(1))


def number_links(response) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """Every link of the page whose text is a number (or starts with one in bold)."""
    links = re.findall(r'<a href="([^"]+)"[^>]*>(?:<strong>)?(\d+)(?:</a>|</strong> request)',
                       response.text)
    return [(html.unescape(href), int(number)) for href, number in links]


# --- who may see the new pages and downloads ------------------------------------------------

NEW_URLS = [
    "/insights/onboarding/tasks?step=1", "/insights/onboarding/tasks.csv?step=1",
    "/insights/onboarding/tasks?team=it", "/insights/tasks?team=it",
    "/insights/tasks.csv?team=it", "/insights/onboarding/completed",
    "/insights/onboarding/completed.csv", "/insights/services.csv", "/insights/teams.csv",
    "/insights/team-weeks.csv", "/insights/onboarding/steps.csv",
    "/insights/onboarding/weeks.csv", "/insights/onboarding/teams.csv",
    "/insights/onboarding/team-weeks.csv", "/overview/tasks?team=it&age=1",
    "/overview/tasks.csv?team=it&age=1",
]


@pytest.mark.parametrize("url", NEW_URLS)
def test_only_managers_open_the_lists_and_downloads(web, desk, url):
    response = web.get(url, follow_redirects=False)
    assert response.status_code == 303  # signed out
    assert response.headers["location"].startswith("/login?next=")
    # A requester, a team member and an admin who is not a manager are refused, as the
    # insights pages refuse them (app.rules.policy.may_see_overview: managers only).
    for who in (desk.employee, desk.member, desk.admin):
        web.logout()
        assert web.login(who).get(url).status_code == 403, who.name
    web.logout()
    assert web.login(desk.manager).get(url).status_code == 200


# --- the finished tasks behind a step -------------------------------------------------------

def test_the_tasks_behind_the_bottleneck_slowest_first_with_their_csv(web, desk):
    page = web.login(desk.manager).get("/insights/onboarding", params={"weeks": "4"})
    window = window_of(weeks="4", today=utcnow().date())
    behind = (f"/insights/onboarding/tasks?step=1&amp;from={window.start.isoformat()}"
              f"&amp;to={window.last_day.isoformat()}")
    assert f'<a href="{behind}">The tasks behind it</a>' in page.text
    assert 'href="/overview/tasks?service=onboarding&amp;step=1">Its open tasks' in page.text

    response = web.get(html.unescape(behind))
    assert response.status_code == 200
    text = text_of(response)
    assert "Onboarding · step 2: Step 2: tasks finished" in text
    assert "3 tasks finished, slowest first" in text
    # IT waited 3, 2 and 1 days (and worked an hour): the request filed last waited longest.
    numbers = re.findall(r"REQ-\d+", text)
    assert numbers == [request.number for request in reversed(desk.filed)]
    assert "3 d 1 h" in text and "Ivan" in text

    csv_link = re.search(r'href="([^"]+\.csv[^"]*)" download', response.text)
    assert csv_link
    lines = rows_of(web.get(html.unescape(csv_link.group(1))))
    assert lines[0][:4] == ["Request", "Title", "Service", "Step"]
    assert [line[0] for line in lines[1:]] == numbers
    assert [int(line[11]) for line in lines[1:]] == [3 * 86400 + 3600, 2 * 86400 + 3600,
                                                     86400 + 3600]
    assert {line[7] for line in lines[1:]} == {"Ivan"}  # who finished them


def test_the_list_can_be_latest_first_and_pages_by_keyset(session: Session, desk):
    window = window_of(weeks="4", today=utcnow().date())
    filters = FinishedFilter(window=window, service_id=desk.onboarding.id)
    every = [dict(zip(LINE_COLUMNS, line, strict=True))
             for line in finished_task_lines(session, filters=filters)]
    assert len(every) == 9
    took = [line["waited_seconds"] + line["worked_seconds"] for line in every]
    assert took == sorted(took, reverse=True)
    # Two at a time, the pages join up to the whole list, in order, with nothing twice.
    seen, after = [], None
    while True:
        page = finished_tasks(session, filters=filters, after=after, limit=2)
        seen += [line.task_id for line in page.rows]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert seen == [line["task_id"] for line in every]
    latest = list(finished_task_lines(
        session, filters=FinishedFilter(window=window, service_id=desk.onboarding.id,
                                        sort="latest"), batch=4))
    moments = [line[LINE_COLUMNS.index("finished_at")] for line in latest]
    assert moments == sorted(moments, reverse=True) and len(latest) == 9


def test_a_broken_page_link_or_window_is_a_clear_4xx(web, desk):
    web.login(desk.manager)
    broken = web.get("/insights/onboarding/tasks", params={"step": "1", "after": "x_1_2"})
    assert broken.status_code == 400 and "page link is broken" in broken.text
    latest_cursor = web.get("/insights/onboarding/tasks",
                            params={"step": "1", "sort": "latest", "after": "slowest_5_2"})
    assert latest_cursor.status_code == 400
    bad_window = web.get("/insights/onboarding/tasks", params={"weeks": "7"})
    assert bad_window.status_code == 400 and "Choose the last 4, 13 or 52 weeks." in bad_window.text
    assert web.get("/insights/onboarding/tasks", params={"step": "9"}).status_code == 404
    assert web.get("/insights/nothing/tasks").status_code == 404
    assert web.get("/insights/tasks", params={"team": "nobody"}).status_code == 404
    assert web.get("/insights/tasks").status_code == 404  # a team's list needs the team
    # A cursor past what the 32-bit columns hold is a broken link, not a database error.
    assert web.get("/insights/onboarding/tasks", params={
        "step": "1", "after": "slowest_3000000000_2026-01-01T00:00:00_1"}).status_code == 400
    for url in ("/insights", "/insights/onboarding", "/insights/onboarding/tasks",
                "/insights/onboarding/completed.csv", "/insights/teams/it",
                "/insights/teams/it/ages.csv", "/reports/onboarding", "/reports/onboarding.csv"):
        for dates in ({"from": "9999-12-20", "to": "9999-12-31"},
                      {"submitted_to": "9999-12-31", "completed_to": "9999-12-31"}):
            assert web.get(url, params=dates).status_code in (200, 400, 422), (url, dates)


# --- every number drills to a list of as many -----------------------------------------------

@pytest.mark.parametrize("url", ["/insights?weeks=4", "/insights/onboarding?weeks=4"])
def test_each_number_links_to_a_list_of_as_many(web, desk, url):
    page = web.login(desk.manager).get(url)
    links = [(href, number) for href, number in number_links(page)
             if href.startswith(("/overview/tasks", "/insights/", "/reports/"))]
    assert len(links) > 10
    kinds = {urlsplit(href).path.rsplit("/", 1)[-1] for href, _n in links}
    assert {"tasks"} <= kinds
    if "onboarding" in url:
        assert {"completed", "onboarding"} <= kinds  # the report of submitted requests
    for href, number in links:
        response = web.get(href)
        assert response.status_code == 200, href
        assert count_of(response) == number, href


def test_each_week_of_a_team_links_to_that_weeks_tasks(web, desk):
    page = web.login(desk.manager).get("/insights/onboarding", params={"weeks": "4"})

    def one_week(href: str) -> bool:
        query = parse_qs(urlsplit(href).query)
        return (date.fromisoformat(query["to"][0]) - date.fromisoformat(query["from"][0])
                == timedelta(days=6))

    weekly = [(href, n) for href, n in number_links(page)
              if href.startswith("/insights/onboarding/tasks?team=") and one_week(href)]
    assert len(weekly) == 3 * 4 and any(n == 3 for _href, n in weekly)  # 3 teams, 4 weeks
    for href, number in weekly:
        assert count_of(web.get(href)) == number


def test_every_service_page_names_each_team_s_own_page_not_each_week(web, desk):
    """Every team by every week is thousands of links at scale: the page for every
    service links each team to its own page (which draws its weeks) and the CSV."""
    page = web.login(desk.manager).get("/insights", params={"weeks": "4"})
    teams = set(re.findall(r'<a href="/insights/teams/([a-z0-9-]+)\?weeks=4">', page.text))
    assert {"it", "hr", "facilities"} <= teams
    per_team = [parse_qs(urlsplit(href).query) for href, _n in number_links(page)
                if href.startswith("/insights/tasks?team=")]
    assert len(per_team) == len(teams)  # each team's whole window, no week of it
    assert all(date.fromisoformat(query["to"][0]) - date.fromisoformat(query["from"][0])
               > timedelta(days=6) for query in per_team)
    for slug in teams:
        assert web.get(f"/insights/teams/{slug}", params={"weeks": "4"}).status_code == 200


def test_the_bars_are_links_named_by_their_numbers(web, desk):
    page = web.login(desk.manager).get("/insights/onboarding", params={"weeks": "4"})
    bars = re.findall(r'<a href="([^"]+)" class="bar-link" aria-label="([^"]+)"><rect', page.text)
    labels = [label for _href, label in bars]
    assert any("3 completed" in label for label in labels)
    assert any(label.startswith("Step 2: waited 2 d") for label in labels)
    for href, label in bars:
        if "open tasks" in label:
            expected = int(re.search(r": (\d+) open tasks", label).group(1))  # type: ignore[union-attr]
        elif "tasks" in label and "average" in label:
            expected = int(re.search(r", (\d+) tasks", label).group(1))  # type: ignore[union-attr]
        else:
            expected = int(re.search(r": (\d+) (?:submitted|completed)", label).group(1))  # type: ignore[union-attr]
        assert count_of(web.get(html.unescape(href))) == expected, label
    # A chart of links is a group of them, not an image whose links would be hidden.
    assert 'role="group" aria-labelledby="throughput-chart-title"' in page.text


# --- open work by age: the list holds exactly the tasks counted ---------------------------

def test_each_age_links_to_exactly_the_tasks_it_counted(web, make, session, desk,
                                                        monkeypatch):
    counted_at = utcnow().replace(microsecond=0) - timedelta(minutes=5)
    monkeypatch.setattr(insights_routes, "now_whole", lambda: counted_at)
    service = make.service(slug="laptops", steps=[("desk", "task")])
    asker = make.user("Rae")
    # On each bucket's boundary, and a second inside it: [0, 1) [1, 3) [3, 7) [7, 14) [14, ...)
    opened = [counted_at, counted_at - DAY + timedelta(seconds=1), counted_at - DAY,
              counted_at - 3 * DAY, counted_at - 7 * DAY, counted_at - 14 * DAY,
              counted_at - 14 * DAY - timedelta(seconds=1)]
    for moment in opened:
        [task] = make.tasks(make.request(service, asker))
        task.opened_at = moment
        session.add(task)
    session.commit()

    page = web.login(desk.manager).get("/insights/laptops")
    ages = re.findall(r'<a href="([^"]+)" aria-label="Desk, open [^"]+: (\d+)">', page.text)
    assert [int(n) for _href, n in ages] == [2, 1, 1, 1, 2]
    at = str(int(counted_at.timestamp()))
    for bucket, (href, number) in enumerate(ages):
        href = html.unescape(href)
        assert parse_qs(urlsplit(href).query) == {
            "team": ["desk"], "service": ["laptops"], "age": [str(bucket)], "at": [at]}
        listed = web.get(href)
        assert count_of(listed) == int(number), href
        csv_rows = rows_of(web.get(href.replace("/overview/tasks?", "/overview/tasks.csv?")))
        assert len(csv_rows) - 1 == int(number), href
    # The age histogram's bars link the same way (every team of the service).
    bars = re.findall(r'<a href="([^"]+)" class="bar-link" aria-label="[^"]+: (\d+) open tasks"',
                      page.text)
    assert [int(n) for _href, n in bars] == [2, 1, 1, 1, 2]
    for href, number in bars:
        assert count_of(web.get(html.unescape(href))) == int(number)


def test_an_age_that_is_not_one_is_a_400(web, desk):
    web.login(desk.manager)
    assert web.get("/overview/tasks", params={"team": "it", "age": "9"}).status_code == 400
    assert web.get("/overview/tasks", params={"age": "1", "at": "soon"}).status_code == 400
    # Digits int() refuses: a 400, not a 500, on every list that takes an age.
    for url in ("/overview/tasks", "/overview/tasks.csv", "/queues/it", "/queues/it/tasks.csv"):
        for odd in ({"age": "²"}, {"age": "1", "at": "²"}, {"age": "١"}):
            assert web.get(url, params=odd).status_code == 400, (url, odd)
    titled = web.get("/overview/tasks", params={"team": "it", "age": "4"})
    assert "It · open 14+ d" in text_of(titled)


# --- the tables as CSV ----------------------------------------------------------------------

def test_each_insights_table_downloads_with_exact_numbers(web, desk):
    web.login(desk.manager)
    page = web.get("/insights/onboarding", params={"weeks": "4"})
    downloads = [html.unescape(href) for href in
                 re.findall(r'<a href="([^"]+)" download>Download CSV', page.text)]
    assert {urlsplit(href).path for href in downloads} == {
        "/insights/onboarding/weeks.csv", "/insights/onboarding/steps.csv",
        "/insights/onboarding/teams.csv", "/insights/onboarding/team-weeks.csv"}
    files = {urlsplit(href).path.rsplit("/", 1)[-1]: rows_of(web.get(href))
             for href in downloads}
    steps = files["steps.csv"]
    assert steps[0][:5] == ["Step", "Step name", "Finished", "Waiting median (s)",
                            "Waiting 90th (s)"]
    it = steps[2]
    assert it[:5] == ["2", "Step 2", "3", str(2 * 86400), str(3 * 86400)]
    assert it[-1] == "yes" and steps[1][-1] == "no"  # the bottleneck
    weeks = files["weeks.csv"]
    assert weeks[0] == ["Week of", "Submitted", "Completed"] and len(weeks) == 5
    assert sum(int(row[1]) for row in weeks[1:]) == 3
    teams = files["teams.csv"]
    assert teams[0][0] == "Team" and teams[0][-1] == "Open work counted at (UTC)"
    assert {row[0]: row[-2] for row in teams[1:]} == {"Facilities": "3", "Hr": "3", "It": "3"}
    team_weeks = files["team-weeks.csv"]
    assert team_weeks[0] == ["Week of", "Facilities", "Hr", "It"]

    overall = web.get("/insights", params={"weeks": "4"})
    services = [html.unescape(href) for href in
                re.findall(r'<a href="([^"]+)" download>Download CSV', overall.text)]
    assert {urlsplit(href).path for href in services} == {
        "/insights/services.csv", "/insights/teams.csv", "/insights/team-weeks.csv"}
    lines = rows_of(web.get(next(h for h in services if "services" in h)))
    assert lines[0] == ["Service", "Slug", "Submitted", "Completed"]
    assert ["Onboarding", "onboarding", "3", "3"] in lines


# --- a page costs the same queries with more rows ------------------------------------------

@pytest.mark.parametrize("url", ["/insights/quick/tasks?step=0", "/insights/tasks?team=it",
                                 "/insights/quick/completed"])
def test_a_list_costs_the_same_queries_with_more_rows(web, make, session, desk, url):
    service = make.service(slug="quick", steps=[("it", "task")])
    ivan = make.user("Ivan", teams=("it",))
    start = utcnow() - 3 * DAY
    make.finished_history(service, desk.employee, ivan, start=start, waits=[DAY],
                          worked=timedelta(hours=1))
    web.login(desk.manager)
    session.expire_all()
    with counted(session) as few:
        assert web.get(url).status_code == 200
    make.finished_history(service, desk.employee, ivan, start=start,
                          waits=[timedelta(hours=n) for n in range(1, 7)],
                          worked=timedelta(hours=1))
    session.expire_all()
    with counted(session) as many:
        response = web.get(url)
        assert response.status_code == 200
    assert count_of(response) >= 7
    assert len(many) == len(few), url


def test_tasks_finished_in_another_window_are_not_listed(web, desk):
    web.login(desk.manager)
    response = web.get("/insights/onboarding/tasks",
                       params={"step": "1", "from": "2020-01-06", "to": "2020-02-02"})
    assert response.status_code == 200
    assert "No task was finished here in this window." in text_of(response)
    assert count_of(response) == 0


@pytest.mark.parametrize("team", ["hr", "it", "facilities"])
def test_a_teams_list_reads_the_same_walked_or_sorted(session: Session, make, desk, team,
                                                       monkeypatch):
    """The two ways of reading a team's list slowest first (finished_tasks' walk down
    ix_task_duration_team_took, or a sort of the window) give the same rows in the same
    order, page by page through ties (HR's three tasks each took two hours)."""
    from app.reads import finished_tasks as module

    filters = FinishedFilter(window=window_of(weeks="4", today=utcnow().date()),
                             team_id=make.team(team).id)

    def one_at_a_time() -> list[int]:
        seen, after = [], None
        while True:
            page = finished_tasks(session, filters=filters, after=after, limit=1)
            seen += [line.task_id for line in page.rows]
            if page.next_cursor is None:
                return seen
            after = page.next_cursor

    assert module._count_and_walk(session, filters)[1] is False  # few tasks: sorted
    sorted_ids = one_at_a_time()
    monkeypatch.setattr(module, "_WALK_PAGE", 0)  # a walk costs nothing: walked
    assert module._count_and_walk(session, filters)[1] is True
    assert one_at_a_time() == sorted_ids
    assert len(sorted_ids) == 3
    assert [line[0] for line in finished_task_lines(session, filters=filters)] == sorted_ids
