"""Conditional intake fields in a real browser: the form shows and hides a field as the
requester answers, and the page's script decides exactly as app.format.conditions.evaluate."""

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from app.format.conditions import evaluate, parse
from app.format.conditions import to_data as condition_data
from tests.browser.conftest import sign_in


def test_monitor_size_appears_only_while_a_monitor_is_ticked(page: Page, live_server: str):
    sign_in(page, live_server, "ben@example.com")
    page.goto(f"{live_server}/services/onboard-new-hire")
    wrap = page.locator("#f-monitor_size-wrap")
    size = page.get_by_label("Monitor size")
    expect(wrap).to_be_hidden()
    expect(size).to_be_disabled()  # so a stray choice is never posted

    monitor = page.get_by_role("checkbox", name="Monitor")
    monitor.check()
    expect(wrap).to_be_visible()
    expect(size).to_be_enabled()
    size.select_option("32 inch")

    monitor.uncheck()
    expect(wrap).to_be_hidden()
    expect(size).to_be_disabled()
    monitor.check()
    expect(size).to_have_value("32 inch")  # what was chosen is kept while hidden


def test_without_javascript_every_field_is_shown(browser, live_server: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, "ben@example.com")
    page.goto(f"{live_server}/services/onboard-new-hire")
    expect(page.locator("#f-monitor_size-wrap")).to_be_visible()
    expect(page.get_by_label("Monitor size")).to_be_enabled()
    context.close()


CASES: list[tuple[str, dict[str, Any]]] = [
    ('equipment includes "Monitor"', {"equipment": ["Laptop", "Monitor"]}),
    ('equipment includes "Monitor"', {"equipment": ["Laptop"]}),
    ('equipment includes "Monitor"', {}),
    ("amount > 5000", {"amount": 5000}),
    ("amount > 5000", {"amount": 5000.5}),
    ("amount >= 5000", {"amount": 5000}),
    ("amount < 10", {"amount": -3}),
    ("amount != 7", {}),
    ("amount != 7", {"amount": 8}),
    ("amount == 7", {"amount": 7.0}),
    ("not amount > 5000", {}),
    ("remote is true", {"remote": True}),
    ("remote is true", {"remote": False}),
    ("remote is false", {"remote": False}),
    ("remote is false", {}),
    ("remote != true", {"remote": False}),
    ('country in ["DE", "FR"]', {"country": "FR"}),
    ('country in ["DE", "FR"]', {"country": "IT"}),
    ('country in ["DE", "FR"]', {}),
    ('country == "DE"', {"country": "DE"}),
    ('country != "DE"', {"country": "de"}),
    ("start >= 2026-01-01", {"start": "2026-01-01"}),
    ("start >= 2026-01-01", {"start": "2025-12-31"}),
    ("start < 2026-01-10", {"start": "2026-01-09"}),
    ("start < 2026-01-10", {"start": "not a date"}),
    ("start == 2026-02-03", {"start": "2026-02-03"}),
    ('amount > 5000 and equipment includes "Monitor"', {"amount": 6000, "equipment": []}),
    ('amount > 5000 or equipment includes "Monitor"', {"amount": 6000}),
    ('not (amount > 5000 or remote is true) and country in ["DE"]',
     {"amount": 10, "remote": False, "country": "DE"}),
    ('not (amount > 5000 or remote is true) and country in ["DE"]',
     {"amount": 10, "remote": True, "country": "DE"}),
    ("not not remote is true", {"remote": True}),
    ('title == "say \\"hi\\""', {"title": 'say "hi"'}),
]


@pytest.mark.parametrize(("text", "answers"), CASES)
def test_the_browser_decides_like_the_server(page: Page, live_server: str, text, answers):  # type: ignore[no-untyped-def]
    if "/login" not in page.url:
        page.goto(f"{live_server}/login")  # any page of Baton's loads the script
    in_browser = page.evaluate(
        "([tree, answers]) => window.BatonConditions.holds(tree, answers)",
        [condition_data(parse(text)), answers],
    )
    assert in_browser is evaluate(parse(text), answers), text
