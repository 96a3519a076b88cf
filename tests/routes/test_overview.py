"""The manager overview over HTTP: the numbers, and the lists behind them."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from app.rules.requests import cancel_request
from app.rules.tasks import claim_task, complete_task
from app.storage.clock import frozen_at
from tests.web import text_of


def task_ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(number) for number in re.findall(r'<tr id="task-(\d+)"', response.text)]


def table(response, section: str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The body rows of the overview's table in one section, as lists of cell texts; a
    row under a service's heading row (the table by step) starts with that service."""
    part = response.text.split(f'aria-labelledby="{section}"', 1)[1].split("</section>")[0]
    body = part.split("</thead>", 1)[1]
    rows, service = [], []
    for attributes, row in re.findall(r"<tr([^>]*)>(.*?)</tr>", body, re.DOTALL):
        cells = [" ".join(re.sub(r"<[^>]+>", " ", cell).split())
                 for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)]
        if "service-row" in attributes:
            service = cells
        else:
            rows.append(service + cells)
    return rows


def number_links(response) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Each count that links to its list, as (its address, the number it shows)."""
    return re.findall(r'<td class="num[^"]*"[^>]*>(?:<span[^>]*>)*(?:</span>)*'
                      r'<a href="([^"]+)" aria-label="[^"]+: \d+">(\d+)</a>', response.text)


@pytest.fixture
def work(session, make):  # type: ignore[no-untyped-def]
    """Open work filed at known moments before now.

    New laptop (enforced): IT task, then HR approval. Onboarding (flexible): HR task and
    facilities task, both open at once.
    """
    now = datetime.now(UTC)
    laptop = make.service(slug="laptop", name="New laptop",
                          steps=[("it", "task"), ("hr", "approval")])
    onboard = make.service(slug="onboard", name="Onboarding", ordering="flexible",
                           steps=[("hr", "task"), ("facilities", "task")])
    ivan = make.user("Ivan", teams=("it",))
    hana = make.user("Hana", teams=("hr",))
    rita = make.user("Rita")

    def filed(service, ago: timedelta):  # type: ignore[no-untyped-def]
        with frozen_at(now - ago):
            return make.tasks(make.request(service, rita))

    class Work:
        it_open = filed(laptop, timedelta(days=3, hours=5))[0]
        it_claimed = filed(laptop, timedelta(days=2))[0]
        it_done, hr_approval = filed(laptop, timedelta(days=1))
        hr_claimed, facilities_open = filed(onboard, timedelta(hours=4))
    cancelled = make.request(laptop, rita)
    cancel_request(session, service_request=cancelled, by=rita, reason="Not needed")
    claim_task(session, task=Work.it_claimed, by=ivan)
    claim_task(session, task=Work.hr_claimed, by=hana)
    with frozen_at(now - timedelta(hours=5)):
        complete_task(session, task=Work.it_done, by=ivan)
    Work.manager = make.user("Mona", manager=True)  # type: ignore[attr-defined]
    Work.ivan, Work.hana = ivan, hana  # type: ignore[attr-defined]
    return Work


def test_a_manager_sees_open_work_by_team(web, work):
    response = web.login(work.manager).get("/overview")
    assert response.status_code == 200
    # team, open tasks, unclaimed, claimed, overdue, oldest
    assert table(response, "by-team") == [
        ["Facilities", "1", "1", "0", "0", "4 h"],
        ["Hr", "2", "1", "1", "0", "5 h"],
        ["It", "2", "1", "1", "0", "3 d 5 h"],
    ]


def test_a_manager_sees_open_work_by_service_and_step(web, work):
    response = web.login(work.manager).get("/overview")
    # service, step, open tasks, unclaimed, claimed, overdue, oldest
    assert table(response, "by-step") == [
        ["New laptop", "1. Step 1", "2", "1", "1", "0", "3 d 5 h"],
        ["New laptop", "2. Step 2", "1", "1", "0", "0", "5 h"],
        ["Onboarding", "1. Step 1", "1", "0", "1", "0", "4 h"],
        ["Onboarding", "2. Step 2", "1", "1", "0", "0", "4 h"],
    ]
    assert "Oldest open step: New laptop · Step 1 , open for 3 d 5 h" in text_of(response)
    # The service is named once, above its steps.
    assert response.text.count("<th scope=\"rowgroup\" colspan=\"6\">New laptop</th>") == 1


def test_zeros_are_quiet_text_and_every_other_count_a_link(web, work):
    response = web.login(work.manager).get("/overview")
    zeros = re.findall(r'<span class="zero">0</span>', response.text)
    # Facilities: claimed, overdue; Hr, It: overdue; then by step: 2 + 1 + 2 + 2.
    assert len(zeros) == 4 + 7
    assert not re.search(r'<a [^>]*>0</a>', response.text)
    assert len(number_links(response)) == 3 * 4 + 4 * 4 - len(zeros)


def test_the_oldest_task_of_each_group_is_drawn_as_heat_beside_its_age(web, work):
    response = web.login(work.manager).get("/overview")
    teams = response.text.split('id="by-team"', 1)[1].split("</table>", 1)[0]
    fills = re.findall(r'<span class="fill age-(\w+)" style="width: (\d+)%">', teams)
    # Facilities 4 h, Hr 5 h, It 3 d 5 h: the oldest fills its bar, the others in
    # proportion (on a log scale), each coloured by how long.
    assert [level for level, _ in fills] == ["fresh", "fresh", "days"]
    widths = [int(width) for _, width in fills]
    assert widths[2] == 100 and 0 < widths[0] < widths[1] < widths[2]
    assert "under a day" in text_of(response)  # the colours' legend


def test_every_number_opens_a_list_of_exactly_that_many_tasks(web, work):
    web.login(work.manager)
    overview = web.get("/overview")
    links = number_links(overview)
    # open, unclaimed, claimed, overdue: every count but the zeros
    assert len(links) == 3 * 4 + 4 * 4 - overview.text.count('<span class="zero">0</span>')
    for href, number in links:
        listed = web.get(html.unescape(href))
        assert listed.status_code == 200
        assert len(task_ids(listed)) == int(number), href
        total = re.search(r"(\d+) (?:open|unclaimed|claimed|overdue) tasks?, "
                          r"(?:oldest|due soonest) first", text_of(listed))
        assert total is not None and total.group(1) == number, href


def test_an_empty_overview_says_so(web, make):
    response = web.login(make.user(manager=True)).get("/overview")
    assert response.status_code == 200
    assert "No open work. Every queue is clear." in text_of(response)
    assert "Oldest open step" not in text_of(response)


@pytest.mark.parametrize("url", [
    "/overview", "/overview/tasks", "/overview/tasks?team=it",
    "/overview/tasks?service=laptop&step=0",
])
def test_people_without_the_manager_flag_are_refused(web, make, work, url):
    for person in (make.user("Eve"), work.ivan, make.user("Adam", admin=True)):
        response = web.login(person).get(url)
        assert response.status_code == 403, person.name
        page = text_of(response)
        assert "Only managers can see this page." in page
        assert "Step 1" not in page and "REQ-" not in page


def test_the_list_behind_a_team_shows_assignee_and_age_oldest_first(web, work):
    response = web.login(work.manager).get("/overview/tasks?team=it")
    assert response.status_code == 200
    assert task_ids(response) == [work.it_open.id, work.it_claimed.id]
    page = text_of(response)
    assert "2 open tasks, oldest first." in page
    assert f"REQ-{work.it_open.request_id} New laptop: Help Step 1 It Rita 3 d 5 h" in page
    # The age, then (for screen readers, hidden) since when, then who has it.
    assert re.search(rf"REQ-{work.it_claimed.request_id} New laptop: Help Step 1 It Rita 2 d "
                     r"\(Open since [^)]+\) Ivan", page)
    # A manager who is not on the team is shown the work, not buttons to do it (the one
    # form that posts is their own: saving the filters as a view).
    actions = re.sub(r'<details class="save-view".*?</details>', "", response.text, flags=re.S)
    assert "hx-post" not in actions and 'id="overview-save-view"' in response.text
    # Nor an empty Actions column; and the assignee's age says what it counts.
    assert ">Actions<" not in response.text and 'data-label="Actions"' not in response.text
    # Claimed as the test began; then, hidden, the exact time.
    assert re.search(r"Ivan \(claimed (?:just now|\d+ s ago) \([A-Z][a-z]{2} \d", page)


def test_a_manager_on_the_team_gets_the_actions_column_on_its_list_only(web, make, work):
    lead = make.user("Lena", manager=True, teams=("it",))
    web.login(lead)
    it_list = web.get("/overview/tasks?team=it")
    assert it_list.text.count('data-label="Actions"') == 2 and ">Actions<" in it_list.text
    assert "/claim" in it_list.text
    # A list of other teams' work only: none; a list mixing both: every row has the cell.
    assert 'data-label="Actions"' not in web.get("/overview/tasks?team=hr").text
    everything = web.get("/overview/tasks")
    assert everything.text.count('data-label="Actions"') == len(task_ids(everything)) == 5


def test_the_list_behind_a_step_shows_that_steps_tasks(web, work):
    web.login(work.manager)
    response = web.get("/overview/tasks?service=laptop&step=1")
    assert task_ids(response) == [work.hr_approval.id]
    assert "New laptop · step 2: Step 2" in text_of(response)
    first_step = web.get("/overview/tasks?service=laptop&step=0")
    assert task_ids(first_step) == [work.it_open.id, work.it_claimed.id]
    hr = web.get("/overview/tasks?team=hr")
    assert task_ids(hr) == [work.hr_approval.id, work.hr_claimed.id]


def test_the_list_can_keep_only_claimed_or_unclaimed_tasks(web, work):
    web.login(work.manager)
    claimed = web.get("/overview/tasks?service=laptop&step=0&state=claimed")
    assert task_ids(claimed) == [work.it_claimed.id]
    assert "1 claimed task, oldest first." in text_of(claimed)
    assert "Ivan" in text_of(claimed)
    unclaimed = web.get("/overview/tasks?service=laptop&step=0&state=open")
    assert task_ids(unclaimed) == [work.it_open.id]
    assert "1 unclaimed task, oldest first." in text_of(unclaimed)
    by_team = web.get("/overview/tasks?team=hr&state=claimed")
    assert task_ids(by_team) == [work.hr_claimed.id]


def test_all_open_work_is_listed_without_filters(web, work):
    response = web.login(work.manager).get("/overview/tasks")
    assert task_ids(response) == [
        work.it_open.id, work.it_claimed.id, work.hr_approval.id,  # opened 5 h ago
        work.hr_claimed.id, work.facilities_open.id,
    ]
    assert "All open work" in text_of(response)


@pytest.mark.parametrize("url", [
    "/overview/tasks?team=no-such-team", "/overview/tasks?service=no-such-service",
    "/overview/tasks?team=it&service=no-such-service&step=0",
])
def test_an_unknown_team_or_service_is_not_found(web, work, url):
    response = web.login(work.manager).get(url)
    assert response.status_code == 404
    assert "There is no such" in text_of(response)


@pytest.mark.parametrize("step", ["-1", "abc", "1.5", "99999999999999999999"])
def test_a_bad_step_is_a_400(web, work, step):
    response = web.login(work.manager).get(f"/overview/tasks?service=laptop&step={step}")
    assert response.status_code == 400
    assert "not understood" in text_of(response)


def test_a_bad_page_link_is_a_400(web, work):
    response = web.login(work.manager).get("/overview/tasks?team=it&after=garbage")
    assert response.status_code == 400
    assert "page link is broken" in text_of(response)


def test_the_list_behind_a_step_is_titled_with_the_step_even_when_empty(web, make, work):
    web.login(make.user(manager=True))
    empty = web.get("/overview/tasks?service=laptop&step=1&state=claimed")
    assert empty.status_code == 200
    assert "New laptop · step 2: Step 2" in text_of(empty)
    across = web.get("/overview/tasks?step=0")
    assert "step 1 of every service" in text_of(across)


@pytest.mark.parametrize("url", [
    "/overview/tasks?service=laptop&step=2", "/overview/tasks?service=laptop&step=1000",
    "/overview/tasks?step=2", "/overview/tasks?team=it&service=laptop&step=5",
])
def test_a_step_that_does_not_exist_is_not_found(web, work, url):
    response = web.login(work.manager).get(url)
    assert response.status_code == 404
    assert "There is no such step." in text_of(response)


def test_a_step_an_earlier_version_had_is_listed_while_it_has_open_work(web, session, make):
    from app.format.definitions import parse_service
    from app.rules.catalog import save_service

    service = make.service(slug="move", name="Office move", ordering="flexible",
                           steps=[("it", "task"), ("hr", "task"), ("facilities", "task")])
    last = make.tasks(make.request(service, make.user("Rita")))[2]
    save_service(session, definition=parse_service({
        "slug": "move", "name": "Office move", "category": "General",
        "fields": [{"key": "summary", "label": "Summary", "type": "text"}],
        "steps": [{"name": "Step 1", "team": "it"}, {"name": "Step 2", "team": "hr"}],
    }))
    web.login(make.user(manager=True))
    response = web.get("/overview/tasks?service=move&step=2")
    assert response.status_code == 200
    assert task_ids(response) == [last.id]
    assert web.get("/overview/tasks?step=2").status_code == 200
    assert web.get("/overview/tasks?service=move&step=3").status_code == 404


@pytest.mark.parametrize("flag, listed", [("1", 0), ("on", 0), ("", 2), ("0", 2)])
def test_the_overdue_flag_reads_what_the_pages_send(web, work, flag, listed):
    response = web.login(work.manager).get(f"/overview/tasks?team=it&overdue={flag}")
    assert response.status_code == 200
    assert len(task_ids(response)) == listed


@pytest.mark.parametrize("flag", ["maybe", "ON", "2"])
def test_an_overdue_flag_no_page_sends_is_refused(web, work, flag):
    response = web.login(work.manager).get(f"/overview/tasks?team=it&overdue={flag}")
    assert response.status_code == 422
