"""A team's insights over HTTP: who may see them (per role), the figures of the steps it
owns, its tasks finished a week, its open work by age with each number a link to the
queue holding exactly those tasks (bucket boundaries included), and the CSVs."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

import app.web.routes.queues
import app.web.routes.team_insights
from app.reads.insights import AGE_BUCKETS, window_of
from app.reads.step_durations import forget_kept
from app.reads.team_insights import team_insights
from app.rules.tasks import claim_task
from app.rules.teams import get_team_by_slug
from app.storage.clock import frozen_at, utcnow
from tests.web import text_of


@pytest.fixture(autouse=True)
def _nothing_kept():  # type: ignore[no-untyped-def]
    """Tests roll back and reuse ids: weeks kept for one test must not serve another."""
    forget_kept()
    yield
    forget_kept()


@pytest.fixture
def desk(make):  # type: ignore[no-untyped-def]
    """Onboarding's history (IT, step 2, waited 1, 2 and 3 days, worked 1 h each)."""
    service, requests = make.onboarding_history(utcnow() - timedelta(days=10))

    class Desk:
        onboarding = service
        manager = make.user("Mona", manager=True)
        member = make.user("Ivo", teams=("it",))
        other_member = make.user("Hugo", teams=("hr",))
        employee = make.user("Eve")
        admin = make.user("Ada", admin=True)
        admin_member = make.user("Adam", admin=True, teams=("it",))
    return Desk


def test_a_member_sees_the_steps_their_team_owns(web, desk):
    response = web.login(desk.member).get("/insights/teams/it", params={"weeks": "4"})
    assert response.status_code == 200
    text = text_of(response)
    assert "It: how this team flows" in text
    # finished, waiting median / 90th, worked median / 90th, within target
    assert "Onboarding: 2. Step 2 3 2 d 3 d 1 h 1 h 0%" in text
    assert "3 finished in the window" in text
    assert "Onboarding: 1." not in text  # HR's step
    for chart in ("finished-chart", "age-chart"):
        assert f'id="{chart}-title"' in response.text
    assert 'href="/insights/teams/it/steps.csv?weeks=4"' in response.text


def test_the_weeks_hold_what_was_finished_each_week(web, session, desk):
    window = window_of(weeks="4", today=utcnow().date())
    it = get_team_by_slug(session, "it")
    insights = team_insights(session, team=it, window=window, now=utcnow())
    assert insights.total == 3 and len(insights.finished) == 4
    response = web.login(desk.member).get("/insights/teams/it/finished.csv",
                                          params={"weeks": "4"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Week of", "Tasks finished"]
    assert [row[0] for row in rows[1:]] == [week.isoformat() for week in window.weeks]
    assert [int(row[1]) for row in rows[1:]] == insights.finished


@pytest.mark.parametrize(("who", "status"), [
    ("member", 200), ("manager", 200), ("admin_member", 200),
    ("other_member", 403), ("employee", 403), ("admin", 403),
])
@pytest.mark.parametrize("path", ["", "/finished.csv", "/ages.csv", "/steps.csv"])
def test_members_and_managers_see_a_teams_insights_nobody_else(web, desk, who, status, path):
    response = web.login(getattr(desk, who)).get(f"/insights/teams/it{path}")
    assert response.status_code == status
    if status == 403:
        assert "Onboarding" not in response.text


def test_someone_signed_out_is_sent_to_sign_in(web, desk):
    response = web.get("/insights/teams/it?weeks=4", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/insights/teams/it")


def test_a_team_there_is_not_is_not_found(web, desk):
    assert web.login(desk.manager).get("/insights/teams/nothing").status_code == 404


@pytest.mark.parametrize(("params", "message"), [
    ({"weeks": "7"}, "Choose the last 4, 13 or 52 weeks."),
    ({"from": "2026-03-01"}, "Give both dates"),
    ({"from": "2020-01-01", "to": "2026-03-01"}, "Choose at most 52 weeks."),
])
def test_a_bad_window_gets_a_message_and_a_400(web, desk, params, message):
    response = web.login(desk.member).get("/insights/teams/it", params=params)
    assert response.status_code == 400
    assert message in text_of(response)
    csv_response = web.login(desk.member).get("/insights/teams/it/steps.csv", params=params)
    assert csv_response.status_code == 400


def test_the_window_form_keeps_two_dates(web, desk):
    today = utcnow().date()
    params = {"from": (today - timedelta(days=20)).isoformat(), "to": today.isoformat()}
    response = web.login(desk.member).get("/insights/teams/it", params=params)
    assert response.status_code == 200
    assert f'value="{params["from"]}"' in response.text
    assert "Onboarding: 2. Step 2 3 " in text_of(response)
    far = web.login(desk.member).get("/insights/teams/it",
                                     params={"from": "2020-01-01", "to": "2020-02-01"})
    assert "Onboarding: 2. Step 2 0 — — — — no target" in text_of(far)


def test_the_steps_csv_holds_seconds(web, desk):
    response = web.login(desk.member).get("/insights/teams/it/steps.csv",
                                          params={"weeks": "4"})
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith('attachment; filename="it-steps-')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    day, hour = 86400, 3600
    assert rows[1] == ["Onboarding", "2", "Step 2", "3", str(2 * day + 0), str(3 * day),
                       str(hour), str(hour), "3", "0", "0.0"]


def test_a_step_shared_with_another_team_counts_only_this_teams_tasks(web, session, make):
    """A step moved from one team to another: each team's percentiles are its own."""
    service = make.service(slug="shared", name="Shared", steps=[("it", "task")])
    ivan = make.user("Ivan", teams=("it",))
    rita = make.user("Rita")
    start = utcnow() - timedelta(days=5)
    make.finished_history(service, rita, ivan, start=start,
                          waits=[timedelta(hours=1), timedelta(hours=2)],
                          worked=timedelta(minutes=10))
    # The step's tasks now go to HR (a new version of the service).
    make.service(slug="shared", name="Shared", steps=[("hr", "task")])
    hana = make.user("Hana", teams=("hr",))
    make.finished_history(service, rita, hana, start=start,
                          waits=[timedelta(hours=5)], worked=timedelta(minutes=30))
    it_page = text_of(web.login(ivan).get("/insights/teams/it"))
    assert "Shared: 1. Step 1 2 1 h 2 h 10 min 10 min" in it_page  # no longer owned: "Step 1"
    hr_page = text_of(web.login(hana).get("/insights/teams/hr"))
    assert "Shared: 1. Step 1 1 5 h 5 h 30 min 30 min" in hr_page


# --- open work by age, and the queue behind each number ------------------------------


def _age_links(response) -> list[str]:  # type: ignore[no-untyped-def]
    table = response.text.split('id="age-table"', 1)[1].split("</table>", 1)[0]
    return [unescape(link) for link in re.findall(r'<a href="([^"]+)"', table)]


def _age_counts(response) -> list[int]:  # type: ignore[no-untyped-def]
    table = response.text.split('id="age-table"', 1)[1].split("</table>", 1)[0]
    return [int(n) for n in re.findall(r'<a href="[^"]+"[^>]*>(\d+)</a>', table)]


def _listed(response) -> int:  # type: ignore[no-untyped-def]
    return len(re.findall(r'<tr id="task-\d+"', response.text))


@pytest.fixture
def aged(make, monkeypatch):  # type: ignore[no-untyped-def]
    """IT's open tasks opened on and around each bucket's bounds, counted at a moment
    that is not a whole second (the page counts at the whole second before it)."""
    second = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    now = second + timedelta(microseconds=700_000)
    for module in (app.web.routes.team_insights, app.web.routes.queues):
        monkeypatch.setattr(module, "utcnow", lambda: now)
    service = make.service(slug="desk", name="Desk", steps=[("it", "task")])
    rita = make.user("Rita")
    ivan = make.user("Ivan", teams=("it",))
    openings = []
    for low, _high in AGE_BUCKETS:
        edge = second - timedelta(days=low)
        # On the bound (counted in the older bucket, as age_bounds says), just after it,
        # and between the whole second and the moment of counting.
        openings += [edge, edge + timedelta(microseconds=1),
                     edge + timedelta(microseconds=300_000)]
    openings.append(second - timedelta(days=40))
    for n, moment in enumerate(openings):
        with frozen_at(moment):
            make.request(service, rita, {"summary": f"Opened {n}"})
    return ivan, len(openings)


def test_each_age_number_links_to_a_queue_listing_exactly_those_tasks(web, aged):
    ivan, opened = aged
    member = web.login(ivan)
    page = member.get("/insights/teams/it")
    counts, links = _age_counts(page), _age_links(page)
    assert sum(counts) == opened and len(links) == len(AGE_BUCKETS)
    # A task opened on a bound is as old as the bound: in the older bucket; those opened
    # after it, even within the second before the moment of counting, in the newer.
    assert counts == [5, 3, 3, 3, 2]
    for count, link in zip(counts, links, strict=True):
        assert re.fullmatch(r"/queues/it\?age=\d&at=\d+", link)
        listed = member.get(link)
        assert listed.status_code == 200
        assert _listed(listed) == count
        assert f"<strong>{count}</strong> task" in listed.text
        assert "Show all open work" in text_of(listed)
        # The same list as CSV, and the live poll, carry the same bounds.
        csv_text = member.get(link.replace("/queues/it?", "/queues/it/tasks.csv?")).text
        assert len(csv_text.strip().splitlines()) == count + 1
        assert "age=" in listed.text.split('id="queue-changes"', 1)[1].split(">", 1)[0]
    # Each bar drawn (those of a count above nothing) links to its bucket's list.
    chart = page.text.split('id="age-chart-title"', 1)[1].split("</svg>", 1)[0]
    bars = re.findall(r'<a href="([^"]+)" class="bar-link"', chart)
    assert [unescape(bar) for bar in bars] == links


def test_the_ages_csv_says_each_buckets_bounds(web, aged):
    ivan, _opened = aged
    response = web.login(ivan).get("/insights/teams/it/ages.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Open for" and [row[3] for row in rows[1:]] == ["5", "3", "3", "3", "2"]
    assert rows[1][1].endswith("Z") and rows[1][2] == ""  # the newest: no upper bound


def test_a_claimed_task_is_open_work_too(web, session, make, aged):
    ivan, opened = aged
    [task] = make.tasks(make.request(make.service(slug="desk2", steps=[("it", "task")]),
                                     make.user("Rob"), {"summary": "Claimed"}))
    claim_task(session, task=task, by=ivan)
    counts = _age_counts(web.login(ivan).get("/insights/teams/it"))
    assert sum(counts) == opened + 1


@pytest.mark.parametrize(("params", "message"), [
    ({"age": "9"}, "There is no such age of open work."),
    ({"age": "x"}, "There is no such age of open work."),
    ({"age": "1", "at": "soon"}, "not a time"),
    ({"age": "1", "at": "99999999999999999"}, "not a time"),
])
def test_a_bad_age_link_is_a_400(web, aged, params, message):
    ivan, _opened = aged
    for url in ("/queues/it", "/queues/it/tasks.csv"):
        response = web.login(ivan).get(url, params=params)
        assert response.status_code == 400
        assert message in response.text


def test_the_queue_links_to_its_teams_insights(web, desk):
    response = web.login(desk.member).get("/queues/it")
    assert 'href="/insights/teams/it"' in response.text
    assert "How this team flows" in text_of(response)


@pytest.mark.parametrize("slug", ["tasks", "completed"])
def test_a_team_named_like_a_services_list_opens_its_own_page(web, make, slug):
    """/insights/teams/tasks is the page of team 'tasks', not the finished-task list of
    a service 'teams' (no service may take that slug)."""
    make.team(slug)
    member = make.user("Tess", teams=(slug,))
    page = web.login(member).get(f"/insights/teams/{slug}")
    assert page.status_code == 200
    assert web.login(make.user("Mo", manager=True)).get(
        f"/insights/teams/{slug}").status_code == 200
