"""A refused row (issue 14 review, item 3): Dana rejects without a reason; the row says
why, and only the reason box is drawn as wrong: her Assign box, in the same row, is
not. Nothing in the demo changes (the reject is refused)."""

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in


def border(page: Page, selector: str) -> str:
    return str(page.eval_on_selector(selector, "e => getComputedStyle(e).borderTopColor"))


def test_only_the_box_that_was_wrong_is_drawn_as_wrong(page: Page, live_server: str):
    sign_in(page, live_server, "dana@example.com")
    page.goto(f"{live_server}/queues/approvers")
    row = page.locator("tr.task-row").filter(has=page.get_by_role("button", name="Reject")).first
    row_id = row.get_attribute("id")
    task_id = row_id.removeprefix("task-")
    plain = border(page, f"#assign-{task_id}")
    row.get_by_role("button", name="Reject").click()
    row = page.locator(f"#{row_id}")
    expect(row.locator(".field-error")).to_have_text(re.compile("Say why you reject it"))
    expect(row).to_have_class(re.compile("has-error"))
    expect(page.locator(f"#note-{task_id}")).to_have_attribute("aria-invalid", "true")
    assert border(page, f"#assign-{task_id}") == plain
    assert border(page, f"#note-{task_id}") != plain
