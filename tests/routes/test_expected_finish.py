"""How long it usually takes, on the pages a requester sees: the service page before
filing and an open request's page; never on a finished request."""

from datetime import UTC, datetime, timedelta

import pytest

from app.reads.expected_finish import TOO_FEW_PICKED_UP, TOO_FEW_REQUESTS
from app.rules.requests import cancel_request
from app.rules.tasks import claim_task, complete_task
from tests.web import text_of

MONDAY = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
WHOLE = "Usually done in 4–10 hours."
WHOLE_ON_REQUEST = ("Requests of this service are usually done in 4–10 hours from when they are "
                    "filed.")
PICKED_UP = "This step is usually picked up within 9 hours."


@pytest.fixture
def desk(make):  # type: ignore[no-untyped-def]
    """A badge service with twelve completed requests (lead times 2..13 hours, waited
    1..12 hours), and a service nobody has used yet."""
    service = make.service(slug="badge", name="Badge", steps=[("security", "task")])
    rita = make.user("Rita")
    sam = make.user("Sam", teams=("security",))
    make.finished_history(service, rita, sam, start=MONDAY,
                          waits=[timedelta(hours=n + 1) for n in range(12)],
                          worked=timedelta(hours=1))

    class Desk:
        badge = service
        fresh = make.service(slug="fresh", name="Fresh", steps=[("security", "task")])
        requester = rita
        worker = sam
    return Desk


def test_the_service_page_says_how_long_requests_usually_take(web, desk):
    response = web.login(desk.requester).get("/services/badge")
    assert response.status_code == 200
    text = text_of(response)
    assert WHOLE in text
    assert "Half of the last 12 completed requests took that long" in text


def test_the_service_page_says_plainly_when_too_few_requests_were_completed(web, desk):
    text = text_of(web.login(desk.requester).get("/services/fresh"))
    assert TOO_FEW_REQUESTS in text
    assert "Usually done" not in text


def test_an_open_request_says_how_soon_its_step_is_picked_up_and_when_it_usually_ends(
        web, make, desk):
    request = make.request(desk.badge, desk.requester)
    text = text_of(web.login(desk.requester).get(f"/requests/{request.id}"))
    assert PICKED_UP in text
    assert WHOLE_ON_REQUEST in text


def test_a_picked_up_step_says_how_soon_it_is_usually_finished(web, make, session, desk):
    request = make.request(desk.badge, desk.requester)
    [task] = make.tasks(request)
    claim_task(session, task=task, by=desk.worker)
    text = text_of(web.login(desk.requester).get(f"/requests/{request.id}"))
    assert "Once picked up, this step is usually finished within an hour." in text
    assert PICKED_UP not in text


def test_an_open_request_of_a_new_service_says_it_is_too_early_to_tell(web, make, desk):
    request = make.request(desk.fresh, desk.requester)
    text = text_of(web.login(desk.requester).get(f"/requests/{request.id}"))
    assert TOO_FEW_PICKED_UP in text
    assert TOO_FEW_REQUESTS in text


def test_the_team_working_on_it_sees_the_same_lines(web, make, desk):
    request = make.request(desk.badge, desk.requester)
    text = text_of(web.login(desk.worker).get(f"/requests/{request.id}"))
    assert PICKED_UP in text and WHOLE_ON_REQUEST in text


def test_a_completed_request_says_nothing_of_how_long_it_usually_takes(
        web, make, session, desk):
    request = make.request(desk.badge, desk.requester)
    [task] = make.tasks(request)
    claim_task(session, task=task, by=desk.worker)
    complete_task(session, task=task, by=desk.worker)
    text = text_of(web.login(desk.requester).get(f"/requests/{request.id}"))
    assert "Complete" in text
    assert "usually" not in text.lower() and "too few" not in text.lower()


def test_a_cancelled_request_says_nothing_of_how_long_it_usually_takes(
        web, make, session, desk):
    request = make.request(desk.badge, desk.requester)
    cancel_request(session, service_request=request, by=desk.requester, reason="No need")
    text = text_of(web.login(desk.requester).get(f"/requests/{request.id}"))
    assert "usually" not in text.lower() and "too few" not in text.lower()


def test_someone_else_still_cannot_see_the_request(web, make, desk):
    request = make.request(desk.badge, desk.requester)
    response = web.login(make.user("Otto")).get(f"/requests/{request.id}")
    assert response.status_code == 404
    assert "usually" not in response.text.lower()
