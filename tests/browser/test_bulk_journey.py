"""An agent claims ten tasks at once (issue 14, item 7): a click, a shift-click for the
range between, the keyboard for two more, then Claim in the bulk bar; every row shows
its claim in place and the page never reloads."""

import json
import re

from playwright.sync_api import Browser, expect

from tests.browser.conftest import sign_in


def file_software_requests(browser: Browser, base: str, count: int) -> None:
    """Ben asks IT to install software `count` times, through the service's form post, so
    that IT's queue has ten open tasks of that service whatever the other journeys took
    (and this journey takes none of the tasks they need: it lists that service's only)."""
    ben = browser.new_context().new_page()
    sign_in(ben, base, "ben@example.com")
    ben.goto(f"{base}/services/software-install")
    token = json.loads(ben.locator("body").get_attribute("hx-headers"))["X-CSRF-Token"]
    version = ben.locator("input[name=version_id]").get_attribute("value")
    for number in range(count):
        response = ben.request.post(f"{base}/services/software-install/requests", multipart={
            "csrf_token": token, "version_id": version, "software": f"Graph tool {number}",
            "asset_tag": "LT-00042",
            "licence": "Free or open source", "purpose": "Drawing the quarterly charts.",
        })
        assert response.ok, response.text()
    ben.context.close()


def test_an_agent_claims_ten_tasks_at_once(browser: Browser, live_server: str):
    file_software_requests(browser, live_server, 11)
    ivan = browser.new_context().new_page()
    sign_in(ivan, live_server, "ivan@example.com")
    ivan.goto(f"{live_server}/queues/it?state=open")
    ivan.get_by_label("Service").select_option(label="Install software")
    ivan.wait_for_url(re.compile(r"[?&]service=\d+"))
    rows = ivan.locator("tr.task-row")
    assert rows.count() >= 11
    ids = [rows.nth(i).get_attribute("id") for i in range(10)]
    ivan.evaluate("window.__sameDocument = true")

    # A click on the first row's box, a shift-click on the eighth: eight picked.
    ivan.locator(f"#{ids[0]} input.bulk-pick").click()
    ivan.locator(f"#{ids[7]} input.bulk-pick").click(modifiers=["Shift"])
    expect(ivan.locator("#bulk-count")).to_have_text("8 selected")
    # The keyboard for the ninth and tenth: j moves down the rows, x picks.
    ivan.locator("h1").click()
    for _ in range(9):
        ivan.keyboard.press("j")
    ivan.keyboard.press("x")
    ivan.keyboard.press("j")
    ivan.keyboard.press("x")
    expect(ivan.locator("#bulk-count")).to_have_text("10 selected")
    for row_id in ids:
        expect(ivan.locator(f"#{row_id} input.bulk-pick")).to_be_checked()

    ivan.locator("#bulk-form").get_by_role("button", name="Claim", exact=True).click()
    expect(ivan.locator("#bulk-report")).to_contain_text("10 of 10 selected tasks claimed.")
    for row_id in ids:
        row = ivan.locator(f"#{row_id}")
        expect(row.locator("td[data-label=State]")).to_contain_text("Claimed")
        expect(row.locator("td[data-label=Assignee]")).to_contain_text("Ivan Ivanov")
    expect(ivan.locator(f"#{rows.nth(10).get_attribute('id')} td[data-label=State]")
           ).to_contain_text("Open")
    assert ivan.evaluate("window.__sameDocument") is True
    ivan.context.close()
