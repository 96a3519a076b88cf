"""Screenshots of Baton's main pages for the README, taken in a real browser.

They are written to docs/screenshots/ only when BATON_SCREENSHOTS=1 (`scripts/screenshots`);
otherwise the test only checks that each page renders, so normal runs write nothing."""

import os

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import ROOT, sign_in

OUT = ROOT / "docs" / "screenshots"
WIDE, NARROW = 1440, 375

# (file name, who, page, width)
SHOTS = [
    ("catalog.png", "ben@example.com", "/catalog", WIDE),
    ("catalog-375.png", "ben@example.com", "/catalog", NARROW),
    ("request.png", "ana@example.com", "/requests/5", WIDE),
    ("queue.png", "ivan@example.com", "/queues/it", WIDE),
    ("overview.png", "maria@example.com", "/overview", WIDE),
]


@pytest.mark.parametrize(("name", "email", "path", "width"), SHOTS,
                         ids=[shot[0].removesuffix(".png") for shot in SHOTS])
def test_page_renders_for_its_screenshot(
    browser: Browser, live_server: str, name: str, email: str, path: str, width: int
):
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  color_scheme="light", reduced_motion="reduce")
    page = context.new_page()
    sign_in(page, live_server, email)
    page.goto(f"{live_server}{path}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("heading", level=1)).not_to_be_empty()
    if os.environ.get("BATON_SCREENSHOTS") == "1":
        OUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT / name), full_page=True, animations="disabled")
        assert (OUT / name).stat().st_size > 0
    context.close()
