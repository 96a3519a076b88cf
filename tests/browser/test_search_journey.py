"""The manager's search journey (issue 14, "Done when"): a word of a request's answers,
typed in the navigation's search box, finds the request."""

from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in


def test_the_manager_finds_a_request_by_a_word_in_its_answers(page: Page, live_server: str):
    sign_in(page, live_server, "maria@example.com")
    box = page.get_by_role("searchbox", name="Search requests")
    box.fill("kitchen")
    box.press("Enter")
    page.wait_for_url("**/search?q=kitchen")
    expect(page.get_by_role("heading", level=1)).to_have_text("Search requests")
    results = page.locator("#search-results")
    first = results.get_by_role("heading", level=2).first
    expect(first).to_be_visible()
    expect(results.locator("mark").first).to_have_text("kitchen")
    first.get_by_role("link").click()
    page.wait_for_url("**/requests/*")
    expect(page.locator("main")).to_contain_text("kitchen")

    # A request number goes straight to it.
    number = page.url.rsplit("/", 1)[1]
    box = page.get_by_role("searchbox", name="Search requests")
    box.fill(f"REQ-{number}")
    box.press("Enter")
    page.wait_for_url(f"**/requests/{number}")


def test_a_result_says_where_its_word_is_and_dates_the_wrong_way_round_are_said_by_them(
    page: Page, live_server: str
):
    sign_in(page, live_server, "maria@example.com")
    page.goto(f"{live_server}/search?q=kitchen")
    snippet = page.locator("#search-results .snippet").first
    expect(snippet.locator(".snippet-label")).not_to_be_empty()  # an answer's question
    expect(snippet.locator("mark").first).to_have_text("kitchen", ignore_case=True)

    # The filters search as they change (htmx): the message comes in by the dates.
    page.get_by_label("Filed from", exact=True).fill("2026-12-20")
    page.get_by_label("until", exact=True).fill("2026-12-14")
    error = page.locator("#search-dates-error")
    expect(error).to_have_text(
        "The dates are the wrong way round: “Filed from” (2026-12-20) is after “until” "
        "(2026-12-14).")
    expect(page.locator("#results")).not_to_contain_text("No request you can see matches")
    page.get_by_label("Filed from", exact=True).fill("2026-12-01")
    expect(error).to_be_empty()
    expect(error).to_be_hidden()
