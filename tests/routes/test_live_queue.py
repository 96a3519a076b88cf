"""The live queue: the poll that tells a queue page how many tasks are new or changed
since it was rendered, per role, and what it refuses."""

import html
import re
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest

from app.rules.tasks import claim_task, complete_task
from app.storage.clock import frozen_at
from tests.web import text_of


@pytest.fixture
def desk(make):  # type: ignore[no-untyped-def]
    class Desk:
        laptop = make.service(slug="laptop", name="New laptop",
                              steps=[("it", "task"), ("hr", "task")])
        ivan = make.user("Ivan", teams=("it",))
        iris = make.user("Iris", teams=("it",))
        hana = make.user("Hana", teams=("hr",))
        rita = make.user("Rita")
        mona = make.user("Mona", manager=True)
    return Desk


def file_request(make, desk, summary="Help"):  # type: ignore[no-untyped-def]
    return make.tasks(make.request(desk.laptop, desk.rita, {"summary": summary}))[0]


def changes_url(response) -> str:  # type: ignore[no-untyped-def]
    """The poll address the queue page was rendered with."""
    found = re.search(r'hx-get="(/queues/[^"]+/changes\?[^"]+)"', response.text)
    assert found, "the queue page has no live poll"
    return html.unescape(found.group(1))


@pytest.fixture
def old_task(make, desk):  # type: ignore[no-untyped-def]
    with frozen_at(datetime.now(UTC) - timedelta(hours=2)):
        return file_request(make, desk, "Old one")


def test_the_queue_page_polls_for_changes_since_it_was_rendered(web, desk, old_task):
    response = web.login(desk.ivan).get("/queues/it?state=open&q=old")
    url = changes_url(response)
    assert url.startswith("/queues/it/changes?since=")
    assert "state=open" in url and "q=old" in url
    assert 'hx-trigger="every 15s"' in response.text


def test_nothing_changed_answers_an_empty_fragment(web, desk, old_task):
    url = changes_url(web.login(desk.ivan).get("/queues/it"))
    response = web.get(url, htmx=True)
    assert response.status_code == 200
    assert response.text.strip() == ""


def test_a_new_request_is_counted_with_a_button_that_shows_the_results(
    web, make, desk, old_task
):
    url = changes_url(web.login(desk.ivan).get("/queues/it?state=open"))
    file_request(make, desk, "Fresh one")
    file_request(make, desk, "Fresher one")
    response = web.get(url, htmx=True)
    assert response.status_code == 200
    assert "2 new or changed tasks — show" in text_of(response)
    assert 'hx-get="/queues/it?state=open"' in response.text
    assert 'hx-target="#results"' in response.text


def test_a_claim_by_someone_else_is_counted_but_ones_own_claim_is_not(
    web, session, make, desk, old_task
):
    url = changes_url(web.login(desk.ivan).get("/queues/it"))
    claim_task(session, task=old_task, by=desk.iris)
    assert "1 new or changed task — show" in text_of(web.get(url, htmx=True))

    url = changes_url(web.get("/queues/it"))
    other = file_request(make, desk, "Another")
    url = changes_url(web.get("/queues/it"))
    claim_task(session, task=other, by=desk.ivan)
    assert web.get(url, htmx=True).text.strip() == ""


def test_a_later_step_that_opens_is_counted_in_its_teams_poll(web, session, desk, old_task):
    # The HR step of a request filed two hours ago waits for IT's step; it opens now.
    url = changes_url(web.login(desk.hana).get("/queues/hr"))
    assert web.get(url, htmx=True).text.strip() == ""
    complete_task(session, task=old_task, by=desk.ivan)
    assert "1 new or changed task — show" in text_of(web.get(url, htmx=True))


def test_filters_are_applied_to_the_count(web, make, desk, old_task):
    url = changes_url(web.login(desk.ivan).get("/queues/it?q=printer"))
    file_request(make, desk, "Laptop for Berlin")
    assert web.get(url, htmx=True).text.strip() == ""
    file_request(make, desk, "Printer jam")
    assert "1 new or changed task" in text_of(web.get(url, htmx=True))


def since_now() -> str:
    return urlencode({"since": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()})


@pytest.mark.parametrize("who, status", [
    ("ivan", 200), ("mona", 200), ("hana", 403), ("rita", 403),
])
def test_only_members_and_managers_may_poll(web, make, desk, who, status):  # type: ignore[no-untyped-def]
    file_request(make, desk)
    response = web.login(getattr(desk, who)).get(f"/queues/it/changes?{since_now()}", htmx=True)
    assert response.status_code == status
    if status == 200:
        assert "1 new or changed task" in text_of(response)


def test_signed_out_the_poll_is_refused(web, desk):
    response = web.get(f"/queues/it/changes?{since_now()}", follow_redirects=False)
    assert response.status_code in (302, 303, 401)


def test_an_unknown_team_is_404(web, desk):
    response = web.login(desk.ivan).get(f"/queues/nope/changes?{since_now()}")
    assert response.status_code == 404


@pytest.mark.parametrize("since", ["", "yesterday", "2025-13-01T00:00:00+00:00",
                                   "2025-01-01T10:00:00", "x" * 64])
def test_a_bad_since_is_400(web, desk, since):  # type: ignore[no-untyped-def]
    response = web.login(desk.ivan).get("/queues/it/changes?" + urlencode({"since": since}))
    assert response.status_code == 400


def test_a_since_in_another_time_zone_means_the_same_moment(web, make, desk, old_task):
    before = datetime.now(timezone(timedelta(hours=5))) - timedelta(seconds=1)
    file_request(make, desk)
    response = web.login(desk.ivan).get(
        "/queues/it/changes?" + urlencode({"since": before.isoformat()}), htmx=True)
    assert "1 new or changed task" in text_of(response)
