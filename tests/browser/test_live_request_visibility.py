"""The live request page polls only while it is in view, without eval (issue 14 review,
item 4): its trigger had a filter expression htmx may not evaluate (allowEval is off),
which threw htmx:evalDisallowedError and let the page poll with its tab hidden. Now
static/visible-poll.js holds the poll while the tab is hidden and asks once when it comes
back. The page's clock is the test's: the intervals pass without sleeping."""

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in

SET_VISIBILITY = """state => {
    Object.defineProperty(document, "visibilityState", {configurable: true, get: () => state});
    Object.defineProperty(document, "hidden", {configurable: true, get: () => state === "hidden"});
    document.dispatchEvent(new Event("visibilitychange"));
}"""


COUNT = """() => {
    window.__poll = {asked: 0, held: 0, evalErrors: 0};
    document.addEventListener("htmx:beforeRequest", event => {
        if (event.detail.elt.id === "request-live" && event.defaultPrevented) window.__poll.held++;
    });
    document.addEventListener("htmx:beforeSend", event => {
        if (event.detail.elt.id === "request-live") window.__poll.asked++;
    });
    document.addEventListener("htmx:evalDisallowedError", () => window.__poll.evalErrors++);
}"""


def test_a_hidden_page_does_not_poll_and_asks_once_when_it_is_seen_again(
    page: Page, live_server: str
):
    sign_in(page, live_server, "ben@example.com")
    page.goto(f"{live_server}/requests")
    line = page.locator("li.request-line").filter(has=page.locator(".badge.state-open")).first
    href = line.get_by_role("link").first.get_attribute("href")
    page.clock.install()
    page.goto(f"{live_server}{href}")
    expect(page.locator("#request-live")).to_have_attribute("data-poll-when-visible", "")
    page.evaluate(COUNT)

    def counts() -> dict:  # type: ignore[type-arg]
        return dict(page.evaluate("window.__poll"))

    with page.expect_response(re.compile(r"/requests/\d+/changes\?since=\d+")):
        page.clock.fast_forward("00:16")  # in view: it asks every 15 s
    assert counts()["asked"] == 1
    # Answered (204): htmx would drop a tick that came while it was still asking.
    expect(page.locator("#request-live")).not_to_have_class(re.compile("htmx-request"))

    page.evaluate(SET_VISIBILITY, "hidden")
    page.clock.run_for("00:46")  # hidden: each tick (every 15 s) is held, none asks
    assert counts()["asked"] == 1 and counts()["held"] == 3

    with page.expect_request(re.compile(r"/changes\?since=")):
        page.evaluate(SET_VISIBILITY, "visible")  # back in view: it asks at once, once
    assert counts()["asked"] == 2
    assert counts()["evalErrors"] == 0
