"""A requester's open request page updates by itself when her approval lands (issue 14,
item 4): another person approves in the app while her page is open; after the poll
interval passes on her page's clock, the step, the request's steps and the timeline
show it without a reload."""

import re

from playwright.sync_api import Browser, expect

from tests.browser.conftest import sign_in
from tests.browser.test_journeys import DEMO_EMAILS


def test_a_requesters_open_page_updates_when_her_approval_lands(
    browser: Browser, live_server: str
):
    dana = browser.new_context().new_page()
    sign_in(dana, live_server, "dana@example.com")
    dana.goto(f"{live_server}/queues/approvers")
    row = dana.locator("tr.task-row").filter(has=dana.locator("a[data-review]")).last
    row = dana.locator(f"#{row.get_attribute('id')}")
    number = row.locator("td[data-label=Request] strong").inner_text().strip()
    step_name = row.locator("td[data-label=Step]").inner_text().split("\n")[0].strip()
    href = row.get_by_role("link", name=number).get_attribute("href")

    dana.goto(f"{live_server}{href}")
    # "asked by Ben Brooks 3 d ago": times are relative, in the viewer's zone (issue 16).
    asked_by = re.search(r"asked by (.+?) (?:just now|\d)",
                         dana.locator("main").inner_text()).group(1)
    requester_context = browser.new_context()
    requester = requester_context.new_page()
    sign_in(requester, live_server, DEMO_EMAILS[asked_by])
    # Her page's timers run on a clock the test moves on: the poll interval passes
    # without the test sleeping through it.
    requester.clock.install()
    requester.goto(f"{live_server}{href}")
    requester.evaluate("window.__sameDocument = true")
    step = requester.locator("li.step", has_text=step_name).first
    expect(step.locator(".badges .badge").first).not_to_have_text("Approved")
    events_before = requester.locator("#timeline-events li.event").count()

    dana.goto(f"{live_server}/queues/approvers")
    dana_row = dana.locator("tr.task-row", has_text=number).filter(
        has=dana.locator("a[data-review]"))
    dana_row.locator("a[data-review]").click()  # the panel: the answers, then the decision
    panel = dana.locator("#task-panel")
    panel.get_by_label(re.compile("Reason for the requester")).fill("Fine by me.")
    panel.get_by_role("button", name="Approve").click()
    expect(dana.locator("tr.task-row", has_text=number).first).to_contain_text("Approved")

    requester.clock.fast_forward("00:16")
    expect(step.locator(".badges .badge").first).to_have_text("Approved")
    expect(requester.locator("#timeline-events")).to_contain_text("Dana Dubois approved")
    expect(requester.locator("#timeline-events")).to_contain_text("Fine by me.")
    assert requester.locator("#timeline-events li.event").count() > events_before
    assert requester.evaluate("window.__sameDocument") is True
    requester_context.close()
    dana.context.close()
