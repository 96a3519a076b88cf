"""Journeys through Baton in a real browser, one per persona."""

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import sign_in


def test_an_employee_finds_a_service_fixes_a_wrong_answer_and_files_it(
    page: Page, live_server: str
):
    sign_in(page, live_server, "ben@example.com")
    page.goto(f"{live_server}/catalog")
    page.get_by_label("Search the catalog").fill("new hire")
    expect(page.get_by_role("link", name="Request a laptop")).to_have_count(0)
    page.get_by_role("link", name="Onboard a new hire").click()

    page.get_by_label("Full name of the new hire").fill("Jordan Lee")
    page.get_by_label("Personal e-mail address").fill("not-an-address")
    page.get_by_label("Start date").fill("2027-01-04")
    page.get_by_label("Department").select_option(index=1)
    page.get_by_label("Job title").fill("Data analyst")
    page.get_by_label("Hiring manager").fill("Dana Dubois <dana@example.com>")
    page.get_by_role("button", name="Send request").click()

    wrap = page.locator("#f-personal_email-wrap")
    expect(wrap.locator(".field-error")).to_contain_text("e-mail address")
    expect(page.get_by_label("Full name of the new hire")).to_have_value("Jordan Lee")
    expect(page.get_by_label("Job title")).to_have_value("Data analyst")

    page.get_by_label("Personal e-mail address").fill("jordan@example.org")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Onboard a new hire: Jordan Lee")
    number = re.search(r"REQ-\d+", page.get_by_role("heading", level=1).inner_text()).group(0)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My requests").click()
    line = page.locator(".request-line", has_text=number)
    expect(line).to_contain_text("Open")
    expect(line.locator(".progress .seg")).to_have_count(5)


def test_a_team_member_claims_and_completes_in_place_and_a_colleague_is_told_who_won(
    browser: Browser, live_server: str
):
    ivan = browser.new_context().new_page()
    iris = browser.new_context().new_page()
    sign_in(ivan, live_server, "ivan@example.com")
    sign_in(iris, live_server, "iris@example.com")
    ivan.goto(f"{live_server}/queues/it?state=open")
    iris.goto(f"{live_server}/queues/it?state=open")
    row_id = ivan.locator("tr.task-row").first.get_attribute("id")
    ivan.evaluate("window.__sameDocument = true")

    ivan.locator(f"#{row_id}").get_by_role("button", name="Claim").click()
    expect(ivan.locator(f"#{row_id}")).to_contain_text("Ivan Ivanov")
    expect(ivan.locator(f"#{row_id}")).to_contain_text("Claimed")

    iris.locator(f"#{row_id}").get_by_role("button", name="Claim").click()
    expect(iris.locator(f"#{row_id}")).to_contain_text("Ivan Ivanov has already claimed this task")

    ivan.locator(f"#{row_id}").get_by_role("button", name="Complete").click()
    expect(ivan.locator(f"#{row_id}")).to_contain_text("Done")
    assert ivan.evaluate("window.__sameDocument") is True
