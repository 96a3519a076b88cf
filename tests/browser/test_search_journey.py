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
