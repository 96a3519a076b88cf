"""The queue at a glance (issue 16): on a 1440x900 screen twenty tasks of a team queue are
in view at once, one line each, above the bulk bar that stays at the window's bottom."""

from playwright.sync_api import Browser

from tests.browser.conftest import sign_in
from tests.browser.test_bulk_journey import file_software_requests


def test_twenty_queue_rows_fit_a_1440_by_900_screen(browser: Browser, live_server: str):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    sign_in(page, live_server, "ivan@example.com")
    page.goto(f"{live_server}/queues/it")
    listed = int(page.locator("#queue-count strong").inner_text())
    if listed < 20:  # the demo's IT queue, topped up to twenty tasks
        file_software_requests(browser, live_server, 20 - listed)
        page.reload()
    rows = page.locator("tr.task-row")
    assert rows.count() >= 20
    # One line each: no row taller than a line of text and its buttons.
    heights = page.eval_on_selector_all(
        "tr.task-row", "rows => rows.slice(0, 20).map(r => r.getBoundingClientRect().height)")
    assert max(heights) < 40, heights
    twentieth = rows.nth(19).bounding_box()
    bar = page.locator("#bulk-form").bounding_box()
    assert twentieth is not None and bar is not None
    assert twentieth["y"] + twentieth["height"] <= min(bar["y"], 900)
    context.close()
