"""A whole journey done with the keyboard only: sign in, find a service, file a request,
then claim a task from a team queue with the shortcuts."""

import re

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import DEMO_PASSWORD, sign_in

MAX_TABS = 60


def _is_focused(target: Locator) -> bool:
    return bool(target.evaluate("element => element === document.activeElement"))


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until the target has the focus, as a keyboard user would."""
    for _ in range(MAX_TABS):
        if _is_focused(target):
            break
        page.keyboard.press("Tab")
    expect(target).to_be_focused()


def test_an_employee_files_a_request_and_a_team_member_claims_it_with_the_keyboard_only(
    page: Page, live_server: str
):
    # Sign in.
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").focus()
    page.keyboard.type("ben@example.com")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)

    # Find the service in the catalog.
    page.goto(f"{live_server}/catalog")
    search = page.get_by_label("Search the catalog")
    tab_to(page, search)
    page.keyboard.type("software")
    page.wait_for_url(re.compile(r"[?&]q=software"))
    card = page.locator("#services").get_by_role("link", name="Install software")
    expect(card).to_have_count(1)
    cards = page.locator("#services a.card-link")
    expect(cards.filter(has_text="Onboard a new hire")).to_have_count(0)
    tab_to(page, card)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/services/software-install$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Install software")

    # Fill the form.
    software = page.get_by_label("Software and version")
    tab_to(page, software)
    page.keyboard.type("Wireshark 4.2")
    page.keyboard.press("Tab")
    asset_tag = page.get_by_label("Laptop asset tag")
    expect(asset_tag).to_be_focused()
    page.keyboard.type("LT-04512")
    page.keyboard.press("Tab")
    licence = page.get_by_label("Licence")
    expect(licence).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(licence).to_have_value("Free or open source")
    page.keyboard.press("Tab")
    purpose = page.get_by_label("What do you need it for?")
    expect(purpose).to_be_focused()
    page.keyboard.type("Debugging the office VPN with packet captures.")
    expect(software).to_have_value("Wireshark 4.2")
    expect(asset_tag).to_have_value("LT-04512")

    send = page.get_by_role("button", name="Send request")
    tab_to(page, send)
    page.keyboard.press("Enter")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Wireshark 4.2")
    expect(heading).to_contain_text(re.compile(r"REQ-\d+"))
    assert re.search(r"/requests/", page.url)

    # A team member claims a task from the queue with j then c.
    ivan = page.context.browser.new_context().new_page()
    sign_in(ivan, live_server, "ivan@example.com")
    ivan.goto(f"{live_server}/queues/it?state=open")
    first = ivan.locator("tr.task-row").first
    expect(first).to_be_visible()
    row_id = first.get_attribute("id")
    row = ivan.locator(f"#{row_id}")
    expect(row.get_by_role("button", name="Claim")).to_be_visible()
    ivan.evaluate("window.__same = true")

    ivan.keyboard.press("j")
    expect(row).to_contain_class("is-selected")
    expect(row.get_by_role("link").first).to_be_focused()

    ivan.keyboard.press("c")
    expect(row).to_contain_text("Claimed")
    expect(row).to_contain_text("Ivan Ivanov")
    expect(row).to_contain_class("is-selected")
    # After the swap the focus is inside the (new) row, not lost on <body>.
    expect(ivan.locator(f"#{row_id}:focus-within")).to_have_count(1)
    expect(ivan.locator("body")).not_to_be_focused()
    assert ivan.evaluate("window.__same") is True
    ivan.context.close()

