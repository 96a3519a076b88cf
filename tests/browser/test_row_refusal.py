"""A refused action (issue 14 review, item 3): Dana rejects without a reason; the task's
panel says why, and only the reason box is drawn as wrong: her Assign box, in the same
form, is not. Nothing in the demo changes (the reject is refused)."""

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in


def border(page: Page, selector: str) -> str:
    return str(page.eval_on_selector(selector, "e => getComputedStyle(e).borderTopColor"))


def test_only_the_box_that_was_wrong_is_drawn_as_wrong(page: Page, live_server: str):
    sign_in(page, live_server, "dana@example.com")
    page.goto(f"{live_server}/queues/approvers")
    # An approval is decided in its panel, beside the answers (issue 16).
    row = page.locator("tr.task-row").filter(has=page.locator("a[data-review]")).first
    task_id = row.get_attribute("id").removeprefix("task-")
    row.locator("a[data-review]").click()
    panel = page.locator("#task-panel")
    expect(panel.locator(f"#assign-{task_id}")).to_be_visible()
    plain = border(page, f"#assign-{task_id}")
    panel.get_by_role("button", name="Reject").click()
    expect(panel.locator(".field-error")).to_have_text(re.compile("Say why you reject it"))
    expect(page.locator(f"#note-{task_id}")).to_have_attribute("aria-invalid", "true")
    assert border(page, f"#assign-{task_id}") == plain
    assert border(page, f"#note-{task_id}") != plain
