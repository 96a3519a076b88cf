"""The manager's insights journey (issue 13, "Done when"): find where onboarding loses its
time, open the tasks behind it (those its step finished in the window, slowest first),
and take them away as a CSV."""

import csv
import io
import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in


def test_the_manager_finds_onboardings_bottleneck_and_downloads_the_tasks_behind_it(
    page: Page, live_server: str
):
    sign_in(page, live_server, "maria@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Insights")
    page.get_by_role("link", name="Onboard a new hire", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Onboard a new hire: how it flows")

    # The demo's story: IT's step waits days in the queue while the others take hours.
    bottleneck = page.locator(".bottleneck")
    expect(bottleneck).to_contain_text("Bottleneck: step 3, IT account & laptop")
    expect(bottleneck).to_contain_text("mostly waiting to be picked up")
    expect(page.locator("tr.is-bottleneck")).to_contain_text("IT account & laptop")

    # Each bar of a chart is a link to the tasks behind it, reached with the keyboard.
    bar = page.locator("a.bar-link", has=page.locator("rect.series-waited")).first
    bar.focus()
    expect(bar).to_be_focused()
    expect(bar).to_have_attribute("href", re.compile(r"^/insights/onboard-new-hire/tasks\?step="))

    expect(bottleneck.get_by_role("link", name="Its open tasks")).to_be_visible()
    bottleneck.get_by_role("link", name="The tasks behind it").click()
    page.wait_for_url("**/insights/onboard-new-hire/tasks?step=2&from=*")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Onboard a new hire · step 3: IT account & laptop: tasks finished")
    count = int(page.locator("p.count strong").inner_text())
    rows = page.locator("main table tbody tr")
    expect(rows.first).to_be_visible()
    shown = [number.split()[0] for number in rows.locator("th").all_inner_texts()]
    assert 1 <= len(shown) <= min(count, 50)

    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    text = download.path().read_text(encoding="utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][:9] == ["Request", "Title", "Service", "Step", "Step name", "Team",
                            "State", "Finished by", "Finished (UTC)"]
    body = lines[1:]
    # The same tasks, in the same order (slowest first), every page of them.
    assert len(body) == count
    assert [row[0] for row in body[:len(shown)]] == shown
    assert all(row[2] == "Onboard a new hire" and row[4] == "IT account & laptop"
               for row in body)
    took = [int(row[11]) for row in body]
    assert took == sorted(took, reverse=True)
