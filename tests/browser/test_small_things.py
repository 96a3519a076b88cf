"""Issue 16 item 10's small things that only a browser shows: a demo account fills the
login form, "Sign out" looks like the navigation, and on a phone the service form comes
first (its explanation folded) and no timeline timestamp breaks between date and time."""

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DEMO_PASSWORD


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
    heights = times.evaluate_all(
        "els => els.map(el => [el.getBoundingClientRect().height,"
        " parseFloat(getComputedStyle(el).lineHeight) || 20])")
    assert heights and all(height < 1.5 * line for height, line in heights), heights
    context.close()
