"""Issue 16 item 10's small things that only a browser shows: a demo account fills the
login form (its address on one line, even on a phone), "Sign out" looks like the navigation,
on a phone the service form comes first (its explanation folded) and no timeline timestamp
breaks between date and time, and the overview's drill-down says what an assignee's age is."""

import re

from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import DEMO_PASSWORD, sign_in


def _heights_and_lines(elements: Locator) -> list[tuple[float, float]]:
    """Each element's height beside its line height: one line is a height under two."""
    return [tuple(pair) for pair in elements.evaluate_all(
        "els => els.map(el => [el.getBoundingClientRect().height,"
        " parseFloat(getComputedStyle(el).lineHeight) || 20])")]


def test_a_demo_account_fills_the_form_and_sign_out_looks_like_the_navigation(
    page: Page, live_server: str
):
    page.goto(f"{live_server}/login")
    page.get_by_role("button", name="ana@example.com", exact=True).click()
    expect(page.get_by_label("E-mail")).to_have_value("ana@example.com")
    expect(page.get_by_label("Password")).to_have_value(DEMO_PASSWORD)
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)

    # Compared with a link of another page (the current page's is drawn darker).
    nav_link = page.locator("nav[aria-label=Main] a:not([aria-current])").first
    style = "el => [getComputedStyle(el).color, getComputedStyle(el).textDecorationLine]"
    link_color, link_line = nav_link.evaluate(style)
    assert page.get_by_role("button", name="Sign out").evaluate(style) == [link_color,
                                                                          link_line]


def test_on_a_phone_the_form_comes_first_and_timestamps_keep_together(
    browser: Browser, live_server: str
):
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill("ana@example.com")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)

    page.goto(f"{live_server}/services/onboard-new-hire")
    about = page.locator("details.service-about")
    expect(about).not_to_have_attribute("open", re.compile(".*"))
    heading = page.get_by_role("heading", name="Your request")
    box = heading.bounding_box()
    assert box is not None and box["y"] < 400, box  # it was about 1,050 px down
    about.locator("summary").click()
    expect(about.get_by_text("What happens next")).to_be_visible()

    page.goto(f"{live_server}/requests/49")
    times = page.locator(".timeline time")
    expect(times.first).to_be_visible()
    heights = _heights_and_lines(times)
    assert heights and all(height < 1.5 * line for height, line in heights), heights
    context.close()


def test_on_a_phone_each_demo_address_stays_on_one_line(browser: Browser, live_server: str):
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server}/login")
    buttons = page.locator("button.demo-fill")
    expect(buttons.first).to_be_visible()
    # Each button one line high: no "ana@examp" above "le.com".
    heights = _heights_and_lines(buttons)
    assert heights and all(height < 2 * line for height, line in heights), heights
    context.close()


def test_the_drill_down_says_an_assignee_s_age_is_since_they_claimed(
    page: Page, live_server: str
):
    """The short age drawn at wide widths says what it counts: "(claimed 2w)", not "(2w)"
    (the exact "claimed 2 w ago" is the text read out and the title)."""
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server, "maria@example.com")
    page.goto(f"{live_server}/overview/tasks?team=it")
    held = page.locator("td[data-label=Assignee] time").first
    expect(held).to_be_visible()
    drawn = held.evaluate("el => getComputedStyle(el, '::before').content")
    assert re.fullmatch(r'"\(claimed \d+[smhdw]\)" / ""', drawn), drawn
