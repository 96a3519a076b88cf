"""What the bulk bar says when the whole action is refused (issue 14 review): the
refusal replaces the bar's last report in place (a 422 htmx swaps), the "Hand to" box is
marked when it is the box's fault, and a toast never sits on the bar. Nothing here
changes a task of the demo (Release on open tasks and refusals change nothing), so the
other journeys find the queue as they need it."""

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import sign_in


def open_queue(page: Page, base: str) -> None:
    sign_in(page, base, "ivan@example.com")
    page.goto(f"{base}/queues/it?state=open")
    page.evaluate("window.__sameDocument = true")


def bar_button(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator("#bulk-form").get_by_role("button", name=name, exact=True)


def test_a_refused_bulk_action_is_said_in_the_bar_in_place_of_the_last_report(
    page: Page, live_server: str
):
    open_queue(page, live_server)
    report = page.locator("#bulk-report")
    page.locator("tr.task-row input.bulk-pick").first.check()
    bar_button(page, "Release").click()
    expect(report).to_contain_text("0 of 1 selected task released.")

    # Nothing picked now (the row came back): Claim is refused, in the bar.
    expect(page.locator("#bulk-count")).to_have_text("None selected")
    bar_button(page, "Claim").click()
    expect(report).to_have_text("Select the tasks to act on first.")
    expect(report).not_to_contain_text("released")
    expect(page.locator("#toast")).to_be_hidden()
    expect(page.locator("#bulk-to")).not_to_have_attribute("aria-invalid", "true")

    # A name that fits nobody: said in the bar, the box marked and described by it.
    page.locator("tr.task-row input.bulk-pick").first.check()
    page.locator("#bulk-to").fill("Nobody Atall")
    bar_button(page, "Hand").click()
    expect(report).to_have_text(
        "No active person matches that: pick a teammate from the suggestions.")
    expect(page.locator("#bulk-to")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#bulk-to")).to_have_attribute("aria-describedby", "bulk-report")
    # The next report clears the mark.
    bar_button(page, "Release").click()
    expect(report).to_contain_text("0 of 1 selected task released.")
    expect(page.locator("#bulk-to")).not_to_have_attribute("aria-invalid", "true")
    assert page.evaluate("window.__sameDocument") is True


def test_a_toast_never_covers_the_bulk_bar(page: Page, live_server: str):
    open_queue(page, live_server)
    page.evaluate("""document.dispatchEvent(new CustomEvent("baton-error",
        {detail: {message: "Something failed."}}))""")
    toast = page.locator("#toast")
    expect(toast).to_be_visible()
    page.locator("#bulk-form").scroll_into_view_if_needed()
    toast_box, bar_box = toast.bounding_box(), page.locator("#bulk-form").bounding_box()
    assert toast_box and bar_box
    assert (toast_box["y"] + toast_box["height"] <= bar_box["y"]
            or toast_box["y"] >= bar_box["y"] + bar_box["height"]), (toast_box, bar_box)


def test_handing_to_someone_outside_the_team_is_one_refusal_by_the_box(
    page: Page, live_server: str
):
    open_queue(page, live_server)
    picks = page.locator("tr.task-row input.bulk-pick")
    ids = [picks.nth(i).get_attribute("value") for i in range(3)]
    for i in range(3):
        picks.nth(i).check()
    page.locator("#bulk-to").fill("ana@example.com")
    bar_button(page, "Hand").click()
    report = page.locator("#bulk-report")
    expect(report).to_have_text("Ana Alvarez is not an active member of this team: "
                                "pick a teammate to hand the tasks to.")
    expect(page.locator("#bulk-to")).to_have_attribute("aria-invalid", "true")
    for task_id in ids:  # no row was touched: none says anything, each still picked
        expect(page.locator(f"#task-{task_id} .field-error")).to_have_count(0)
        expect(page.locator(f"#task-{task_id} input.bulk-pick")).to_be_checked()


def test_on_a_phone_the_bar_is_one_short_line_until_a_row_is_picked(
    browser: Browser, live_server: str
):
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    page = phone.new_page()
    open_queue(page, live_server)
    bar = page.locator("#bulk-form")
    expect(bar).to_have_attribute("data-picked", "0")
    expect(page.locator("#bulk-count")).to_have_text("None selected")
    expect(bar_button(page, "Claim")).to_be_hidden()
    expect(page.locator("#bulk-to")).to_be_hidden()
    folded = bar.bounding_box()
    assert folded and folded["height"] <= 0.06 * 844, folded  # was ~17% of the screen

    # Picked with the keyboard (j selects a row, x picks it): the actions come back.
    page.locator("h1").click()
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.locator("#bulk-count")).to_have_text("1 selected")
    expect(bar_button(page, "Claim")).to_be_visible()
    expect(page.locator("#bulk-to")).to_be_visible()
    # Unpicked, it folds again.
    page.keyboard.press("x")
    expect(bar_button(page, "Claim")).to_be_hidden()
    phone.close()


def test_an_action_that_succeeds_takes_an_earlier_error_s_toast_away(
        page: Page, live_server: str):
    open_queue(page, live_server)
    page.evaluate("""document.dispatchEvent(new CustomEvent("baton-error",
        {detail: {message: "Ana Alvarez is not an active member of this team."}}))""")
    toast = page.locator("#toast")
    expect(toast).to_be_visible()
    page.locator("tr.task-row input.bulk-pick").first.check()
    bar_button(page, "Release").click()  # changes nothing of the demo: the task is open
    expect(page.locator("#bulk-report")).to_contain_text("0 of 1 selected task released.")
    expect(toast).to_be_hidden()
