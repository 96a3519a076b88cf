"""Screenshots of Baton's main pages for the README, taken in a real browser.

They are taken only when BATON_SCREENSHOTS=1 (`scripts/screenshots`): a normal run skips
them, as every page they show is loaded by the browser tests already (the journeys, the
375 px check of every main page, axe in both schemes), and nineteen more page loads
cost the suite most of a minute on its one browser worker."""

import os

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import ROOT, sign_in

OUT = ROOT / "docs" / "screenshots"
WIDE, NARROW = 1440, 375

ONBOARDING_INSIGHTS = "/insights/onboard-new-hire"

# (file name, who, page, width, colour scheme)
SHOTS = [
    ("catalog.png", "ben@example.com", "/catalog", WIDE, "light"),
    ("catalog-375.png", "ben@example.com", "/catalog", NARROW, "light"),
    # Ana's open onboarding request: the demo files its history first, in date order.
    ("request.png", "ana@example.com", "/requests/49", WIDE, "light"),
    ("request-375.png", "ana@example.com", "/requests/49", NARROW, "light"),
    ("my-requests.png", "ana@example.com", "/requests", WIDE, "light"),
    ("form.png", "ben@example.com", "/services/onboard-new-hire", WIDE, "light"),
    ("form-375.png", "ben@example.com", "/services/onboard-new-hire", NARROW, "light"),
    ("queue.png", "ivan@example.com", "/queues/it", WIDE, "light"),
    ("queue-375.png", "ivan@example.com", "/queues/it", NARROW, "light"),
    # The first task's panel open beside the queue (its answers, actions and steps), and
    # an approval reviewed in the approvers' queue.
    ("queue-panel.png", "ivan@example.com", "/queues/it", WIDE, "light"),
    ("approval-panel.png", "dana@example.com", "/queues/approvers", WIDE, "light"),
    ("overview.png", "maria@example.com", "/overview", WIDE, "light"),
    ("overview-375.png", "maria@example.com", "/overview", NARROW, "light"),
    ("builder.png", "adam@example.com", "/admin/services/onboard-new-hire/edit", WIDE, "light"),
    ("builder-375.png", "adam@example.com", "/admin/services/onboard-new-hire/edit", NARROW,
     "light"),
    ("insights.png", "maria@example.com", ONBOARDING_INSIGHTS, WIDE, "light"),
    ("insights-375.png", "maria@example.com", ONBOARDING_INSIGHTS, NARROW, "light"),
    ("insights-dark.png", "maria@example.com", ONBOARDING_INSIGHTS, WIDE, "dark"),
    ("team-insights.png", "ivan@example.com", "/insights/teams/it", WIDE, "light"),
]

# The link that opens a task's panel, for the shots taken with it open.
PANELS = {"queue-panel.png": "tr.task-row a.open-panel",
          "approval-panel.png": "tr.task-row a[data-review]"}


@pytest.mark.skipif(os.environ.get("BATON_SCREENSHOTS") != "1",
                    reason="screenshots are taken by scripts/screenshots")
@pytest.mark.parametrize(("name", "email", "path", "width", "scheme"), SHOTS,
                         ids=[shot[0].removesuffix(".png") for shot in SHOTS])
def test_screenshot(
    browser: Browser, live_server: str, name: str, email: str, path: str, width: int,
    scheme: str,
):
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  color_scheme=scheme, reduced_motion="reduce")  # type: ignore[arg-type]
    page = context.new_page()
    sign_in(page, live_server, email)
    page.goto(f"{live_server}{path}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("heading", level=1)).not_to_be_empty()
    if name in PANELS:
        page.locator(PANELS[name]).first.click()
        expect(page.locator("#task-panel .task-actions")).to_be_visible()
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / name), full_page=True, animations="disabled")
    assert (OUT / name).stat().st_size > 0
    context.close()
