"""A team member's insights (issue 13): from their team's queue to how the team flows, on a
phone and on a wide screen, then from an age bar, or with the keyboard from its number,
to the queue holding exactly the tasks it counted."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import sign_in
from tests.browser.test_keyboard_journey import tab_to


def _open_team_insights(page: Page, base: str) -> None:
    sign_in(page, base, "ivan@example.com")
    page.goto(f"{base}/queues/it")
    page.get_by_role("link", name="How this team flows").click()
    page.wait_for_url(re.compile(r"/insights/teams/it$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("how this team flows"))


def _fits(page: Page) -> None:
    """Nothing wider than the screen: wide tables scroll inside their own box."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _counts(page: Page) -> list[int]:
    return [int(n) for n in page.locator("#age-table a").all_inner_texts()]


@pytest.mark.parametrize("width", [375, 1440])
def test_a_member_follows_an_age_bar_to_the_tasks_it_counts(
    browser: Browser, live_server: str, width: int
):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        _open_team_insights(page, live_server)
        _fits(page)
        expect(page.locator("#finished-chart-title")).to_have_count(1)
        expect(page.get_by_role("heading", name="Steps")).to_be_visible()
        expect(page.locator("main table").last).to_contain_text("IT account & laptop")
        counts = _counts(page)
        assert sum(counts) > 0
        bucket = next(n for n, count in enumerate(counts) if count)
        bar = page.locator(f"svg a.bar-link[href*='age={bucket}&']")
        expect(bar).to_have_count(1)
        bar.click()
        page.wait_for_url(re.compile(rf"/queues/it\?age={bucket}&at=\d+$"))
        _fits(page)
        expect(page.locator("#age-filter")).to_be_visible()
        expect(page.locator("#queue-count strong")).to_have_text(str(counts[bucket]))
        expect(page.locator("#results tbody tr[id^='task-']")).to_have_count(counts[bucket])
    finally:
        context.close()


def test_the_age_numbers_are_reached_and_followed_with_the_keyboard(
    page: Page, live_server: str
):
    _open_team_insights(page, live_server)
    counts = _counts(page)
    bucket = next(n for n, count in enumerate(counts) if count)
    number = page.locator("#age-table a").nth(bucket)
    tab_to(page, number)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/queues/it\?age={bucket}&at=\d+$"))
    expect(page.locator("#queue-count strong")).to_have_text(str(counts[bucket]))
