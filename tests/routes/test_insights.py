"""Insights over HTTP: who may see them, the figures and the bottleneck on the page, the
charts with their table alternatives, and a bad window's message."""

from datetime import timedelta

import pytest

from app.storage.clock import utcnow
from tests.web import text_of


@pytest.fixture
def desk(make):  # type: ignore[no-untyped-def]
    service, requests = make.onboarding_history(utcnow() - timedelta(days=10))

    class Desk:
        onboarding = service
        manager = make.user("Mona", manager=True)
        member = make.user("Ivo", teams=("it",))
        employee = make.user("Eve")
    return Desk


def test_a_manager_sees_every_service_and_the_teams(web, desk):
    response = web.login(desk.manager).get("/insights")
    assert response.status_code == 200
    assert 'href="/insights/onboarding"' in response.text
    assert 'href="/insights"' in response.text.split("<main", 1)[0]  # the navigation's link
    text = text_of(response)
    assert "Onboarding 3 3" in text  # submitted, completed
    assert "Open work by age" in text


def test_a_manager_finds_the_bottleneck_of_a_service(web, desk):
    response = web.login(desk.manager).get("/insights/onboarding", params={"weeks": "4"})
    assert response.status_code == 200
    text = text_of(response)
    assert "2 d 4 h median" in text and "3 d 4 h 90th percentile" in text  # lead time
    assert "3 requests completed" in text
    assert "Bottleneck: step 2, Step 2" in text
    assert "mostly waiting to be picked up" in text
    assert "2. Step 2 3 2 d 3 d 1 h 1 h 0% 94%" in text  # the step's row
    assert 'href="/overview/tasks?service=onboarding&amp;step=1"' in response.text
    for chart in ("throughput-chart", "split-chart", "age-chart"):
        assert f'aria-labelledby="{chart}-title"' in response.text
    assert 'viewBox="0 0 360' in response.text and 'width="100%"' in response.text


def test_the_window_can_be_two_dates(web, desk):
    today = utcnow().date()
    params = {"from": (today - timedelta(days=20)).isoformat(), "to": today.isoformat()}
    response = web.login(desk.manager).get("/insights/onboarding", params=params)
    assert response.status_code == 200
    assert "3 requests completed" in text_of(response)
    # Far in the past: nothing finished then.
    response = web.login(desk.manager).get(
        "/insights/onboarding", params={"from": "2020-01-01", "to": "2020-02-01"})
    assert "No request of this service was completed in this window." in text_of(response)


@pytest.mark.parametrize("params, message", [
    ({"weeks": "7"}, "Choose the last 4, 13 or 52 weeks."),
    ({"from": "2026-02-30", "to": "2026-03-01"}, "Enter a real date"),
    ({"from": "2026-03-01"}, "Give both dates"),
    ({"from": "2020-01-01", "to": "2026-03-01"}, "Choose at most 52 weeks."),
])
def test_a_bad_window_gets_a_message_and_a_400(web, desk, params, message):
    for url in ("/insights", "/insights/onboarding"):
        response = web.login(desk.manager).get(url, params=params)
        assert response.status_code == 400
        assert message in text_of(response)


@pytest.mark.parametrize("who", ["employee", "member"])
@pytest.mark.parametrize("url", ["/insights", "/insights/onboarding"])
def test_nobody_but_a_manager_sees_insights(web, desk, who, url):
    response = web.login(getattr(desk, who)).get(url)
    assert response.status_code == 403
    assert "Insights" not in response.text.split("<main", 1)[0]


def test_someone_signed_out_is_sent_to_sign_in(web, desk):
    response = web.get("/insights/onboarding?weeks=4", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/insights/onboarding")


def test_insights_of_no_service_are_not_found(web, desk):
    assert web.login(desk.manager).get("/insights/nothing").status_code == 404
