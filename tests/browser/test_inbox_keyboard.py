"""The inbox by keyboard, after a fresh-eyes trial (issue 14): Iris marks her items read one
after the other with Enter, and the focus goes to the next item each time instead of
falling to the top of the page; an older item she loaded with "Show older" is marked read
in its place, the older page still shown; Mark all read leaves the focus on the list's
heading; the event an inbox link opens is highlighted in both colour schemes."""

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import sign_in


def _request_of_the_it_queue(page: Page, base: str) -> str:
    page.goto(f"{base}/queues/it")
    row = page.locator("tr.task-row").first
    number = row.locator("td[data-label=Request] strong").inner_text().strip()
    href = row.get_by_role("link", name=number).get_attribute("href")
    assert href
    return href


def test_marking_items_read_by_keyboard_keeps_the_focus_in_the_list(browser: Browser,
                                                                     live_server: str):
    ivan = browser.new_context().new_page()
    sign_in(ivan, live_server, "ivan@example.com")
    href = _request_of_the_it_queue(ivan, live_server)
    ivan.goto(f"{live_server}{href}")
    for number in (1, 2, 3):
        ivan.get_by_label("Add a comment").fill(f"@iris@example.com focus check {number}")
        ivan.get_by_role("button", name="Add comment").click()
        expect(ivan.locator("#timeline-events")).to_contain_text(f"focus check {number}")
    ivan.context.close()

    iris = browser.new_context().new_page()
    sign_in(iris, live_server, "iris@example.com")
    iris.goto(f"{live_server}/inbox")
    iris.evaluate("window.__sameDocument = true")

    def mark_read_of(number: int):  # type: ignore[no-untyped-def]
        item = iris.locator("li.inbox-item", has_text=f"focus check {number}")
        return item.get_by_role("button", name=re.compile("Mark read"))

    # Newest first: 3, 2, 1. Enter on one's Mark read puts the focus on the next one's.
    mark_read_of(3).focus()
    iris.keyboard.press("Enter")
    expect(iris.locator("li.inbox-item", has_text="focus check 3")).to_have_count(0)
    expect(mark_read_of(2)).to_be_focused()
    iris.keyboard.press("Enter")
    expect(iris.locator("li.inbox-item", has_text="focus check 2")).to_have_count(0)
    expect(mark_read_of(1)).to_be_focused()
    assert iris.evaluate("window.__sameDocument") is True

    # Mark all read: the list is answered again, the focus on its heading.
    iris.get_by_role("button", name="Mark all read").focus()
    iris.keyboard.press("Enter")
    expect(iris.get_by_text("Nothing unread")).to_be_visible()
    expect(iris.locator("#items-title")).to_be_focused()
    iris.context.close()


def test_an_older_item_is_marked_read_in_its_place(browser: Browser, live_server: str):
    ivan = browser.new_context().new_page()
    sign_in(ivan, live_server, "ivan@example.com")
    ivan.goto(f"{live_server}/inbox")
    items = ivan.locator("#inbox-items > li.inbox-item")
    first_page = items.count()
    more = ivan.get_by_role("link", name="Show older")
    expect(more).to_be_visible()  # the demo's history leaves Ivan more than a page unread
    more.click()
    expect(items).not_to_have_count(first_page)
    shown = items.count()
    older = items.nth(first_page + 1)  # on the older page, with one after it
    older_id, next_id = older.get_attribute("id"), items.nth(first_page + 2).get_attribute("id")
    older.get_by_role("button", name=re.compile("Mark read")).focus()
    ivan.keyboard.press("Enter")
    expect(ivan.locator(f"#{older_id}")).to_have_count(0)
    expect(items).to_have_count(shown - 1)  # the older page is still there, less that one
    expect(ivan.locator(f"#{next_id}").get_by_role(
        "button", name=re.compile("Mark read"))).to_be_focused()
    ivan.context.close()


def test_the_event_an_inbox_link_opens_is_highlighted_in_both_schemes(browser: Browser,
                                                                      live_server: str):
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme)
        page = context.new_page()
        sign_in(page, live_server, "ivan@example.com")
        href = _request_of_the_it_queue(page, live_server)
        page.goto(f"{live_server}{href}")
        event = page.locator("#timeline-events li.event").last
        anchor = event.get_attribute("id")
        plain = event.evaluate("e => getComputedStyle(e).backgroundColor")
        page.goto(f"{live_server}{href}#{anchor}")
        target = page.locator(f"#{anchor}")
        expect(target).to_have_css("outline-style", "solid")
        marked = target.evaluate("e => getComputedStyle(e).backgroundColor")
        page_background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert marked not in (plain, page_background, "rgba(0, 0, 0, 0)"), scheme
        context.close()
