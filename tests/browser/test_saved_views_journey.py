"""Saved views in a browser (issue 14, item 6): the tab of the filters shown follows a
filter change made without a reload, and a name the rule refuses is said next to the
name box, the name still in it, without leaving the page."""

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in

NAME = "Iris unclaimed"


def test_the_current_tab_follows_the_filters_and_a_taken_name_is_said_by_its_box(
    page: Page, live_server: str
):
    sign_in(page, live_server, "iris@example.com")
    page.goto(f"{live_server}/queues/it?state=open")
    page.get_by_text("Save these filters as a view").click()
    page.get_by_label("View name").fill(NAME)
    page.get_by_role("button", name="Save view").click()
    tabs = page.get_by_role("navigation", name="Saved views")
    current = tabs.locator('a[aria-current="page"]')
    expect(current).to_have_text(NAME)

    page.evaluate("window.__sameDocument = true")
    state = page.locator("#queue-state")
    state.select_option("claimed")  # htmx swaps the results; the tabs come with them
    expect(page).to_have_url(re.compile(r"state=claimed"))
    expect(current).to_have_count(0)
    state.select_option("")
    expect(current).to_have_text("All")
    state.select_option("open")
    expect(current).to_have_text(NAME)
    expect(current).to_have_count(1)

    # The same name again: the form says why by its box, with the name as typed.
    page.get_by_text("Save these filters as a view").click()
    box = page.get_by_label("View name")
    box.fill(f"{NAME} ")
    page.get_by_role("button", name="Save view").click()
    error = page.locator("#queue-view-name-error")
    expect(error).to_contain_text(f"You have a view named “{NAME}” here already")
    expect(box).to_have_value(f"{NAME} ")
    expect(box).to_have_attribute("aria-describedby", "queue-view-name-error")
    assert page.evaluate("window.__sameDocument") is True

    # Leave the demo as it was for the other browser tests.
    tabs.get_by_role("button", name=f"Delete the view {NAME}").click()
    expect(page.get_by_role("navigation", name="Saved views")).to_have_count(0)
