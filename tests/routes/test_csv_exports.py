"""CSV downloads of the lists, over HTTP, per role: a team queue (with its filters), My
work, the overview's tables and the lists behind its numbers, My requests. Each holds
what its page shows, on all its pages, for the people who may see the page."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from app.reads import my_requests, task_lines
from app.rules.requests import cancel_request
from app.rules.tasks import claim_task
from app.storage.clock import frozen_at

TASK_HEADER = ["Request", "Title", "Service", "Step", "Step name", "Kind", "Team", "State",
               "Requester", "Assignee", "Opened (UTC)", "Due (UTC)", "State since (UTC)"]


def rows_of(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The CSV's rows, header first, after checking it is a UTF-8 download with a BOM."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


def numbers(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [row[0] for row in rows_of(response)[1:]]


def anonymous_is_sent_to_sign_in(web, url: str) -> None:  # type: ignore[no-untyped-def]
    web.logout()
    response = web.get(url)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


@pytest.fixture
def desk(make):  # type: ignore[no-untyped-def]
    """IT then HR for "New laptop" (a day's target a step); Ivan and Iris work in IT,
    Hana in HR, Rita asks, Mona manages."""
    class Desk:
        laptop = make.service(slug="laptop", name="New laptop", target_hours=24,
                              steps=[("it", "task"), ("hr", "task")])
        ivan = make.user("Ivan", teams=("it",))
        iris = make.user("Iris", teams=("it",))
        hana = make.user("Hana", teams=("hr",))
        rita = make.user("Rita")
        mona = make.user("Mona", manager=True)
    return Desk


def file(make, desk, summary="Help", days_ago=0):  # type: ignore[no-untyped-def]
    with frozen_at(datetime.now(UTC) - timedelta(days=days_ago, minutes=1)):
        return make.request(desk.laptop, desk.rita, {"summary": summary})


# --- a team queue --------------------------------------------------------------------


def test_a_member_downloads_the_queue_oldest_first_with_every_column(web, session, make, desk):
    old = file(make, desk, "Berlin, \"the\" office", days_ago=3)
    new = file(make, desk, "Paris")
    claim_task(session, task=make.tasks(new)[0], by=desk.iris)
    response = web.login(desk.ivan).get("/queues/it/tasks.csv")
    today = datetime.now(UTC).date().isoformat()
    assert response.headers["content-disposition"] == (
        f'attachment; filename="queue-it-{today}.csv"')
    rows = rows_of(response)
    assert rows[0] == TASK_HEADER
    first = dict(zip(TASK_HEADER, rows[1], strict=True))
    assert first["Request"] == old.number
    assert first["Title"] == 'New laptop: Berlin, "the" office'
    assert (first["Service"], first["Step"], first["Team"]) == ("New laptop", "1", "It")
    assert (first["State"], first["Requester"], first["Assignee"]) == ("open", "Rita", "")
    task = make.tasks(old)[0]
    assert first["Opened (UTC)"] == task.opened_at.replace(tzinfo=UTC).isoformat(
        timespec="seconds").replace("+00:00", "Z")
    assert first["Due (UTC)"].endswith("Z")
    assert rows[2][0] == new.number and rows[2][7:10] == ["claimed", "Rita", "Iris"]


def test_a_manager_off_the_team_downloads_the_queue(web, make, desk):
    request = file(make, desk)
    assert numbers(web.login(desk.mona).get("/queues/it/tasks.csv")) == [request.number]


def test_an_employee_off_the_team_may_not_download_the_queue(web, make, desk):
    file(make, desk)
    response = web.login(desk.hana).get("/queues/it/tasks.csv")
    assert response.status_code == 403
    assert "text/csv" not in response.headers["content-type"]


def test_the_csv_of_an_unknown_team_is_not_found(web, desk):
    assert web.login(desk.ivan).get("/queues/no-such-team/tasks.csv").status_code == 404


def test_the_queues_csv_asks_who_is_signed_in(web, desk):
    anonymous_is_sent_to_sign_in(web, "/queues/it/tasks.csv?state=open")


def test_the_queues_csv_keeps_the_pages_filters(web, session, make, desk):
    other = make.service(slug="monitor", name="Monitor", steps=[("it", "task")])
    late = file(make, desk, "Late one", days_ago=3)
    mine = file(make, desk, "Mine")
    claim_task(session, task=make.tasks(mine)[0], by=desk.ivan)
    theirs = file(make, desk, "Theirs")
    claim_task(session, task=make.tasks(theirs)[0], by=desk.iris)
    monitor = make.request(other, desk.rita, {"summary": "Screen"})
    web.login(desk.ivan)

    def listed(query: str) -> list[str]:
        return numbers(web.get(f"/queues/it/tasks.csv?{query}"))

    assert listed("") == [late.number, mine.number, theirs.number, monitor.number]
    assert listed("state=open") == [late.number, monitor.number]
    assert listed("state=mine") == [mine.number]
    assert listed(f"service={other.id}") == [monitor.number]
    assert listed("q=late") == [late.number]
    assert listed(f"q={monitor.number}") == [monitor.number]
    assert listed("overdue=1") == [late.number]
    assert listed("state=overdue") == [late.number]
    assert listed("sort=due")[0] == late.number
    assert web.get("/queues/it/tasks.csv?service=x").status_code == 400


def test_the_queue_page_links_to_its_csv_with_the_same_filters(web, make, desk):
    other = make.service(slug="monitor", name="Monitor", steps=[("it", "task")])
    make.request(other, desk.rita, {"summary": "Screen"})
    page = web.login(desk.ivan).get(f"/queues/it?service={other.id}&q=screen&sort=due")
    assert (f'href="/queues/it/tasks.csv?service={other.id}&amp;q=screen&amp;sort=due" '
            'download>Download CSV</a>') in page.text
    # The results htmx swaps in on a filter change carry the link too.
    fragment = web.get("/queues/it?state=open", htmx=True)
    assert 'href="/queues/it/tasks.csv?state=open"' in fragment.text


def test_a_queue_longer_than_a_batch_is_all_there_in_order(web, make, desk, monkeypatch):
    monkeypatch.setattr(task_lines, "EXPORT_BATCH", 2)
    filed = [file(make, desk, f"Number {n}", days_ago=7 - n) for n in range(7)]
    expected = [request.number for request in filed]
    web.login(desk.ivan)
    assert numbers(web.get("/queues/it/tasks.csv")) == expected
    due_soonest = numbers(web.get("/queues/it/tasks.csv?sort=due"))
    assert due_soonest == expected  # due a day after each opened


def test_cells_a_spreadsheet_would_run_are_made_inert(web, make, desk):
    evil = make.service(slug="evil", name="=HYPERLINK(\"http://x\")", steps=[("it", "task")])
    make.request(evil, desk.rita, {"summary": "Fine"})
    rows = rows_of(web.login(desk.ivan).get("/queues/it/tasks.csv"))
    assert rows[1][2] == "'=HYPERLINK(\"http://x\")"


# --- my work -------------------------------------------------------------------------


def test_my_work_downloads_only_the_tasks_i_have_claimed(web, session, make, desk, monkeypatch):
    monkeypatch.setattr(task_lines, "EXPORT_BATCH", 1)
    mine = [file(make, desk, f"Mine {n}", days_ago=3 - n) for n in range(3)]
    for request in mine:
        claim_task(session, task=make.tasks(request)[0], by=desk.ivan)
    theirs = file(make, desk, "Theirs")
    claim_task(session, task=make.tasks(theirs)[0], by=desk.iris)
    file(make, desk, "Nobody's")
    response = web.login(desk.ivan).get("/my-work.csv")
    assert "my-work-" in response.headers["content-disposition"]
    assert numbers(response) == [request.number for request in mine]
    assert numbers(web.login(desk.rita).get("/my-work.csv")) == []
    page = web.login(desk.ivan).get("/my-work")
    assert 'href="/my-work.csv" download>Download CSV</a>' in page.text


def test_my_works_csv_asks_who_is_signed_in(web, desk):
    anonymous_is_sent_to_sign_in(web, "/my-work.csv")


# --- the overview --------------------------------------------------------------------


def test_a_manager_downloads_the_overviews_tables(web, session, make, desk):
    late = file(make, desk, "Late", days_ago=3)
    claimed = file(make, desk, "Claimed")
    claim_task(session, task=make.tasks(claimed)[0], by=desk.iris)
    web.login(desk.mona)
    teams = rows_of(web.get("/overview/teams.csv"))
    assert teams[0] == ["Team", "Open tasks", "Unclaimed", "Claimed", "Overdue",
                        "Oldest opened (UTC)"]
    assert teams[1][:5] == ["It", "2", "1", "1", "1"]
    assert teams[1][5].startswith(make.tasks(late)[0].opened_at.date().isoformat())
    steps = rows_of(web.get("/overview/steps.csv"))
    assert steps[0][:3] == ["Service", "Step", "Step name"]
    assert steps[1][:7] == ["New laptop", "1", "Step 1", "2", "1", "1", "1"]
    page = web.get("/overview").text
    assert 'href="/overview/teams.csv" download>' in page
    assert 'href="/overview/steps.csv" download>' in page


@pytest.mark.parametrize("url", ["/overview/teams.csv", "/overview/steps.csv",
                                 "/overview/tasks.csv", "/overview/tasks.csv?team=it"])
def test_only_managers_download_the_overview(web, make, desk, url):
    file(make, desk)
    for person in (desk.ivan, desk.rita):
        response = web.login(person).get(url)
        assert response.status_code == 403
        assert "text/csv" not in response.headers["content-type"]
    anonymous_is_sent_to_sign_in(web, url)


def test_the_list_behind_a_number_downloads_what_the_page_lists(web, session, make, desk,
                                                                 monkeypatch):
    monkeypatch.setattr(task_lines, "EXPORT_BATCH", 2)
    filed = [file(make, desk, f"Number {n}", days_ago=4 - n) for n in range(5)]
    claim_task(session, task=make.tasks(filed[1])[0], by=desk.iris)
    web.login(desk.mona)
    everything = web.get("/overview/tasks.csv?team=it")
    assert f'filename="open-work-it-{datetime.now(UTC).date().isoformat()}.csv"' in (
        everything.headers["content-disposition"])
    assert numbers(everything) == [request.number for request in filed]
    assert numbers(web.get("/overview/tasks.csv?team=it&state=claimed")) == [filed[1].number]
    assert numbers(web.get("/overview/tasks.csv?service=laptop&step=0&state=open")) == [
        request.number for request in filed if request is not filed[1]]
    assert numbers(web.get("/overview/tasks.csv?overdue=1&sort=due")) == [
        request.number for request in filed[:4]]
    assert numbers(web.get("/overview/tasks.csv?team=hr")) == []
    page = web.get("/overview/tasks?team=it&state=claimed")
    assert 'href="/overview/tasks.csv?team=it&amp;state=claimed" download>' in page.text


@pytest.mark.parametrize("url", ["/overview/tasks.csv?team=nope",
                                 "/overview/tasks.csv?service=nope",
                                 "/overview/tasks.csv?service=laptop&step=7"])
def test_the_csv_behind_an_unknown_team_service_or_step_is_not_found(web, desk, url):
    assert web.login(desk.mona).get(url).status_code == 404


# --- my requests ---------------------------------------------------------------------


def test_my_requests_downloads_only_my_own_newest_first(web, session, make, desk, monkeypatch):
    monkeypatch.setattr(my_requests, "EXPORT_BATCH", 2)
    mine = [file(make, desk, f"Mine {n}") for n in range(5)]
    make.request(desk.laptop, desk.hana, {"summary": "Not mine"})
    cancel_request(session, service_request=mine[0], by=desk.rita, reason="No need")
    response = web.login(desk.rita).get("/requests.csv")
    assert "my-requests-" in response.headers["content-disposition"]
    rows = rows_of(response)
    assert rows[0] == ["Request", "Title", "Service", "State", "Now at", "Filed (UTC)",
                       "Closed (UTC)"]
    assert [row[0] for row in rows[1:]] == [request.number for request in reversed(mine)]
    newest = rows[1]
    assert newest[1:5] == ["New laptop: Mine 4", "New laptop", "open", "Step 1 (It, open)"]
    assert newest[5].endswith("Z") and newest[6] == ""
    cancelled = rows[-1]
    assert cancelled[3:5] == ["cancelled", ""] and cancelled[6].endswith("Z")
    assert numbers(web.get("/requests.csv?state=cancelled")) == [mine[0].number]
    assert len(numbers(web.get("/requests.csv?state=bogus"))) == 5
    page = web.get("/requests?state=cancelled")
    assert 'href="/requests.csv?state=cancelled" download>Download CSV</a>' in page.text


def test_someone_who_asked_for_nothing_downloads_an_empty_list(web, make, desk):
    file(make, desk)
    assert rows_of(web.login(desk.ivan).get("/requests.csv"))[1:] == []


def test_my_requests_csv_asks_who_is_signed_in(web, desk):
    anonymous_is_sent_to_sign_in(web, "/requests.csv")
