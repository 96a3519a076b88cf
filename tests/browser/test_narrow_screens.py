"""No page scrolls sideways on a phone (issue 16): at 375 px wide, every main page of each
demo person is no wider than the window. One browser context, the people signed in in
turn; a page too wide is named with the elements that stick out past the right edge."""

from playwright.sync_api import Browser

from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import APPROVAL_PANEL, REQUEST_PAGE, SERVICE, _open

PHONE = {"width": 375, "height": 812}
PAGES = {
    None: ["/login"],
    "ben@example.com": ["/catalog", SERVICE, "/requests", REQUEST_PAGE, "/search?q=kitchen",
                        "/inbox?show=all", "/profile", "/help/api"],
    "ivan@example.com": ["/queues", "/queues/it", "/my-work", REQUEST_PAGE,
                         "/insights/teams/it"],
    "dana@example.com": ["/queues/approvers", APPROVAL_PANEL],
    "maria@example.com": ["/overview", "/overview/tasks?team=it", "/insights",
                          "/insights/onboard-new-hire", "/insights/tasks?team=it",
                          "/insights/onboard-new-hire/completed", "/reports",
                          "/reports/purchase-request"],
    "adam@example.com": ["/admin", "/admin/services", "/admin/services/purchase-request",
                         "/admin/services/purchase-request/edit", "/admin/teams",
                         "/admin/teams/it", "/admin/people", "/admin/audit"],
}
# The widest elements past the window's right edge (not those inside a box that scrolls
# on its own, which is how a wide table is meant to fit).
STICKING_OUT = """() => {
  const scrolls = (el) => ['auto', 'scroll', 'hidden'].includes(getComputedStyle(el).overflowX);
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (typeof el.className === 'string' && el.className ? '.' + el.className.trim() : '');
  return [...document.querySelectorAll('body *')].filter((el) => {
    if (el.getBoundingClientRect().right <= window.innerWidth + 0.5) return false;
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (scrolls(up)) return false;
    }
    return true;
  }).slice(0, 6).map((el) => name(el) + ' right=' + Math.round(el.getBoundingClientRect().right));
}"""


def test_no_page_scrolls_sideways_at_375_px(browser: Browser, live_server: str):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    too_wide = []
    try:
        for email, paths in PAGES.items():
            context.clear_cookies()
            if email:
                sign_in(page, live_server, email)
            for path in paths:
                _open(page, live_server, path)
                scroll_width, width = page.evaluate(
                    "[document.scrollingElement.scrollWidth, window.innerWidth]")
                if scroll_width > width:
                    too_wide.append(f"{email} {path}: {scroll_width} px > {width} px, "
                                    f"{page.evaluate(STICKING_OUT)}")
    finally:
        context.close()
    assert not too_wide, "\n".join(too_wide)


def test_a_form_sent_with_missing_answers_shows_its_error_summary_on_a_phone(
        browser: Browser, live_server: str):
    """The summary has the focus and is on screen: focused while the page was parsed, the
    browser had scrolled to where it was before the styles applied, and on a phone the
    summary was hundreds of pixels above the window."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, live_server, "ana@example.com")
        page.goto(f"{live_server}/services/purchase-request")
        page.get_by_role("button", name="Send request").click()
        page.wait_for_load_state("load")
        summary = page.locator("#error-summary")
        summary.wait_for()
        assert page.evaluate("document.activeElement.id") == "error-summary"
        top, bottom = page.evaluate("(() => { const box = document.getElementById("
                                    "'error-summary').getBoundingClientRect();"
                                    " return [box.top, box.bottom]; })()")
        assert 0 <= top < 844 and bottom > 0
    finally:
        context.close()
