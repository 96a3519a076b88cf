"""The search page per role: the navigation's box, a number straight to its request (or
the same "not found" whether absent or not visible), words, filters, and odd input."""

from dataclasses import dataclass

import pytest

from app.rules.requests import add_comment
from app.storage.models import ServiceRequest, User
from app.web.access import NOT_FOUND
from tests.factories import Factory
from tests.web import WebClient, text_of


@dataclass
class World:
    rita: User
    sam: User
    ivan: User
    mona: User
    laptop_request: ServiceRequest
    payroll_request: ServiceRequest


@pytest.fixture
def world(session, make: Factory) -> World:
    laptop = make.service(slug="laptop", steps=[("it", "task")])
    payroll = make.service(slug="payroll", steps=[("hr", "task")])
    rita, sam = make.user("Rita Requester"), make.user("Sam Sender")
    ivan = make.user("Ivan Tech", teams=("it",))
    world = World(rita, sam, ivan, make.user("Mona Manager", manager=True),
                  make.request(laptop, rita, {"summary": "keyboard broken"}),
                  make.request(payroll, sam, {"summary": "keyboard allowance"}))
    add_comment(session, service_request=world.laptop_request, by=ivan,
                body="zanzibar vendor", internal=True, is_team_member=True)
    return world


def test_every_page_has_the_labelled_search_box(web: WebClient, world):
    page = web.login(world.rita).get("/catalog")
    assert 'action="/search"' in page.text
    assert '<label for="nav-search"' in page.text and 'id="nav-search"' in page.text


def test_it_asks_to_sign_in(web: WebClient):
    assert web.get("/search?q=keyboard").status_code in (302, 303, 401)


def test_a_visible_number_goes_straight_to_the_request(web: WebClient, world):
    number = world.laptop_request.id
    for user in (world.rita, world.ivan, world.mona):
        web.login(user)
        for query in (f"REQ-{number}", str(number)):
            response = web.get(f"/search?q={query}")
            assert response.status_code == 303
            assert response.headers["location"] == f"/requests/{number}"
    response = web.get(f"/search?q=REQ-{number}", htmx=True)
    assert response.headers["HX-Redirect"] == f"/requests/{number}"


def test_a_number_not_visible_is_the_same_not_found_as_no_request(web: WebClient, world):
    web.login(world.sam)
    hidden = web.get(f"/search?q=REQ-{world.laptop_request.id}")
    missing = web.get("/search?q=REQ-999999")
    assert hidden.status_code == missing.status_code == 404
    assert NOT_FOUND in hidden.text and NOT_FOUND in missing.text
    assert "Rita" not in hidden.text and "keyboard" not in text_of(hidden)


def test_words_list_what_each_role_may_see(web: WebClient, world):
    laptop, payroll = f"REQ-{world.laptop_request.id}", f"REQ-{world.payroll_request.id}"
    page = web.login(world.rita).get("/search?q=keyboard")
    assert laptop in page.text and payroll not in page.text
    page = web.login(world.ivan).get("/search?q=keyboard")
    assert laptop in page.text and payroll not in page.text
    page = web.login(world.mona).get("/search?q=keyboard")
    assert laptop in page.text and payroll in page.text
    assert "2 requests match" in text_of(page)


def test_an_internal_note_finds_nothing_for_the_requester(web: WebClient, world):
    page = web.login(world.rita).get("/search?q=zanzibar")
    assert "vendor" not in page.text and "No request you can see matches" in text_of(page)
    assert f"REQ-{world.laptop_request.id}" not in page.text
    page = web.login(world.ivan).get("/search?q=zanzibar")
    assert "Internal note" in page.text and "<mark>zanzibar</mark>" in page.text


def test_results_are_a_list_with_headings(web: WebClient, world):
    page = web.login(world.mona).get("/search?q=keyboard")
    assert '<ol class="request-list search-results"' in page.text
    assert page.text.count('<h2 class="result-title">') == 2


def test_filters_narrow_the_results_and_htmx_gets_the_results_block(web: WebClient, world):
    web.login(world.mona)
    page = web.get("/search?q=keyboard&words=1&state=cancelled")
    assert "No request you can see matches" in text_of(page)
    fragment = web.get("/search?q=keyboard&words=1&state=open", htmx=True)
    assert fragment.text.lstrip().startswith('<div id="results"')
    assert "2 requests match" in text_of(fragment)


def test_a_bare_number_can_be_searched_as_words(web: WebClient, make, world):
    page = web.login(world.mona).get("/search?q=999999&words=1")
    assert page.status_code == 200


@pytest.mark.parametrize("query", [
    '"', "*", "NEAR", "NEAR(keyboard broken)", "-keyboard", "keyboard*", "'", "%", "\\",
    "a OR", "{public}:x", "日本語", "🙂", "ü" * 150, "%00", "REQ-99999999999999",
])
def test_odd_input_is_answered_never_a_500(web: WebClient, world, query):
    from urllib.parse import quote
    response = web.login(world.mona).get(f"/search?q={quote(query)}")
    assert response.status_code in (200, 404)


def test_a_too_long_query_or_a_bad_date_is_a_clear_422(web: WebClient, world):
    web.login(world.mona)
    response = web.get("/search?q=" + "x" * 300)
    assert response.status_code == 422 and "Use at most 200 characters" in response.text
    response = web.get("/search?q=keyboard&filed_from=yesterday")
    assert response.status_code == 422 and "YYYY-MM-DD" in response.text


def test_a_result_says_where_its_words_are_by_label_escaped_and_marked(web: WebClient, make,
                                                                      world):
    service = make.service(slug="kit", name="Kit", fields=[
        {"key": "summary", "label": "Summary", "type": "text", "required": True},
        {"key": "model", "label": "Laptop model", "type": "text"}])
    make.request(service, world.rita, {"summary": "Desk kit", "model": "<b>Docking</b> station"})
    page = web.login(world.mona).get("/search?q=docking+kit")
    assert ('<span class="snippet-label">Laptop model:</span> '
            "&lt;b&gt;<mark>Docking</mark>&lt;/b&gt; station") in page.text
    assert "<mark>Kit</mark>: Desk <mark>kit</mark>" in page.text
    assert "<b>Docking" not in page.text


def test_dates_the_wrong_way_round_are_said_by_the_dates(web: WebClient, world):
    web.login(world.mona)
    page = web.get("/search?q=keyboard&words=1&filed_from=2026-12-20&filed_until=2026-12-14")
    assert page.status_code == 422
    message = "The dates are the wrong way round"
    assert message in text_of(page) and "No request you can see matches" not in text_of(page)
    assert text_of(page).count(message) == 1  # by the dates, not again as a notice
    assert page.text.count('aria-invalid="true"') == 2
    assert 'id="search-dates-error">The dates are the wrong way round' in page.text
    fragment = web.get("/search?q=keyboard&words=1&filed_from=2026-12-20"
                       "&filed_until=2026-12-14", htmx=True)
    assert fragment.status_code == 422
    assert 'id="search-dates-error" hx-swap-oob="true">The dates' in fragment.text
    # Put right, the search runs and the message by the dates is emptied.
    fragment = web.get("/search?q=keyboard&words=1&filed_from=2026-12-14"
                       "&filed_until=2026-12-20", htmx=True)
    assert fragment.status_code == 200 and message not in fragment.text
    assert 'id="search-dates-error" hx-swap-oob="true"></p>' in fragment.text
    same_day = web.get("/search?q=keyboard&words=1&filed_from=2026-12-14"
                       "&filed_until=2026-12-14")
    assert same_day.status_code == 200 and 'aria-invalid' not in same_day.text
