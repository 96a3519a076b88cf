"""A person's time zone (issue 16, item 6): taken from the browser as they sign in, kept
on their profile, changed there, and used by the pages that show them times."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from app.storage.clock import frozen_at
from app.storage.models import User
from tests.factories import Factory
from tests.routes.test_auth import PASSWORD, sign_in
from tests.web import WebClient, text_of


@pytest.fixture
def rita(make: Factory) -> User:
    return make.user("Rita")


def kept_zone(session: Session, person: User) -> str | None:
    session.expire_all()
    zone = session.get_one(User, person.id).time_zone
    return zone


def test_signing_in_keeps_the_browsers_time_zone(web: WebClient, session: Session, rita):
    assert sign_in(web, rita.email, PASSWORD, time_zone="Europe/Berlin").status_code == 303
    assert kept_zone(session, rita) == "Europe/Berlin"


def test_signing_in_elsewhere_does_not_replace_a_zone_already_kept(web, session, rita):
    rita.time_zone = "Asia/Tokyo"
    session.add(rita)
    session.flush()
    assert sign_in(web, rita.email, PASSWORD, time_zone="Europe/Berlin").status_code == 303
    assert kept_zone(session, rita) == "Asia/Tokyo"


@pytest.mark.parametrize("sent", ["", "Mars/Olympus_Mons"])
def test_a_missing_or_unknown_browser_zone_never_stops_a_sign_in(web, session, rita, sent):
    assert sign_in(web, rita.email, PASSWORD, time_zone=sent).status_code == 303
    assert kept_zone(session, rita) is None


def test_the_sign_in_form_asks_the_browser_for_its_zone(web: WebClient):
    assert '<input type="hidden" name="time_zone" value="" data-browser-time-zone>' in (
        web.get("/login").text)


def test_a_person_changes_their_time_zone_on_their_profile(web, session, rita):
    web.login(rita)
    page = web.get("/profile")
    assert 'id="f-time-zone"' in page.text and '<option value="America/New_York">' in page.text
    assert "Not set: times show in UTC" in text_of(page)
    answer = web.post("/profile/time-zone", {"time_zone": "America/New_York"})
    assert answer.status_code == 303 and answer.headers["location"] == "/profile#time-zone"
    assert kept_zone(session, rita) == "America/New_York"
    page = web.get("/profile")
    assert 'value="America/New_York"' in page.text
    assert re.search(r"Now \w+ \d+ \w+ \d+, \d\d:\d\d E[SD]T \.", text_of(page))
    # Emptied: UTC again, until the next sign-in takes the browser's.
    assert web.post("/profile/time-zone", {"time_zone": ""}).status_code == 303
    assert kept_zone(session, rita) is None


def test_an_unknown_time_zone_is_refused_by_the_field_with_what_was_typed(web, session, rita):
    web.login(rita)
    answer = web.post("/profile/time-zone", {"time_zone": "Europe/Atlantis"})
    assert answer.status_code == 422
    assert 'aria-invalid="true"' in answer.text
    error = re.search(r'<p class="field-error" id="f-time-zone-error">([^<]+)</p>', answer.text)
    assert error is not None and "Choose a time zone from the list" in error.group(1)
    assert 'value="Europe/Atlantis"' in answer.text
    assert kept_zone(session, rita) is None


def test_changing_the_time_zone_needs_the_csrf_token_and_a_signed_in_person(web, session,
                                                                            rita):
    web.login(rita)
    assert web.post("/profile/time-zone", {"time_zone": "Asia/Tokyo"},
                    csrf=False).status_code == 403
    web.logout()
    assert web.post("/profile/time-zone", {"time_zone": "Asia/Tokyo"},
                    csrf=False).status_code == 403
    assert kept_zone(session, rita) is None


def test_a_request_page_shows_its_times_in_the_viewers_zone(web, session, make: Factory):
    filed = datetime(2026, 12, 3, 23, 15, tzinfo=UTC)
    service = make.service()
    asker = make.user("Asha")
    with frozen_at(filed):
        request = make.request(service, asker, {"summary": "New screen"})
    asker.time_zone = "Asia/Tokyo"
    session.add(asker)
    session.flush()
    with frozen_at(filed + timedelta(hours=5)):
        page = web.login(asker).get(f"/requests/{request.id}")
    assert page.status_code == 200
    # Filed on the 3rd in UTC, the morning of the 4th in Tokyo.
    assert 'title="Fri 4 Dec 2026, 08:15 JST">5 h ago' in page.text
    assert "UTC" not in text_of(page)
