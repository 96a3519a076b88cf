"""An admin builds a service in the builder, and an employee's requests take its steps."""

import re

from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import sign_in

SLUG = "purchase-with-thresholds"


def _state_of(page: Page, step_name: str) -> Locator:
    return page.locator("li.step", has_text=step_name).locator(".badges .badge").first


def test_an_admin_builds_a_threshold_service_and_requests_take_different_steps(
    page: Page, browser: Browser, live_server: str
):
    sign_in(page, live_server, "adam@example.com")
    page.goto(f"{live_server}/admin/services/new")
    service = page.get_by_role("region", name="Service")
    service.get_by_label("Name", exact=True).fill("Purchase with thresholds")
    service.get_by_label("Category", exact=True).fill("Purchasing")

    page.get_by_role("button", name="Add a field").click()
    first = page.locator("#b-fields-0")
    first.get_by_label("Label", exact=True).fill("What are you buying?")
    first.get_by_label("Required", exact=True).check()

    page.get_by_role("button", name="Add a field").click()
    amount = page.locator("#b-fields-1")
    amount.get_by_label("Label", exact=True).fill("Amount (EUR)")
    amount.get_by_label("Key", exact=True).fill("amount")
    amount.get_by_label("Type", exact=True).select_option("number")
    amount.get_by_label("Required", exact=True).check()

    steps = [
        ("Department head approval", "approvers", "approval", "amount > 1000"),
        ("CFO approval", "finance", "approval", "amount > 25000"),
        ("Place order", "finance", "task", ""),
    ]
    # A new service starts with one empty step.
    for i, (name, team, kind, condition) in enumerate(steps):
        if i > 0:
            page.get_by_role("button", name="Add a step").click()
        row = page.locator(f"#b-steps-{i}")
        row.get_by_label("Name", exact=True).fill(name)
        row.get_by_label("Team", exact=True).select_option(team)
        row.get_by_label("Kind", exact=True).select_option(kind)
        row.get_by_label("Only if", exact=True).fill(condition)

    page.get_by_role("button", name="Create the service").click()
    page.wait_for_url(re.compile(rf"/admin/services/{SLUG}\?saved=1$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Purchase with thresholds")
    expect(page.get_by_role("status")).to_contain_text("Saved as version 1.")
    expect(page.locator("p.muted", has_text=SLUG)).to_contain_text("version 1")

    ben = browser.new_context().new_page()
    sign_in(ben, live_server, "ben@example.com")
    for value in ("500", "30000"):
        ben.goto(f"{live_server}/services/{SLUG}")
        ben.get_by_label("What are you buying?").fill("Chairs")
        ben.get_by_label("Amount (EUR)").fill(value)
        ben.get_by_role("button", name="Send request").click()
        expect(ben.get_by_role("heading", level=1)).to_contain_text("REQ-")
        expect(ben.locator("li.step")).to_have_count(3)
        if value == "500":
            expect(_state_of(ben, "Department head approval")).to_have_text("Not needed")
            expect(_state_of(ben, "CFO approval")).to_have_text("Not needed")
            expect(_state_of(ben, "Place order")).to_have_text("Open")
        else:
            expect(_state_of(ben, "Department head approval")).to_have_text("Open")
            expect(_state_of(ben, "CFO approval")).to_have_text("Waiting")
            expect(_state_of(ben, "Place order")).to_have_text("Waiting")
    ben.context.close()


def test_the_builders_rows_open_one_at_a_time_and_move_by_drag(page: Page, live_server: str):
    """Issue 16: every field and step folded to one line, one opened at a time (the
    others close), and a step dragged onto the first takes its place (unsaved: the
    builder comes back in the new order)."""
    sign_in(page, live_server, "adam@example.com")
    page.goto(f"{live_server}/admin/services/purchase-request/edit")
    rows = page.locator("#b-steps details.b-details")
    expect(rows).to_have_count(3)
    assert rows.evaluate_all("rows => rows.map(row => row.open)") == [False, False, False]
    page.locator("#b-steps-1-row").click()
    expect(page.get_by_label("Team").nth(1)).to_be_visible()
    page.locator("#b-steps-0-row").click()
    assert rows.evaluate_all("rows => rows.map(row => row.open)") == [True, False, False]
    # The team list is a whole select, wide enough for its longest name.
    team = page.locator("#b-steps-0-team")
    assert team.evaluate("box => box.scrollWidth <= box.clientWidth + 1")
    # Both rows in view: Playwright's drag does not scroll the window between its ends.
    page.set_viewport_size({"width": 1440, "height": 2400})
    page.drag_and_drop("#b-steps-2-row", "#b-steps-0-row")
    expect(page.locator("#b-steps .b-what")).to_have_text(
        ["Step 1: Place order", "Step 2: Department head approval", "Step 3: CFO approval"])
    expect(page.locator("#b-steps-0-row")).to_be_focused()
