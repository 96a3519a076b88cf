"""The queue's keyboard shortcuts in a real browser: j/k to move, c to claim, d to
complete, / to search and ? for the help overlay."""

from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in


def test_a_team_member_claims_and_completes_from_the_keyboard(page: Page, live_server: str):
    sign_in(page, live_server, "ivan@example.com")
    page.goto(f"{live_server}/queues/it")
    rows = page.locator("tr.task-row")
    expect(rows.first).to_be_visible()
    # The first row that can be claimed, reached by pressing j.
    claimable = [
        index for index in range(rows.count())
        if rows.nth(index).get_by_role("button", name="Claim").count()
    ]
    assert claimable, "the demo IT queue has an open task"
    row_id = rows.nth(claimable[0]).get_attribute("id")
    page.evaluate("window.__sameDocument = true")

    for _ in range(claimable[0] + 1):
        page.keyboard.press("j")
    row = page.locator(f"#{row_id}")
    expect(row).to_contain_class("is-selected")
    expect(row.get_by_role("link").first).to_be_focused()

    page.keyboard.press("c")
    expect(row).to_contain_text("Claimed")
    expect(row).to_contain_text("Ivan Ivanov")
    expect(row).to_contain_class("is-selected")

    page.keyboard.press("d")
    expect(row).to_contain_text("Done")
    assert page.evaluate("window.__sameDocument") is True


def test_question_mark_opens_the_help_and_escape_closes_it(page: Page, live_server: str):
    sign_in(page, live_server, "ivan@example.com")
    page.goto(f"{live_server}/queues/it")
    expect(page.locator("tr.task-row").first).to_be_visible()

    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Claim the selected task")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    page.keyboard.press("?")
    expect(help_dialog).to_be_visible()
    help_dialog.get_by_role("button", name="Close").click()
    expect(help_dialog).to_be_hidden()


def test_slash_focuses_the_search_and_typing_there_is_not_a_shortcut(
    page: Page, live_server: str
):
    sign_in(page, live_server, "ivan@example.com")
    page.goto(f"{live_server}/queues/it")
    expect(page.locator("tr.task-row").first).to_be_visible()
    page.keyboard.press("/")
    search = page.get_by_label("Search", exact=True)  # not the navigation's box
    expect(search).to_be_focused()
    page.keyboard.type("?")
    expect(search).to_have_value("?")
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_enter_in_the_hand_to_box_hands_the_task_and_does_not_release_it(
    page: Page, live_server: str
):
    sign_in(page, live_server, "ivan@example.com")
    page.goto(f"{live_server}/queues/it?state=open")
    row = page.locator("tr.task-row").first
    expect(row).to_be_visible()
    row_id = row.get_attribute("id")
    row.get_by_role("button", name="Claim").click()
    row = page.locator(f"#{row_id}")
    expect(row).to_contain_text("Claimed")
    # Hand to is in the task's panel, beside the list (issue 16).
    row.locator("a.open-panel").click()
    panel = page.locator("#task-panel")
    box = panel.get_by_role("combobox", name="Hand to")
    box.fill("iris@example.com")
    box.press("Enter")
    expect(panel).to_contain_text("Handed to Iris")
    expect(panel).not_to_contain_text("Released")
    expect(row).to_contain_text("Iris")  # the list's row, updated with it
