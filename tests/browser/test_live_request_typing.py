"""What a person is typing on a live request page is never lost when the page's poll
brings in what someone else did (issue 14, item 4): the request's comment box and a
step's note box keep their text, and the note box its focus, while the timeline and the
steps change around them; a step that someone else took meanwhile stays as it was, with
the text, and says that it changed."""

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import sign_in

COMMENT = "Half a comment, not sent yet"
NOTE = "Serial number 4711, imaged and"


def _an_open_it_request(page: Page, base: str) -> tuple[str, str]:
    """The address of a request with an open IT task, and that task's id."""
    page.goto(f"{base}/queues/it?state=open")
    row = page.locator("tr.task-row").filter(
        has=page.get_by_role("button", name="Claim", exact=True)).first
    task_id = row.get_attribute("id").removeprefix("task-")
    href = row.locator("td[data-label=Request] a").first.get_attribute("href")
    return href, task_id


def test_typed_text_survives_the_live_pages_updates(browser: Browser, live_server: str):
    iris_context = browser.new_context()
    iris = iris_context.new_page()
    sign_in(iris, live_server, "iris@example.com")
    href, task_id = _an_open_it_request(iris, live_server)

    ivan_context = browser.new_context()
    ivan = ivan_context.new_page()
    sign_in(ivan, live_server, "ivan@example.com")
    # His page's timers run on a clock the test moves on: no sleeping through the poll.
    ivan.clock.install()
    ivan.goto(f"{live_server}{href}")
    ivan.evaluate("window.__sameDocument = true")
    comment_box = ivan.get_by_label("Add a comment")
    note_box = ivan.locator(f"#note-{task_id}")
    comment_box.fill(COMMENT)
    note_box.click()
    note_box.press_sequentially(NOTE)

    # Iris comments: the poll brings her comment, and swaps the steps with it.
    iris.goto(f"{live_server}{href}")
    iris.get_by_label("Add a comment").fill("Iris was here")
    iris.get_by_role("button", name="Add comment").click()
    expect(iris.locator("#timeline-events")).to_contain_text("Iris was here")
    ivan.clock.fast_forward("00:16")
    expect(ivan.locator("#timeline-events")).to_contain_text("Iris was here")
    expect(comment_box).to_have_value(COMMENT)
    expect(note_box).to_have_value(NOTE)
    expect(note_box).to_be_focused()
    note_box.press_sequentially(" delivered")  # he goes on typing where he was
    expect(note_box).to_have_value(f"{NOTE} delivered")

    # Iris claims the step he is writing a note on: his new steps would have no box for
    # it (only its holder completes it); the step he is writing in stays, with his text.
    iris.locator(f"#step-{task_id}").get_by_role("button", name="Claim").click()
    iris.wait_for_url(re.compile(re.escape(href)))
    ivan.clock.fast_forward("00:16")
    expect(ivan.locator("#timeline-events")).to_contain_text("Iris Ito claimed")
    expect(note_box).to_have_value(f"{NOTE} delivered")
    expect(ivan.locator(f"#step-{task_id} .step-changed")).to_contain_text(
        "This step changed while you were writing")
    expect(comment_box).to_have_value(COMMENT)
    assert ivan.evaluate("window.__sameDocument") is True
    ivan_context.close()
    iris_context.close()
